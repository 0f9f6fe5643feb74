#if !__has_include("generated/errno_novma.skel.h")
#error "the BPF skeletons are not generated yet: run `make` (it compiles bpf/errno.bpf.c first)"
#endif
#include "CErrnoBPF.h"
#include "generated/build_info.h"
#include "generated/errno_novma.skel.h"

/* The Makefile checks that both skeletons declare the same members; this checks the sizes too. */
_Static_assert(sizeof(struct errno_bpf) == sizeof(struct errno_novma_bpf), "the two skeletons' layouts differ");

struct errno_bpf *errno_bpf_open_variant(bool vma_iterator)
{
	if (vma_iterator)
		return errno_bpf__open();
	return (struct errno_bpf *)errno_novma_bpf__open();
}

const char *errno_build_revision(void)
{
	return ERRNO_BUILD_REVISION;
}
