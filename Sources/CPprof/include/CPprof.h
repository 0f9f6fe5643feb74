/* CPprof — a perftools.profiles.Profile (pprof's profile.proto) encoded by protobuf-c from flat
 * tables that Swift fills: strings, mappings, functions, locations, samples. */
#ifndef CPPROF_H
#define CPPROF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t id;
	int64_t filename; /* string index */
	int64_t build_id; /* string index, 0 when unknown */
} cpprof_mapping;

typedef struct {
	uint64_t id;
	int64_t name;        /* string index */
	int64_t system_name; /* string index */
	int64_t filename;    /* string index */
} cpprof_function;

typedef struct {
	uint64_t id;
	uint64_t mapping_id; /* 0: none */
	uint64_t address;
	/* The location's lines: functions inlined at the address first, the function they were inlined
	 * into last (profile.proto's order); line_count 0: no line information. */
	const uint64_t *function_ids;
	const int64_t *lines;
	size_t line_count;
} cpprof_location;

typedef struct {
	const uint64_t *location_ids; /* leaf first */
	size_t location_count;
	int64_t value;
	const int64_t *label_keys; /* string indexes */
	const int64_t *label_values;
	size_t label_count;
} cpprof_sample;

typedef struct {
	const char *const *strings; /* strings[0] must be "" */
	size_t string_count;
	const cpprof_mapping *mappings;
	size_t mapping_count;
	const cpprof_function *functions;
	size_t function_count;
	const cpprof_location *locations;
	size_t location_count;
	const cpprof_sample *samples;
	size_t sample_count;
	int64_t sample_type; /* string index, e.g. "captures" */
	int64_t sample_unit; /* string index, e.g. "count" */
	int64_t time_nanos;
} cpprof_profile;

/* The profile's protobuf bytes, malloc'd (the caller frees them), their count in *size; NULL when
 * memory runs out. */
uint8_t *cpprof_encode(const cpprof_profile *profile, size_t *size);

#endif
