/* CErrnoBPF — the compiled bpf/errno.bpf.c embedded in the binary as its `bpftool gen skeleton`
 * skeleton (typed maps, programs and global sections), and the structs and constants it shares with
 * user space (bpf/errno_exporter.h). Imported by the ErrnoKernel module only. */
#ifndef CERRNOBPF_H
#define CERRNOBPF_H

#include <stdbool.h>
#include <stddef.h>
#include "../../../bpf/errno_exporter.h"

#if !__has_include("../generated/errno.skel.h") || !__has_include("../generated/build_info.h")
#error "the BPF skeleton is not generated yet: run `make` (it compiles bpf/errno.bpf.c first)"
#endif
#include "../generated/errno.skel.h"

/* Opens the embedded object built with the VMA iterator kfuncs (Linux 6.7+) or the one built
 * without them, through the same skeleton layout. NULL with errno set on failure. */
struct errno_bpf *errno_bpf_open_variant(bool vma_iterator);

/* The git revision the binary was built from ("unknown" outside a checkout). */
const char *errno_build_revision(void);

#endif
