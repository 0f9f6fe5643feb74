#include "CMalloc.h"

#include <malloc.h>

int errno_set_mmap_threshold(int bytes)
{
	return mallopt(M_MMAP_THRESHOLD, bytes);
}

int errno_release_free_memory(void)
{
	return malloc_trim(0);
}
