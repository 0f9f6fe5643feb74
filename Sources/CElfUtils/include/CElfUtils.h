/* CElfUtils — elfutils' libelf and libdw (CFI) for Swift, and the C++ ABI's demangler. */
#ifndef CELFUTILS_H
#define CELFUTILS_H

#include <elfutils/libdw.h>
#include <dwarf.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>

/* Demangles an Itanium C++ ABI name (`_ZN4node2fs…`); NULL when `mangled` is not one. The result
 * is malloc'd: the caller frees it. */
char *celfutils_demangle(const char *mangled);

#endif
