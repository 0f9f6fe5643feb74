/* errno_exporter.h — every struct and constant that crosses the kernel/user boundary.
 *
 * Included by bpf/errno.bpf.c (BPF side) and by the CErrnoBPF module (Swift side). Keys are small
 * and fixed-size: they are hashed on every failing syscall of the machine.
 */
#ifndef ERRNO_EXPORTER_H
#define ERRNO_EXPORTER_H

#include <linux/types.h>

#define ERRNO_COMM_LEN 16

/* Key of the `syscall_failures` per-CPU hash; the value is a __u64 count per CPU. */
struct syscall_failure_key {
	__u32 syscall_nr;
	__u32 err; /* positive errno */
	union {
		char comm[ERRNO_COMM_LEN]; /* NUL-terminated; bytes after the NUL are not meaningful */
		__u64 comm_words[2];       /* filled with two loads: cheaper than bpf_get_current_comm() */
	};
};

/* Key of the `syscall_overflow` per-CPU hash: where a failure goes when `syscall_failures` is full.
 * Exported with comm="<other>". */
struct syscall_overflow_key {
	__u32 syscall_nr;
	__u32 err;
};

/* Index into the `dropped_events` per-CPU array: why an event did not get its own series. */
enum drop_reason {
	DROP_MAP_FULL = 0,      /* syscall_failures full: counted in syscall_overflow instead */
	DROP_OVERFLOW_FULL = 1, /* syscall_overflow full too: the failure is not counted anywhere else */
	DROP_REASON_COUNT = 2,
};

/* Default map sizes; user space overrides them from the config before loading. */
#define DEFAULT_SYSCALL_FAILURES_ENTRIES 10240
#define DEFAULT_SYSCALL_OVERFLOW_ENTRIES 4096

#endif
