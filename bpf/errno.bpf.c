// SPDX-License-Identifier: GPL-2.0
/* errno.bpf.c — the whole kernel side of errno_exporter.
 *
 * One tp_btf/sys_exit program sees every syscall of the machine as it returns:
 *  1. successful syscalls leave after one compare (the path every syscall takes);
 *  2. failures pass the in-kernel filters (errnos, comms, pids, cgroups) set by user space;
 *  3. they are counted per (syscall, errno, comm) in a per-CPU hash that user space sums at scrape;
 *  4. failures of path syscalls (a per-syscall array says which argument is the path) read the path
 *     from the saved user registers — at exit, when the string is paged in — and are counted per
 *     (syscall, errno, comm, path).
 * Nothing is lost silently: a full map folds into an overflow map with a coarser key, and every
 * fold, loss, truncation and fault is counted in `event_counts`. No state is kept between syscall
 * entry and exit, so nothing can leak when a thread dies mid-syscall.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kernel_types.h"
#include "errno_exporter.h"

#define EEXIST 17

char LICENSE[] SEC("license") = "GPL";

/* Counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DEFAULT_SYSCALL_FAILURES_ENTRIES);
	__type(key, struct syscall_failure_key);
	__type(value, __u64);
} syscall_failures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DEFAULT_SYSCALL_OVERFLOW_ENTRIES);
	__type(key, struct syscall_overflow_key);
	__type(value, __u64);
} syscall_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DEFAULT_PATH_FAILURES_ENTRIES);
	__type(key, struct path_failure_key);
	__type(value, __u64);
} path_failures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DEFAULT_PATH_OVERFLOW_ENTRIES);
	__type(key, struct syscall_failure_key);
	__type(value, __u64);
} path_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EVENT_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} event_counts SEC(".maps");

/* Settings, written by user space at start and on reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct agent_settings);
} settings SEC(".maps");

/* Per syscall number: the 1-based argument that holds its path, 0 when not counted per path. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL_NR);
	__type(key, __u32);
	__type(value, __u32);
} path_syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_ERRNO_VALUE);
	__type(key, __u32);
	__type(value, __u32);
} excluded_errnos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64[2]); /* comm, NUL-padded */
	__type(value, __u32);  /* enum comm_filter_value */
} comm_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, __u32);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* Path series folded into "<other>", remembered so that each is counted once (exactly, up to
 * FOLDED_PATH_MEMORY of them; beyond, one forgotten and seen again counts again). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOLDED_PATH_MEMORY);
	__type(key, struct path_failure_key);
	__type(value, __u8);
} folded_paths SEC(".maps");

/* Room for one path key per CPU: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_failure_key);
} path_scratch SEC(".maps");

static __always_inline void count_event(__u32 counter)
{
	__u64 *count = bpf_map_lookup_elem(&event_counts, &counter);

	if (count)
		*count += 1;
}

/* Adds one to this CPU's slot of `key` in a per-CPU counter hash. Returns 0, or the error of the
 * insert (-E2BIG when the map is full). Per-CPU slots need no atomics: the program runs with
 * preemption disabled, and only this CPU writes its slot. */
static __always_inline long increment(void *map, const void *key)
{
	__u64 one = 1;
	__u64 *count = bpf_map_lookup_elem(map, key);
	long err;

	if (count) {
		*count += 1;
		return 0;
	}
	err = bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) { /* another CPU inserted the key since our lookup */
		count = bpf_map_lookup_elem(map, key);
		if (count) {
			*count += 1;
			return 0;
		}
	}
	return err;
}

static __always_inline bool in_filtered_cgroup(void)
{
	for (int level = 1; level < MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			return false; /* deeper than the task's own cgroup */
		if (bpf_map_lookup_elem(&cgroup_filter, &id))
			return true;
	}
	return false;
}

/* True when the configured filters say this failure is not to be counted. */
static __always_inline bool filtered_out(const struct syscall_failure_key *key, __u32 filters)
{
	__u32 err = key->err, *mark;

	if (filters & FILTER_ERRNOS) {
		mark = bpf_map_lookup_elem(&excluded_errnos, &err);
		if (mark && *mark)
			return true;
	}
	if (filters & (FILTER_COMMS_INCLUDE | FILTER_COMMS_EXCLUDE)) {
		mark = bpf_map_lookup_elem(&comm_filter, key->comm_words);
		if ((filters & FILTER_COMMS_INCLUDE) && !(mark && *mark == COMM_INCLUDE))
			return true;
		if (mark && *mark == COMM_EXCLUDE)
			return true;
	}
	if (filters & FILTER_PIDS) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		if (!bpf_map_lookup_elem(&pid_filter, &tgid))
			return true;
	}
	if ((filters & FILTER_CGROUPS) && !in_filtered_cgroup())
		return true;
	return false;
}

