#if !__has_include("generated/errno.skel.h") || !__has_include("generated/build_info.h")
#error "the BPF object is not generated yet: run `make` (it compiles bpf/errno.bpf.c first)"
#endif
#include "CErrnoBPF.h"
#include "generated/build_info.h"
#include "generated/errno.skel.h"

const void *errno_bpf_object(size_t *size)
{
	return errno_bpf__elf_bytes(size);
}

const char *errno_build_revision(void)
{
	return ERRNO_BUILD_REVISION;
}
