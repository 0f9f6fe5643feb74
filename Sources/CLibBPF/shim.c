#include "CLibBPF.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static clibbpf_log_sink current_sink;
static enum libbpf_print_level current_max_level = LIBBPF_WARN;

static int forward_print(enum libbpf_print_level level, const char *format, va_list args)
{
	char line[1024];
	int length;

	if (!current_sink || level > current_max_level)
		return 0;
	length = vsnprintf(line, sizeof(line), format, args);
	if (length < 0)
		return length;
	size_t end = strnlen(line, sizeof(line));
	while (end > 0 && line[end - 1] == '\n')
		line[--end] = '\0';
	current_sink(level, line);
	return length;
}

void clibbpf_set_log_sink(clibbpf_log_sink sink, enum libbpf_print_level max_level)
{
	current_sink = sink;
	current_max_level = max_level;
	libbpf_set_print(forward_print);
}
