/* CErrnoBPF — the compiled bpf/errno.bpf.c embedded in the binary, and the structs it shares with
 * user space (bpf/errno_exporter.h). */
#ifndef CERRNOBPF_H
#define CERRNOBPF_H

#include <stddef.h>
#include "../../../bpf/errno_exporter.h"

/* The CO-RE ELF object built from bpf/errno.bpf.c (`make bpf`). */
const void *errno_bpf_object(size_t *size);

/* The git revision the binary was built from ("unknown" outside a checkout). */
const char *errno_build_revision(void);

#endif
