/* CMetricsProto — io.prometheus.client.MetricFamily messages, encoded with protobuf-c from code that
 * `make` generates out of the upstream metrics.proto (Debian's golang-github-prometheus-client-model-dev).
 * Swift builds a family through this small API and never sees protobuf-c's types. */
#ifndef CMETRICSPROTO_H
#define CMETRICSPROTO_H

#include <stddef.h>
#include <stdint.h>

typedef struct errno_family_builder errno_family_builder;

/* A family named `name` of type counter (is_counter != 0) or gauge. NULL when out of memory. */
errno_family_builder *errno_family_new(const char *name, const char *help, int is_counter);

/* Starts the next metric of the family, with its value. Returns 0, or -1 when out of memory. */
int errno_family_add_metric(errno_family_builder *family, double value);

/* Adds a label to the metric started last. Returns 0, or -1 when out of memory. */
int errno_family_add_label(errno_family_builder *family, const char *name, const char *value);

/* Gives the counter started last an exemplar with this value and time (seconds since the epoch; a
 * negative time means none). Returns 0, or -1 when out of memory or the metric is not a counter. */
int errno_family_set_exemplar(errno_family_builder *family, double value, double timestamp);

/* Gives the counter started last its created timestamp (seconds since the epoch, not negative):
 * `Counter.created_timestamp`, field ERRNO_COUNTER_CREATED_TIMESTAMP_FIELD of upstream metrics.proto,
 * which Debian's older copy lacks; it is written as that field's bytes. Returns 0, or -1 when out of
 * memory, the time is negative or not finite, or the metric is not a counter. */
int errno_family_set_created(errno_family_builder *family, double timestamp);

/* Adds a label to the exemplar set last. Returns 0, or -1 when out of memory or there is none. */
int errno_family_add_exemplar_label(errno_family_builder *family, const char *name, const char *value);

/* Bytes `errno_family_write_delimited` writes: a varint length, then the message. */
size_t errno_family_delimited_size(const errno_family_builder *family);

/* Writes the length-delimited message to `out`, which has errno_family_delimited_size() bytes. */
void errno_family_write_delimited(const errno_family_builder *family, uint8_t *out);

void errno_family_free(errno_family_builder *family);

#endif
