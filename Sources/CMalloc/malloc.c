#include "CMalloc.h"

#include <malloc.h>

int errno_set_mmap_threshold(int bytes)
{
	return mallopt(M_MMAP_THRESHOLD, bytes);
}
