/* CLibBPF — libbpf for Swift: the library's headers plus shims for what Swift cannot import
 * (libbpf's variadic print callback). */
#ifndef CLIBBPF_H
#define CLIBBPF_H

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stddef.h>

/* Receives one formatted libbpf log line (without trailing newline). */
typedef void (*clibbpf_log_sink)(enum libbpf_print_level level, const char *line);

/* Routes libbpf's printf-style output to `sink`, formatted; levels above `max_level` are dropped. */
void clibbpf_set_log_sink(clibbpf_log_sink sink, enum libbpf_print_level max_level);

#endif
