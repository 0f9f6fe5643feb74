/* CLibBPF — libbpf for Swift: the library's headers plus shims for what Swift cannot import
 * (libbpf's variadic print callback). */
#ifndef CLIBBPF_H
#define CLIBBPF_H

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <stdbool.h>
#include <stddef.h>

/* Receives one formatted libbpf log line (without trailing newline). */
typedef void (*clibbpf_log_sink)(enum libbpf_print_level level, const char *line);

/* Routes libbpf's printf-style output to `sink`, formatted; levels above `max_level` are dropped. */
void clibbpf_set_log_sink(clibbpf_log_sink sink, enum libbpf_print_level max_level);

/* Whether `btf` has a function (BTF_KIND_FUNC) named `name`. */
bool clibbpf_btf_has_function(const struct btf *btf, const char *name);

/* Whether the enum `enum_name` of `btf` has the enumerator `value_name` (e.g. BPF_FUNC_loop in
 * enum bpf_func_id: the kernel knows that helper). */
bool clibbpf_btf_has_enumerator(const struct btf *btf, const char *enum_name, const char *value_name);

#endif
