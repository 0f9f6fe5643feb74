#if !__has_include("io/prometheus/client/metrics.pb-c.h")
#error "the protobuf-c code is not generated yet: run `make` (it runs protoc-c on metrics.proto first)"
#endif
#include "CMetricsProto.h"
#include "io/prometheus/client/metrics.pb-c.h"
#include <stdlib.h>
#include <string.h>

struct errno_family_builder {
	Io__Prometheus__Client__MetricFamily family;
	size_t capacity;
};

errno_family_builder *errno_family_new(const char *name, const char *help, int is_counter)
{
	errno_family_builder *builder = calloc(1, sizeof(*builder));

	if (!builder)
		return NULL;
	io__prometheus__client__metric_family__init(&builder->family);
	builder->family.name = strdup(name);
	builder->family.help = strdup(help);
	builder->family.has_type = 1;
	builder->family.type = is_counter ? IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER : IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
	if (!builder->family.name || !builder->family.help) {
		errno_family_free(builder);
		return NULL;
	}
	return builder;
}

int errno_family_add_metric(errno_family_builder *builder, double value)
{
	Io__Prometheus__Client__MetricFamily *family = &builder->family;
	Io__Prometheus__Client__Metric *metric;

	if (family->n_metric == builder->capacity) {
		size_t capacity = builder->capacity ? builder->capacity * 2 : 8;
		Io__Prometheus__Client__Metric **grown = realloc(family->metric, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		family->metric = grown;
		builder->capacity = capacity;
	}
	metric = calloc(1, sizeof(*metric));
	if (!metric)
		return -1;
	io__prometheus__client__metric__init(metric);
	if (family->type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER) {
		metric->counter = calloc(1, sizeof(*metric->counter));
		if (metric->counter) {
			io__prometheus__client__counter__init(metric->counter);
			metric->counter->has_value = 1;
			metric->counter->value = value;
		}
	} else {
		metric->gauge = calloc(1, sizeof(*metric->gauge));
		if (metric->gauge) {
			io__prometheus__client__gauge__init(metric->gauge);
			metric->gauge->has_value = 1;
			metric->gauge->value = value;
		}
	}
	family->metric[family->n_metric++] = metric;
	return metric->counter || metric->gauge ? 0 : -1;
}

/* Appends a name="value" pair to a metric's or an exemplar's labels. Returns 0, or -1 when out of memory. */
static int append_label_pair(Io__Prometheus__Client__LabelPair ***pairs, size_t *count, const char *name, const char *value)
{
	Io__Prometheus__Client__LabelPair **grown = realloc(*pairs, (*count + 1) * sizeof(*grown)), *pair;

	if (!grown)
		return -1;
	*pairs = grown;
	pair = calloc(1, sizeof(*pair));
	if (!pair)
		return -1;
	io__prometheus__client__label_pair__init(pair);
	pair->name = strdup(name);
	pair->value = strdup(value);
	grown[(*count)++] = pair;
	return pair->name && pair->value ? 0 : -1;
}

int errno_family_add_label(errno_family_builder *builder, const char *name, const char *value)
{
	Io__Prometheus__Client__MetricFamily *family = &builder->family;
	Io__Prometheus__Client__Metric *metric;

	if (family->n_metric == 0)
		return -1;
	metric = family->metric[family->n_metric - 1];
	return append_label_pair(&metric->label, &metric->n_label, name, value);
}

int errno_family_set_exemplar(errno_family_builder *builder, double value, double timestamp)
{
	Io__Prometheus__Client__MetricFamily *family = &builder->family;
	Io__Prometheus__Client__Counter *counter;
	Io__Prometheus__Client__Exemplar *exemplar;

	if (family->n_metric == 0 || !(counter = family->metric[family->n_metric - 1]->counter) || counter->exemplar)
		return -1;
	exemplar = calloc(1, sizeof(*exemplar));
	if (!exemplar)
		return -1;
	io__prometheus__client__exemplar__init(exemplar);
	exemplar->has_value = 1;
	exemplar->value = value;
	if (timestamp >= 0) {
		exemplar->timestamp = calloc(1, sizeof(*exemplar->timestamp));
		if (!exemplar->timestamp) {
			free(exemplar);
			return -1;
		}
		google__protobuf__timestamp__init(exemplar->timestamp);
		exemplar->timestamp->seconds = (int64_t)timestamp;
		exemplar->timestamp->nanos = (int32_t)((timestamp - (double)(int64_t)timestamp) * 1e9);
	}
	counter->exemplar = exemplar;
	return 0;
}

/* `optional google.protobuf.Timestamp created_timestamp = 3;` in upstream's `message Counter`. */
#define ERRNO_COUNTER_CREATED_TIMESTAMP_FIELD 3

int errno_family_set_created(errno_family_builder *builder, double timestamp)
{
	Io__Prometheus__Client__MetricFamily *family = &builder->family;
	Io__Prometheus__Client__Counter *counter;
	Google__Protobuf__Timestamp created;
	ProtobufCMessageUnknownField *field;
	size_t size;

	if (family->n_metric == 0 || !(counter = family->metric[family->n_metric - 1]->counter) || counter->base.n_unknown_fields)
		return -1;
	if (!(timestamp >= 0 && timestamp < 1e15))
		return -1;
	google__protobuf__timestamp__init(&created);
	created.seconds = (int64_t)timestamp;
	created.nanos = (int32_t)((timestamp - (double)created.seconds) * 1e9);
	field = calloc(1, sizeof(*field));
	if (!field)
		return -1;
	/* protobuf-c writes an unknown field as its tag and then `data` as is: the data carries the
	 * length prefix of a length-delimited field itself. A Timestamp is at most 22 bytes. */
	size = google__protobuf__timestamp__get_packed_size(&created);
	field->tag = ERRNO_COUNTER_CREATED_TIMESTAMP_FIELD;
	field->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	field->len = 1 + size;
	field->data = malloc(field->len);
	if (!field->data || size >= 0x80) {
		free(field->data);
		free(field);
		return -1;
	}
	field->data[0] = (uint8_t)size;
	google__protobuf__timestamp__pack(&created, field->data + 1);
	counter->base.unknown_fields = field;
	counter->base.n_unknown_fields = 1;
	return 0;
}

int errno_family_add_exemplar_label(errno_family_builder *builder, const char *name, const char *value)
{
	Io__Prometheus__Client__MetricFamily *family = &builder->family;
	Io__Prometheus__Client__Counter *counter;
	Io__Prometheus__Client__Exemplar *exemplar;

	if (family->n_metric == 0 || !(counter = family->metric[family->n_metric - 1]->counter) || !(exemplar = counter->exemplar))
		return -1;
	return append_label_pair(&exemplar->label, &exemplar->n_label, name, value);
}

static void free_label_pairs(Io__Prometheus__Client__LabelPair **pairs, size_t count)
{
	for (size_t l = 0; l < count; l++) {
		free(pairs[l]->name);
		free(pairs[l]->value);
		free(pairs[l]);
	}
	free(pairs);
}

static size_t varint_size(size_t value)
{
	size_t size = 1;

	while (value >= 0x80) {
		value >>= 7;
		size++;
	}
	return size;
}

size_t errno_family_delimited_size(const errno_family_builder *builder)
{
	size_t size = io__prometheus__client__metric_family__get_packed_size(&builder->family);

	return varint_size(size) + size;
}

void errno_family_write_delimited(const errno_family_builder *builder, uint8_t *out)
{
	size_t size = io__prometheus__client__metric_family__get_packed_size(&builder->family);

	while (size >= 0x80) {
		*out++ = (uint8_t)(size | 0x80);
		size >>= 7;
	}
	*out++ = (uint8_t)size;
	io__prometheus__client__metric_family__pack(&builder->family, out);
}

void errno_family_free(errno_family_builder *builder)
{
	Io__Prometheus__Client__MetricFamily *family;

	if (!builder)
		return;
	family = &builder->family;
	for (size_t m = 0; m < family->n_metric; m++) {
		Io__Prometheus__Client__Metric *metric = family->metric[m];

		free_label_pairs(metric->label, metric->n_label);
		if (metric->counter && metric->counter->exemplar) {
			free_label_pairs(metric->counter->exemplar->label, metric->counter->exemplar->n_label);
			free(metric->counter->exemplar->timestamp);
			free(metric->counter->exemplar);
		}
		if (metric->counter && metric->counter->base.n_unknown_fields) {
			free(metric->counter->base.unknown_fields[0].data);
			free(metric->counter->base.unknown_fields);
		}
		free(metric->counter);
		free(metric->gauge);
		free(metric);
	}
	free(family->metric);
	free(family->name);
	free(family->help);
	free(builder);
}
