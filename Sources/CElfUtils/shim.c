#define _GNU_SOURCE
#include "CElfUtils.h"
#include <fcntl.h>
#include <libiberty/demangle.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The demangler's output, bounded: libiberty's callback demangler prints in pieces and keeps its
 * working state on the stack, so leaving it with longjmp once the bound is reached frees nothing
 * and leaks nothing. */
struct bounded_output {
	char *out;
	size_t length;
	size_t capacity;
	int truncated;
	jmp_buf escape;
};

static void append_bounded(const char *piece, size_t size, void *opaque)
{
	struct bounded_output *output = opaque;
	size_t room = output->capacity - output->length;

	if (size > room) {
		memcpy(output->out + output->length, piece, room);
		output->length = output->capacity;
		output->truncated = 1;
		longjmp(output->escape, 1);
	}
	memcpy(output->out + output->length, piece, size);
	output->length += size;
}

long celfutils_demangle(const char *mangled, char *out, size_t capacity, int *truncated)
{
	struct bounded_output output = {.out = out, .capacity = capacity};

	*truncated = 0;
	if (!mangled || mangled[0] != '_' || mangled[1] != 'Z')
		return -1;
	if (setjmp(output.escape) == 0) {
		if (!cplus_demangle_v3_callback(mangled, DMGL_PARAMS | DMGL_ANSI, append_bounded, &output))
			return -1;
	}
	*truncated = output.truncated;
	return (long)output.length;
}

int celfutils_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long resolve)
{
	struct open_how how = {.flags = flags, .resolve = resolve};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int celfutils_open_directory_path(const char *path)
{
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int celfutils_o_path_flags(void)
{
	return O_PATH | O_CLOEXEC;
}
