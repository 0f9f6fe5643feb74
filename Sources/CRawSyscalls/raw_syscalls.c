#define _GNU_SOURCE
#include "CRawSyscalls.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long result(long value)
{
	return value < 0 ? -errno : value;
}

long raw_open(const char *path, int flags)
{
#ifdef SYS_open
	return result(syscall(SYS_open, path, flags, 0644));
#else
	(void)path, (void)flags;
	return -ENOSYS;
#endif
}

long raw_openat(const char *path, int flags)
{
	return result(syscall(SYS_openat, AT_FDCWD, path, flags, 0644));
}

long raw_openat2(const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)flags, .mode = (flags & O_CREAT) ? 0644 : 0 };

	return result(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how)));
}

long raw_creat(const char *path)
{
#ifdef SYS_creat
	return result(syscall(SYS_creat, path, 0644));
#else
	(void)path;
	return -ENOSYS;
#endif
}

long raw_newfstatat(const char *path)
{
	struct stat info;

	return result(syscall(SYS_newfstatat, AT_FDCWD, path, &info, 0));
}

long raw_faccessat(const char *path)
{
	return result(syscall(SYS_faccessat, AT_FDCWD, path, R_OK));
}

long raw_close(long fd)
{
	return result(syscall(SYS_close, fd));
}
