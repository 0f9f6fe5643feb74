/* CRawSyscalls — the path syscalls errno-load issues directly (glibc routes open() to openat, and
 * syscall(2) is variadic, which Swift cannot call). Each returns the result or -errno; a syscall
 * the architecture lacks returns -ENOSYS. */
#ifndef CRAWSYSCALLS_H
#define CRAWSYSCALLS_H

long raw_open(const char *path, int flags);
long raw_openat(const char *path, int flags);
long raw_openat2(const char *path, int flags);
long raw_creat(const char *path);
long raw_newfstatat(const char *path);
long raw_faccessat(const char *path);
long raw_close(long fd);

#endif
