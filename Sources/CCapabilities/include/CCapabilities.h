/* CCapabilities — capset(2) and the prctl(2) capability calls, which Swift cannot call directly
 * (glibc has no capset wrapper; prctl is variadic). */
#ifndef CCAPABILITIES_H
#define CCAPABILITIES_H

#include <stdint.h>

/* Reduces the process to the capabilities in `keep` (bit N = capability N): the bounding set loses
 * every other one (when CAP_SETPCAP allows it), the ambient set is cleared, and the effective and
 * permitted sets become `keep`; inheritable becomes empty. Returns 0 or -errno. */
int errno_keep_capabilities(uint64_t keep);

#endif
