#include "CElfUtils.h"

/* From the C++ runtime (libstdc++), declared here to keep C++ out of the build. */
extern char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);

char *celfutils_demangle(const char *mangled)
{
	int status = 0;
	char *demangled;

	if (!mangled || mangled[0] != '_' || mangled[1] != 'Z')
		return NULL;
	demangled = __cxa_demangle(mangled, NULL, NULL, &status);
	return status == 0 ? demangled : NULL;
}
