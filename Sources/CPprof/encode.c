#if !__has_include("generated/profile.pb-c.h")
#error "the protobuf-c code is not generated yet: run `make` (it runs protoc-c on pprof's profile.proto first)"
#endif
#include "CPprof.h"
#include "generated/profile.pb-c.h"
#include <stdlib.h>

uint8_t *cpprof_encode(const cpprof_profile *input, size_t *size)
{
	Perftools__Profiles__Profile profile = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *types[1] = {&type};
	Perftools__Profiles__Mapping *mappings = calloc(input->mapping_count + 1, sizeof(*mappings));
	Perftools__Profiles__Mapping **mapping_ptrs = calloc(input->mapping_count + 1, sizeof(*mapping_ptrs));
	Perftools__Profiles__Function *functions = calloc(input->function_count + 1, sizeof(*functions));
	Perftools__Profiles__Function **function_ptrs = calloc(input->function_count + 1, sizeof(*function_ptrs));
	Perftools__Profiles__Location *locations = calloc(input->location_count + 1, sizeof(*locations));
	Perftools__Profiles__Location **location_ptrs = calloc(input->location_count + 1, sizeof(*location_ptrs));
	Perftools__Profiles__Line *lines, **line_ptrs;
	size_t line_total = 0;
	Perftools__Profiles__Sample *samples = calloc(input->sample_count + 1, sizeof(*samples));
	Perftools__Profiles__Sample **sample_ptrs = calloc(input->sample_count + 1, sizeof(*sample_ptrs));
	size_t label_total = 0;
	Perftools__Profiles__Label *labels, **label_ptrs;
	int64_t *values = calloc(input->sample_count + 1, sizeof(*values));
	uint8_t *out = NULL;

	for (size_t i = 0; i < input->sample_count; i++)
		label_total += input->samples[i].label_count;
	for (size_t i = 0; i < input->location_count; i++)
		line_total += input->locations[i].line_count;
	lines = calloc(line_total + 1, sizeof(*lines));
	line_ptrs = calloc(line_total + 1, sizeof(*line_ptrs));
	labels = calloc(label_total + 1, sizeof(*labels));
	label_ptrs = calloc(label_total + 1, sizeof(*label_ptrs));
	if (!mappings || !mapping_ptrs || !functions || !function_ptrs || !locations || !location_ptrs || !lines || !line_ptrs ||
	    !samples || !sample_ptrs || !labels || !label_ptrs || !values)
		goto done;

	type.type = input->sample_type;
	type.unit = input->sample_unit;
	profile.n_sample_type = 1;
	profile.sample_type = types;
	profile.n_string_table = input->string_count;
	profile.string_table = (char **)input->strings;
	profile.time_nanos = input->time_nanos;
	for (size_t i = 0; i < input->mapping_count; i++) {
		perftools__profiles__mapping__init(&mappings[i]);
		mappings[i].id = input->mappings[i].id;
		mappings[i].filename = input->mappings[i].filename;
		mappings[i].build_id = input->mappings[i].build_id;
		mappings[i].has_functions = 1;
		mapping_ptrs[i] = &mappings[i];
	}
	profile.n_mapping = input->mapping_count;
	profile.mapping = mapping_ptrs;
	for (size_t i = 0; i < input->function_count; i++) {
		perftools__profiles__function__init(&functions[i]);
		functions[i].id = input->functions[i].id;
		functions[i].name = input->functions[i].name;
		functions[i].system_name = input->functions[i].system_name;
		functions[i].filename = input->functions[i].filename;
		function_ptrs[i] = &functions[i];
	}
	profile.n_function = input->function_count;
	profile.function = function_ptrs;
	line_total = 0;
	for (size_t i = 0; i < input->location_count; i++) {
		const cpprof_location *location = &input->locations[i];

		perftools__profiles__location__init(&locations[i]);
		locations[i].id = location->id;
		locations[i].mapping_id = location->mapping_id;
		locations[i].address = location->address;
		locations[i].n_line = location->line_count;
		locations[i].line = &line_ptrs[line_total];
		for (size_t j = 0; j < location->line_count; j++, line_total++) {
			perftools__profiles__line__init(&lines[line_total]);
			lines[line_total].function_id = location->function_ids[j];
			lines[line_total].line = location->lines[j];
			line_ptrs[line_total] = &lines[line_total];
		}
		location_ptrs[i] = &locations[i];
	}
	profile.n_location = input->location_count;
	profile.location = location_ptrs;
	label_total = 0;
	for (size_t i = 0; i < input->sample_count; i++) {
		const cpprof_sample *sample = &input->samples[i];

		perftools__profiles__sample__init(&samples[i]);
		samples[i].n_location_id = sample->location_count;
		samples[i].location_id = (uint64_t *)sample->location_ids;
		values[i] = sample->value;
		samples[i].n_value = 1;
		samples[i].value = &values[i];
		samples[i].n_label = sample->label_count;
		samples[i].label = &label_ptrs[label_total];
		for (size_t j = 0; j < sample->label_count; j++, label_total++) {
			perftools__profiles__label__init(&labels[label_total]);
			labels[label_total].key = sample->label_keys[j];
			labels[label_total].str = sample->label_values[j];
			label_ptrs[label_total] = &labels[label_total];
		}
		sample_ptrs[i] = &samples[i];
	}
	profile.n_sample = input->sample_count;
	profile.sample = sample_ptrs;

	*size = perftools__profiles__profile__get_packed_size(&profile);
	out = malloc(*size ? *size : 1);
	if (out)
		perftools__profiles__profile__pack(&profile, out);
done:
	free(mappings);
	free(mapping_ptrs);
	free(functions);
	free(function_ptrs);
	free(locations);
	free(location_ptrs);
	free(lines);
	free(line_ptrs);
	free(samples);
	free(sample_ptrs);
	free(labels);
	free(label_ptrs);
	free(values);
	return out;
}
