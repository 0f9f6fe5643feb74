/* CElfUtils — elfutils' libelf, libdw (CFI, lines) and libdebuginfod for Swift, a bounded C++ demangler (libiberty's), and
 * openat2(2), which glibc does not wrap: the C that reading a captured process's files needs. */
#ifndef CELFUTILS_H
#define CELFUTILS_H

#include <elfutils/debuginfod.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/openat2.h>
#include <stddef.h>

/* Demangles an Itanium C++ ABI name (`_ZN4node2fs…`) into `out`, writing at most `capacity` bytes
 * (no NUL): the demangler stops as soon as the output would exceed it, so a name crafted to expand
 * exponentially costs no more than `capacity` bytes of output. Returns the bytes written, or -1
 * when `mangled` is not a mangled name; `*truncated` is set when the output was cut. */
long celfutils_demangle(const char *mangled, char *out, size_t capacity, int *truncated);

/* openat2(2) with `flags` and `resolve` (RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, …): a file
 * descriptor, or -1 with errno set. */
int celfutils_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long resolve);

/* O_PATH | O_CLOEXEC (glibc shows O_PATH only to _GNU_SOURCE). */
int celfutils_o_path_flags(void);

/* A directory opened as a path only (O_PATH | O_DIRECTORY), to resolve paths in: -1 on failure. */
int celfutils_open_directory_path(const char *path);

#endif
