/* errno_exporter.h — every struct and constant that crosses the kernel/user boundary.
 *
 * Included by bpf/errno.bpf.c (BPF side) and by the CErrnoBPF module (Swift side). Keys are small
 * and fixed-size where possible: they are hashed on every failing syscall of the machine.
 */
#ifndef ERRNO_EXPORTER_H
#define ERRNO_EXPORTER_H

#include <linux/types.h>

#define ERRNO_COMM_LEN 16
#define PATH_BUFFER_LEN 256   /* path bytes kept per series, NUL included; longer paths are truncated */
#define MAX_SYSCALL_NR 1024   /* size of the per-syscall arrays */
#define MAX_ERRNO_VALUE 4096  /* errors are -4095..-1 */
#define MAX_CGROUP_DEPTH 16   /* cgroup filter: ancestors examined */

/* Key of the `syscall_failures` per-CPU hash; the value is a __u64 count per CPU. Also the key of
 * `path_overflow`, where a path failure goes when `path_failures` is full (path="<other>"). */
struct syscall_failure_key {
	__u32 syscall_nr;
	__u32 err; /* positive errno */
	union {
		char comm[ERRNO_COMM_LEN]; /* NUL-terminated; bytes after the NUL are not meaningful */
		__u64 comm_words[2];       /* filled with two loads: cheaper than bpf_get_current_comm() */
	};
	__u32 tgid;      /* the process, when the counter's pid label is on; else 0 */
	__u32 reserved;
	__u64 cgroup_id; /* the cgroup v2 id, when the counter's cgroup label is on; else 0 */
};

/* Key of the `syscall_overflow` per-CPU hash: where a failure goes when `syscall_failures` is full.
 * Exported with comm="<other>". */
struct syscall_overflow_key {
	__u32 syscall_nr;
	__u32 err;
};

/* What a path_failure_key's path is, besides bytes. */
enum path_flags {
	PATH_TRUNCATED = 1,  /* longer than PATH_BUFFER_LEN - 1 bytes: `path` holds the start */
	PATH_UNREADABLE = 2, /* the pointer could not be read (e.g. EFAULT): `path` is empty */
	PATH_NULL = 4,       /* the syscall got a NULL path (utimensat(fd, NULL, …)) */
};

/* Key of the `path_failures` per-CPU hash: the whole key is hashed, so `path` is NUL-padded. */
struct path_failure_key {
	struct syscall_failure_key failure;
	__u32 flags; /* enum path_flags */
	__u32 reserved;
	char path[PATH_BUFFER_LEN];
};

/* Index into the `event_counts` per-CPU array: events that did not get their own series, or that
 * were not counted at all, and path reads that lost information. */
enum event_counter {
	EVENT_MAP_FULL = 0,           /* syscall_failures full: counted in syscall_overflow (comm="<other>") */
	EVENT_OVERFLOW_FULL = 1,      /* syscall_overflow full too: not counted anywhere */
	EVENT_PATH_MAP_FULL = 2,      /* path_failures full: counted in path_overflow (path="<other>") */
	EVENT_PATH_OVERFLOW_FULL = 3, /* path_overflow full too: the path failure is not counted */
	EVENT_PATH_TRUNCATED = 4,     /* a path longer than the buffer (counted, marked truncated) */
	EVENT_PATH_UNREADABLE = 5,    /* a path pointer that faulted (counted as path="<unreadable>") */
	EVENT_PATH_SERIES_FOLDED = 6, /* a (syscall, path, errno, comm) series first folded into "<other>" */
	EVENT_COUNTER_COUNT = 7,
};

/* Which in-kernel filters are active; settings are written by user space at start and on reload. */
enum filter_flags {
	FILTER_ERRNOS = 1,        /* excluded_errnos holds errnos not to count */
	FILTER_COMMS_INCLUDE = 2, /* only comms marked COMM_INCLUDE in comm_filter count */
	FILTER_COMMS_EXCLUDE = 4, /* comms marked COMM_EXCLUDE in comm_filter do not count */
	FILTER_PIDS = 8,          /* only processes (tgids) in pid_filter count */
	FILTER_CGROUPS = 16,      /* only tasks in (a descendant of) a cgroup in cgroup_filter count */
};

enum comm_filter_value {
	COMM_INCLUDE = 1,
	COMM_EXCLUDE = 2,
};

/* Opt-in labels, per counter. */
enum label_flags {
	LABEL_SYSCALL_PID = 1,
	LABEL_SYSCALL_CGROUP = 2,
	LABEL_PATH_PID = 4,
	LABEL_PATH_CGROUP = 8,
};

/* The single entry of the `settings` array. */
struct agent_settings {
	__u32 filters; /* enum filter_flags */
	__u32 labels;  /* enum label_flags */
};

/* Default map sizes; user space overrides them from the config before loading. */
#define DEFAULT_SYSCALL_FAILURES_ENTRIES 10240
#define DEFAULT_SYSCALL_OVERFLOW_ENTRIES 4096
#define DEFAULT_PATH_FAILURES_ENTRIES 10000
#define DEFAULT_PATH_OVERFLOW_ENTRIES 4096
#define FOLDED_PATH_MEMORY 16384 /* folded path series remembered, to count each once */

#endif
