/* CElfUtils — elfutils' libelf, libdw (CFI, lines) and libdebuginfod for Swift, a bounded C++ demangler (libiberty's), and
 * openat2(2), which glibc does not wrap: the C that reading a captured process's files needs.
 * libdebuginfod is loaded at its first use (celfutils_debuginfod_*), not at start-up. */
#ifndef CELFUTILS_H
#define CELFUTILS_H

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

/* libdebuginfod, loaded (dlopen) at the first call of celfutils_debuginfod_begin: linked at
 * start-up, it and the HTTP client stack it needs (libcurl, GnuTLS, Kerberos, LDAP, …: about 25
 * libraries) cost every agent 5 MiB of RSS, used only when a capture's binary has no symbols at
 * hand. The functions are libdebuginfod's own (see debuginfod_find_debuginfo(3)); without the
 * library, begin returns NULL and celfutils_debuginfod_load_error says why. */
typedef struct debuginfod_client celfutils_debuginfod_client;
typedef int (*celfutils_debuginfod_progressfn)(celfutils_debuginfod_client *client, long a, long b);

celfutils_debuginfod_client *celfutils_debuginfod_begin(void);
void celfutils_debuginfod_end(celfutils_debuginfod_client *client);
void celfutils_debuginfod_set_user_data(celfutils_debuginfod_client *client, void *data);
void *celfutils_debuginfod_get_user_data(const celfutils_debuginfod_client *client);
void celfutils_debuginfod_set_progressfn(celfutils_debuginfod_client *client, celfutils_debuginfod_progressfn fn);
int celfutils_debuginfod_find_debuginfo(celfutils_debuginfod_client *client, const unsigned char *build_id, int build_id_len, char **path);
/* Why celfutils_debuginfod_begin returns NULL for want of the library (dlerror's words, or a missing
 * function); NULL when it loaded whole or was never asked for. */
const char *celfutils_debuginfod_load_error(void);

#endif
