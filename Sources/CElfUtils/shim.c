#define _GNU_SOURCE
#include "CElfUtils.h"
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <fcntl.h>
#include <pthread.h>
#include <libiberty/demangle.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <stdio.h>
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

/* ---- libdebuginfod, loaded at first use ---- */

static struct {
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *);
	void (*set_user_data)(debuginfod_client *, void *);
	void *(*get_user_data)(const debuginfod_client *);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	int loaded;
	char error[256];
} debuginfod;

static pthread_once_t debuginfod_once = PTHREAD_ONCE_INIT;

static void load_debuginfod(void)
{
	void *library = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	const char *problem;

	if (!library) {
		problem = dlerror();
		snprintf(debuginfod.error, sizeof(debuginfod.error), "%s (fetching debug files needs Debian's libdebuginfod1)",
			 problem ? problem : "libdebuginfod.so.1 could not be loaded");
		return;
	}
	debuginfod.begin = dlsym(library, "debuginfod_begin");
	debuginfod.end = dlsym(library, "debuginfod_end");
	debuginfod.set_user_data = dlsym(library, "debuginfod_set_user_data");
	debuginfod.get_user_data = dlsym(library, "debuginfod_get_user_data");
	debuginfod.set_progressfn = dlsym(library, "debuginfod_set_progressfn");
	debuginfod.find_debuginfo = dlsym(library, "debuginfod_find_debuginfo");
	if (!debuginfod.begin || !debuginfod.end || !debuginfod.set_user_data || !debuginfod.get_user_data ||
	    !debuginfod.set_progressfn || !debuginfod.find_debuginfo) {
		snprintf(debuginfod.error, sizeof(debuginfod.error), "libdebuginfod.so.1 lacks a debuginfod_* function");
		return; /* left loaded: dlclose of a library that started threads is not safe */
	}
	debuginfod.loaded = 1;
}

celfutils_debuginfod_client *celfutils_debuginfod_begin(void)
{
	pthread_once(&debuginfod_once, load_debuginfod);
	return debuginfod.loaded ? debuginfod.begin() : NULL;
}

/* The functions below take a client, which only a loaded library hands out. */
void celfutils_debuginfod_end(celfutils_debuginfod_client *client)
{
	debuginfod.end(client);
}

void celfutils_debuginfod_set_user_data(celfutils_debuginfod_client *client, void *data)
{
	debuginfod.set_user_data(client, data);
}

void *celfutils_debuginfod_get_user_data(const celfutils_debuginfod_client *client)
{
	return debuginfod.get_user_data(client);
}

void celfutils_debuginfod_set_progressfn(celfutils_debuginfod_client *client, celfutils_debuginfod_progressfn fn)
{
	debuginfod.set_progressfn(client, fn);
}

int celfutils_debuginfod_find_debuginfo(celfutils_debuginfod_client *client, const unsigned char *build_id, int build_id_len, char **path)
{
	return debuginfod.find_debuginfo(client, build_id, build_id_len, path);
}

const char *celfutils_debuginfod_load_error(void)
{
	return debuginfod.error[0] ? debuginfod.error : NULL;
}
