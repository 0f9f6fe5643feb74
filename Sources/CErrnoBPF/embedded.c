#include "CErrnoBPF.h"
#include "generated/build_info.h"

const char *errno_build_revision(void)
{
	return ERRNO_BUILD_REVISION;
}
