#define _GNU_SOURCE
#include "CLibBPF.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clibbpf_log_sink current_sink;
static enum libbpf_print_level current_max_level = LIBBPF_WARN;

static int forward_print(enum libbpf_print_level level, const char *format, va_list args)
{
	char *text = NULL;
	int length;

	if (!current_sink || level > current_max_level)
		return 0;
	/* Whole, however long: a verifier log arrives as one message. */
	length = vasprintf(&text, format, args);
	if (length < 0)
		return length;
	size_t end = strlen(text);
	while (end > 0 && text[end - 1] == '\n')
		text[--end] = '\0';
	current_sink(level, text);
	free(text);
	return length;
}

void clibbpf_set_log_sink(clibbpf_log_sink sink, enum libbpf_print_level max_level)
{
	current_sink = sink;
	current_max_level = max_level;
	libbpf_set_print(forward_print);
}

bool clibbpf_btf_has_enumerator(const struct btf *btf, const char *enum_name, const char *value_name)
{
	__s32 id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	const struct btf_type *type;
	const struct btf_enum *values;

	if (id < 0)
		return false;
	type = btf__type_by_id(btf, id);
	values = btf_enum(type);
	for (__u16 i = 0; i < btf_vlen(type); i++) {
		const char *name = btf__name_by_offset(btf, values[i].name_off);

		if (name && strcmp(name, value_name) == 0)
			return true;
	}
	return false;
}

bool clibbpf_btf_has_function(const struct btf *btf, const char *name)
{
	return btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}