static __always_inline const char *path_argument(struct pt_regs *regs, __u32 position)
{
	switch (position) {
	case 1: return (const char *)SYSCALL_ARG1(regs);
	case 2: return (const char *)SYSCALL_ARG2(regs);
	case 3: return (const char *)SYSCALL_ARG3(regs);
	default: return 0;
	}
}

/* Counts a failed path syscall; `labelled` is the failure with the path counter's opt-in labels. */
static __always_inline void count_path_failure(struct pt_regs *regs, const struct syscall_failure_key *labelled)
{
	__u32 zero = 0, syscall_nr = labelled->syscall_nr;
	struct syscall_failure_key coarse;
	__u32 *position = bpf_map_lookup_elem(&path_syscalls, &syscall_nr);
	struct path_failure_key *key;
	const char *user_path;
	long length;
	char next;
	__u8 folded = 1;

	if (!position || !*position)
		return;
	key = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!key)
		return;
	key->failure = *labelled;
	key->flags = 0;
	key->reserved = 0;
	__builtin_memset(key->path, 0, sizeof(key->path)); /* the whole key is hashed */
	user_path = path_argument(regs, *position);
	if (!user_path) {
		key->flags = PATH_NULL;
	} else {
		length = bpf_probe_read_user_str(key->path, sizeof(key->path), user_path);
		if (length < 0) { /* the buffer is zeroed on failure */
			key->flags = PATH_UNREADABLE;
			count_event(EVENT_PATH_UNREADABLE);
		} else if (length == sizeof(key->path) &&
			   bpf_probe_read_user(&next, 1, user_path + sizeof(key->path) - 1) == 0 && next) {
			key->flags = PATH_TRUNCATED;
			count_event(EVENT_PATH_TRUNCATED);
		}
	}
	if (increment(&path_failures, key) == 0)
		return;
	coarse = *labelled; /* the overflow keeps (syscall, errno, comm): opt-in labels would defeat it */
	coarse.tgid = 0;
	coarse.cgroup_id = 0;
	if (increment(&path_overflow, &coarse) == 0)
		count_event(EVENT_PATH_MAP_FULL);
	else
		count_event(EVENT_PATH_OVERFLOW_FULL);
	if (bpf_map_update_elem(&folded_paths, key, &folded, BPF_NOEXIST) == 0)
		count_event(EVENT_PATH_SERIES_FOLDED);
}

/* Everything after the success check, kept out of line so the compiler cannot hoist its setup
 * (stack stores, argument loads) above the check that every syscall of the machine runs. */
static __noinline int count_failure(struct pt_regs *regs, long ret)
{
	struct syscall_failure_key key;
	struct agent_settings *current;
	const __u64 *comm;
	__u32 zero = 0, labels = 0, tgid = 0;
	__u64 cgroup_id = 0;

	key.syscall_nr = SYSCALL_NR(regs);
	key.err = (__u32)-ret;
	/* Two direct loads through the trusted task pointer cost a third of bpf_get_current_comm()
	 * (measured: 63 vs 96 ns per run with stats on). The kernel pads comm with NULs; were it ever
	 * not to, user space decodes up to the NUL and sums keys that differ only after it. */
	comm = (const __u64 *)bpf_get_current_task_btf()->comm;
	key.comm_words[0] = comm[0];
	key.comm_words[1] = comm[1];
	key.reserved = 0;
	current = bpf_map_lookup_elem(&settings, &zero);
	if (current) {
		if (current->filters && filtered_out(&key, current->filters))
			return 0;
		labels = current->labels;
	}
	if (labels & (LABEL_SYSCALL_PID | LABEL_PATH_PID))
		tgid = bpf_get_current_pid_tgid() >> 32;
	if (labels & (LABEL_SYSCALL_CGROUP | LABEL_PATH_CGROUP))
		cgroup_id = bpf_get_current_cgroup_id();
	key.tgid = (labels & LABEL_SYSCALL_PID) ? tgid : 0;
	key.cgroup_id = (labels & LABEL_SYSCALL_CGROUP) ? cgroup_id : 0;

	if (increment(&syscall_failures, &key) != 0) {
		struct syscall_overflow_key overflow = { .syscall_nr = key.syscall_nr, .err = key.err };

		if (increment(&syscall_overflow, &overflow) == 0)
			count_event(EVENT_MAP_FULL);
		else
			count_event(EVENT_OVERFLOW_FULL);
	}
	key.tgid = (labels & LABEL_PATH_PID) ? tgid : 0;
	key.cgroup_id = (labels & LABEL_PATH_CGROUP) ? cgroup_id : 0;
	count_path_failure(regs, &key);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(count_syscall_failure, struct pt_regs *regs, long ret)
{
	/* The hot path: every syscall of the machine passes here. Errors are -4095..-1. */
	if ((unsigned long)ret < (unsigned long)-(MAX_ERRNO_VALUE - 1))
		return 0;
	return count_failure(regs, ret);
}
