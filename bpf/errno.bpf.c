// SPDX-License-Identifier: GPL-2.0
/* errno.bpf.c — the whole kernel side of errno_exporter.
 *
 * One tp_btf/sys_exit program sees every syscall of the machine as it returns:
 *  1. successful syscalls leave after one compare (the path every syscall takes);
 *  2. failures pass the in-kernel filters (errnos, comms, pids, cgroups) set by user space;
 *  3. they are counted per (syscall, errno, comm): a hash gives each key a slot of a per-CPU array of
 *     counts that user space sums at scrape, and each CPU remembers its last key and slot
 *     (a path syscall's failure, counted in its path series, is added to it by user space: see
 *     PATH_COUNTS_SYSCALL);
 *  4. failures of path syscalls (a per-syscall array says which argument is the path) read the path
 *     from the saved user registers — at exit, when the string is paged in — and are counted per
 *     series fingerprint (of syscall, errno, comm, labels and the path's own fingerprint), the series'
 *     key and path kept once per fingerprint and compared on every count (a collision is folded and
 *     counted, never merged);
 *  5. when triggers are configured, the path is looked up once in a hash (exact paths) and once in
 *     an LPM trie (prefixes); an armed trigger within its rate limit sends a capture — registers, a
 *     copy of the user stack's top, the kernel stack — through the `captures` ring buffer, which
 *     user space unwinds and symbolizes. Successful syscalls take this step only while a trigger
 *     asks for successes;
 *  6. while watches run (POST /api/v1/watches), failures of a watched process, comm or cgroup are
 *     counted in the watch's exact summaries — whatever the config's filters say — and streamed,
 *     within the watch's rate, through the `watch_events` ring buffer.
 * Nothing is lost silently: a full map folds into an overflow map with a coarser key, and every
 * fold, loss, truncation and fault is counted in `event_counts`; every trigger match, capture,
 * rate-limited match and ring-buffer drop in `trigger_counts`. No state is kept between syscall
 * entry and exit, so nothing can leak when a thread dies mid-syscall.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kernel_types.h"
#include "errno_exporter.h"

#define EEXIST 17

char LICENSE[] SEC("license") = "GPL";

/* Counters. The syscall counter: each key's slot (never changed or removed), the counts per slot
 * and CPU, and each CPU's last key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEFAULT_SYSCALL_FAILURES_ENTRIES);
	__type(key, struct syscall_failure_key);
	__type(value, __u64); /* the slot in syscall_counts */
} syscall_failures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DEFAULT_SYSCALL_FAILURES_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} syscall_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscall_slot_cache);
} syscall_slot_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DEFAULT_SYSCALL_OVERFLOW_ENTRIES);
	__type(key, struct syscall_overflow_key);
	__type(value, __u64);
} syscall_overflow SEC(".maps");

/* The path counter (see struct path_failure_key): counts per slot and CPU; each series' key, path
 * and slot by its fingerprint (memory taken as series first fail); each slot's series fingerprint. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DEFAULT_PATH_FAILURES_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} path_failures SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, DEFAULT_PATH_FAILURES_ENTRIES);
	__type(key, __u64); /* errno_series_fingerprint */
	__type(value, struct path_reading);
} path_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DEFAULT_PATH_FAILURES_ENTRIES);
	__type(key, __u32);
	__type(value, __u64); /* errno_series_fingerprint */
} path_slot_series SEC(".maps");

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
	__type(key, struct path_reading);
	__type(value, __u8);
} folded_paths SEC(".maps");

/* Room for two path readings per CPU (too big for the 512-byte BPF stack): the one read last, and
 * the last one counted in a series, kept to count a repeat of it without hashing (path_readings). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct path_reading);
} path_scratch SEC(".maps");

/* Per CPU: which path_scratch entry holds what. A failure repeating the last counted series on this
 * CPU (a retry loop, a config read again and again) adds to its slot without the series lookup; the
 * next reading goes to the other entry, so that keeping the counted one costs no copy. Slots are never
 * handed to another series, so a kept slot never goes stale. */
struct path_readings {
	__u32 current; /* the entry read_path filled last */
	__u32 counted; /* the entry of the last reading counted in its series' slot `slot` */
	__u32 slot;
	__u32 valid;   /* 0 until this CPU counts a path failure */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_readings);
} path_readings SEC(".maps");

/* This CPU's path_scratch entry for the next reading (not the last counted one), made current; NULL
 * on a map error. */
static __always_inline struct path_reading *next_reading(void)
{
	__u32 zero = 0, index;
	struct path_readings *readings = bpf_map_lookup_elem(&path_readings, &zero);

	if (!readings)
		return 0;
	index = readings->valid ? readings->counted ^ 1 : 0;
	readings->current = index;
	return bpf_map_lookup_elem(&path_scratch, &index);
}

/* This CPU's current reading: the one read_path filled last. */
static __always_inline struct path_reading *current_reading(void)
{
	__u32 zero = 0, index;
	struct path_readings *readings = bpf_map_lookup_elem(&path_readings, &zero);

	if (!readings)
		return 0;
	index = readings->current;
	return bpf_map_lookup_elem(&path_scratch, &index);
}

/* Stack-capture triggers: settings written by user space, the rate limiters' state written here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_TRIGGERS);
	__type(key, __u32);
	__type(value, struct trigger_settings);
} trigger_settings SEC(".maps");

/* Per trigger: the earliest time the next capture conforms to the rate (a GCRA's theoretical
 * arrival time), advanced with compare-and-swap by whichever CPU captures. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_TRIGGERS);
	__type(key, __u32);
	__type(value, __u64);
} trigger_rates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_TRIGGER_PATHS);
	__type(key, __u64); /* the path's fingerprint */
	__type(value, struct trigger_exact_entry);
} trigger_exact_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRIGGER_FINGERPRINT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} trigger_fingerprints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_TRIGGER_PATHS);
	__type(key, struct trigger_prefix_key);
	__type(value, struct trigger_set);
} trigger_path_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_TRIGGERS * TRIGGER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} trigger_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DEFAULT_CAPTURE_BUFFER_BYTES);
} captures SEC(".maps");

/* Set by user space while some trigger wants successful syscalls: the one extra load successful
 * syscalls pay. */
volatile __u32 success_triggers;

/* Bytes of user stack copied per capture; fixed at load (the ring buffer record's size). */
const volatile __u32 user_stack_bytes = DEFAULT_USER_STACK_BYTES;

/* The seed of the path and series fingerprints (errno_path_fingerprint, errno_series_fingerprint),
 * random per load: set by user space. */
const volatile __u64 fingerprint_seed = 0;

/* Slots of syscall_counts and path_failures: how many there are (their sizes, set at load), how
 * many were handed out. */
const volatile __u32 syscall_slot_count = DEFAULT_SYSCALL_FAILURES_ENTRIES;
const volatile __u32 path_slot_count = DEFAULT_PATH_FAILURES_ENTRIES;
__u32 syscall_slots_taken;
__u32 path_slots_taken;

/* enum kernel_feature_flags: what this kernel offers, set at load. */
const volatile __u32 kernel_features = FEATURE_ALL;

static __always_inline void count_event(__u32 counter)
{
	__u64 *count = bpf_map_lookup_elem(&event_counts, &counter);

	if (count)
		*count += 1;
}

/* Per CPU: a slot this CPU took for a new key or series that another CPU named first (or that found
 * no room), kept for this CPU's next new one, so that races waste no slot. Slot + 1; 0: none. */
struct spare_slots {
	__u64 syscall;
	__u64 path;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spare_slots);
} spare_slots SEC(".maps");

/* A new slot of an array of `count` counters: this CPU's spare (`*spare`), or the next of those
 * handed out so far (`*taken`); -1 when none is left. `*taken` stops growing at `count` (plus one
 * per CPU racing for the last). */
static __always_inline long take_slot(__u32 *taken, __u32 count, __u64 *spare)
{
	__u32 slot;

	if (*spare) {
		slot = *spare - 1;
		*spare = 0;
		return slot;
	}
	if (*taken >= count)
		return -1;
	slot = __sync_fetch_and_add(taken, 1);
	return slot < count ? (long)slot : -1; /* a long: in a __u32 expression -1 would be a slot */
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
	if (!(kernel_features & FEATURE_ANCESTOR_CGROUP)) /* user space refuses cgroup filters then */
		return false;
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

/* Whether two NUL-padded path buffers hold the same path (compared up to the first one's NUL word). */
static __always_inline bool same_path(const char *ours, const char *theirs)
{
	const __u64 *our_words = (const __u64 *)ours, *their_words = (const __u64 *)theirs;

	for (int i = 0; i < PATH_BUFFER_LEN / 8; i++) {
		if (our_words[i] != their_words[i])
			return false;
		if (HAS_ZERO_BYTE(our_words[i]))
			return true;
	}
	return true;
}

/* Reads the path argument into this CPU's next scratch reading (next_reading), after `labelled`
 * (the syscall, its errno, comm and opt-in labels); its fingerprint is left 0, for fingerprint_path
 * or count_path_failure to set (a repeat of the last counted series takes that one's). NULL when the
 * syscall is not counted per path. */
static __always_inline struct path_reading *read_path(struct pt_regs *regs, const struct syscall_failure_key *labelled)
{
	__u32 syscall_nr = labelled->syscall_nr;
	__u32 *position = bpf_map_lookup_elem(&path_syscalls, &syscall_nr);
	struct path_reading *reading;
	const char *user_path;
	long length;
	char next;

	if (!position || !*position)
		return 0;
	reading = next_reading();
	if (!reading)
		return 0;
	reading->key.failure = *labelled;
	reading->key.flags = 0;
	reading->key.reserved = 0;
	reading->key.fingerprint = 0;
	reading->slot = 0;
	reading->prefix_bits = 0;
	__builtin_memset(reading->path, 0, sizeof(reading->path)); /* tries and watch keys hash all of it */
	user_path = path_argument(regs, *position);
	if (!user_path) {
		reading->key.flags = PATH_NULL;
		return reading;
	}
	length = bpf_probe_read_user_str(reading->path, sizeof(reading->path), user_path);
	if (length < 0) { /* the buffer is zeroed on failure */
		reading->key.flags = PATH_UNREADABLE;
		count_event(EVENT_PATH_UNREADABLE);
		return reading;
	}
	if (length == sizeof(reading->path) &&
	    bpf_probe_read_user(&next, 1, user_path + sizeof(reading->path) - 1) == 0 && next) {
		reading->key.flags = PATH_TRUNCATED;
		count_event(EVENT_PATH_TRUNCATED);
	}
	return reading;
}

/* Sets the fingerprint of the path in `reading` (errno_path_fingerprint). */
static __always_inline void fingerprint_path(struct path_reading *reading)
{
	reading->key.fingerprint = errno_path_fingerprint((const __u64 *)reading->path, fingerprint_seed);
}

/* Why a path failure has no slot of its own (series_slot). */
enum path_naming {
	PATH_NAME_TAKEN = -1, /* path_names holds another series for its fingerprint: a collision */
	PATH_NAMES_FULL = -2, /* no slot or no room to name it */
};

/* Whether two readings have the same labels and path: their keys up to the path's fingerprint (the
 * key's last word), and their paths. Equal paths have equal fingerprints, so this holds exactly when
 * the whole keys and paths are equal, whether or not `reading` is fingerprinted yet. */
static __always_inline bool same_labels_and_path(const struct path_reading *reading, const struct path_reading *other)
{
	const __u64 *ours = (const __u64 *)&reading->key, *theirs = (const __u64 *)&other->key;

	for (int i = 0; i < (int)(__builtin_offsetof(struct path_failure_key, fingerprint) / 8); i++)
		if (ours[i] != theirs[i])
			return false;
	return same_path(reading->path, other->path);
}

/* Whether a path_names entry holds the series of (fingerprinted) `reading`: the same key, and the
 * same path. */
static __always_inline bool same_series(const struct path_reading *reading, const struct path_reading *name)
{
	return reading->key.fingerprint == name->key.fingerprint && same_labels_and_path(reading, name);
}

/* The slot in path_failures of the series of `reading` (series fingerprint `series`): its
 * path_names entry's, or, on the series' first failure, a new slot, written with the series'
 * fingerprint into path_slot_series and then named with it; else an enum path_naming. Two CPUs
 * naming one new series at once: the second keeps its slot (never counted) as its spare. */
static __always_inline long series_slot(struct path_reading *reading, const __u64 *series)
{
	struct spare_slots *spares;
	struct path_reading *name;
	__u32 zero = 0, index;
	__u64 *owner;
	long slot, err;

	name = bpf_map_lookup_elem(&path_names, series);
	if (!name) {
		spares = bpf_map_lookup_elem(&spare_slots, &zero);
		if (!spares)
			return PATH_NAMES_FULL;
		slot = take_slot(&path_slots_taken, path_slot_count, &spares->path);
		if (slot < 0)
			return PATH_NAMES_FULL;
		index = slot;
		owner = bpf_map_lookup_elem(&path_slot_series, &index);
		if (!owner)
			return PATH_NAMES_FULL;
		*owner = *series;
		reading->slot = index;
		err = bpf_map_update_elem(&path_names, series, reading, BPF_NOEXIST);
		reading->slot = 0;
		if (err == 0)
			return slot;
		spares->path = index + 1; /* its owner is written again before it names a series */
		if (err != -EEXIST)
			return PATH_NAMES_FULL;
		name = bpf_map_lookup_elem(&path_names, series); /* another CPU named it */
		if (!name)
			return PATH_NAMES_FULL;
	}
	return same_series(reading, name) ? (long)name->slot : PATH_NAME_TAKEN; /* a long: a __u32 would make -1 a slot */
}

/* Counts a path failure that gets no series of its own in path_overflow (path="<other>"), and
 * why (`reason`: EVENT_PATH_MAP_FULL or EVENT_PATH_COLLISION) — or, that full too, that it was not
 * counted (EVENT_PATH_OVERFLOW_FULL): each failure under one reason. */
static __always_inline void fold_path_failure(struct path_reading *reading, __u32 reason)
{
	struct syscall_failure_key coarse;
	__u8 folded = 1;

	coarse = reading->key.failure; /* the overflow keeps (syscall, errno, comm): opt-in labels would defeat it */
	coarse.tgid = 0;
	coarse.cgroup_id = 0;
	count_event(increment(&path_overflow, &coarse) == 0 ? reason : EVENT_PATH_OVERFLOW_FULL);
	if (bpf_map_update_elem(&folded_paths, reading, &folded, BPF_NOEXIST) == 0)
		count_event(EVENT_PATH_SERIES_FOLDED);
}

/* The path_flags with which a path series also counts its syscall's failures (PATH_COUNTS_SYSCALL),
 * given the counters' opt-in `labels`: when the path series has every label the syscall counter
 * shows; else 0. */
static __always_inline __u32 syscall_counting_flags(__u32 labels)
{
	if ((labels & LABEL_SYSCALL_PID) && !(labels & LABEL_PATH_PID))
		return 0;
	if ((labels & LABEL_SYSCALL_CGROUP) && !(labels & LABEL_PATH_CGROUP))
		return 0;
	return PATH_COUNTS_SYSCALL | ((labels & LABEL_SYSCALL_PID) ? PATH_SYSCALL_PID : 0) |
	       ((labels & LABEL_SYSCALL_CGROUP) ? PATH_SYSCALL_CGROUP : 0);
}

/* Counts a failed path syscall that `read_path` read into `reading`, and fingerprints it;
 * `counting_flags` from syscall_counting_flags. True when its series counted the syscall's failure
 * too. */
static __always_inline bool count_path_failure(struct path_reading *reading, __u32 counting_flags)
{
	struct path_readings *readings;
	struct path_reading *counted;
	__u64 series, *count = 0;
	__u32 zero = 0, index;
	long slot = PATH_NAMES_FULL;

	reading->key.flags |= counting_flags;
	readings = bpf_map_lookup_elem(&path_readings, &zero);
	if (readings && readings->valid && readings->counted != readings->current) {
		index = readings->counted;
		counted = bpf_map_lookup_elem(&path_scratch, &index);
		if (counted && same_labels_and_path(reading, counted)) {
			reading->key.fingerprint = counted->key.fingerprint;
			slot = readings->slot;
		}
	}
	if (slot < 0) {
		fingerprint_path(reading);
		series = errno_series_fingerprint(&reading->key, fingerprint_seed);
		slot = series_slot(reading, &series);
		if (slot >= 0 && readings) {
			readings->counted = readings->current;
			readings->slot = slot;
			readings->valid = 1;
		}
	}
	if (slot == PATH_NAME_TAKEN) {
		fold_path_failure(reading, EVENT_PATH_COLLISION);
		return false;
	}
	if (slot >= 0) {
		index = slot;
		count = bpf_map_lookup_elem(&path_failures, &index);
	}
	if (!count) {
		fold_path_failure(reading, EVENT_PATH_MAP_FULL);
		return false;
	}
	*count += 1;
	return counting_flags != 0;
}

static __always_inline void count_trigger(__u32 id, __u32 counter)
{
	__u32 index = id * TRIGGER_COUNTER_COUNT + counter;
	__u64 *count = bpf_map_lookup_elem(&trigger_counts, &index);

	if (count)
		*count += 1;
}

/* A token bucket of one interval per token and `burst` nanoseconds of tokens, kept as one timestamp
 * (GCRA: the earliest time the next event conforms, `*next`) so that any CPU can take a token with
 * one compare-and-swap. Losing the race four times in a row counts as no token. An interval of 0
 * means no limit. */
static __always_inline bool take_token(__u64 *next, __u64 interval, __u64 burst, __u64 now)
{
	if (!interval)
		return true;
	for (int attempt = 0; attempt < 4; attempt++) {
		__u64 seen = *(volatile __u64 *)next;
		__u64 start = seen > now ? seen : now;

		if (start - now > burst)
			return false;
		if (__sync_val_compare_and_swap(next, seen, start + interval) == seen)
			return true;
	}
	return false;
}

/* Whether trigger `id` may capture once more at `now`: max_per_minute tokens refilled over a minute. */
static __always_inline bool admit(__u32 id, const struct trigger_settings *trigger, __u64 now)
{
	__u64 *next = bpf_map_lookup_elem(&trigger_rates, &id);

	return next && take_token(next, trigger->capture_interval_ns, trigger->burst_ns, now);
}

/* For each trigger in `ids`, adds one to its counter `counter`. (Global functions return a scalar.) */
__noinline int count_triggers(__u64 ids, __u32 counter)
{
	for (__u32 id = 0; id < MAX_TRIGGERS && (ids >> id); id++)
		if ((ids >> id) & 1)
			count_trigger(id, counter);
	return 0;
}

/* Whether the trigger is armed at `now` for this task: always, or within an alert's window and the
 * comm and pid that alert narrowed it to. */
static __always_inline bool armed_for(const struct trigger_settings *trigger, __u64 now, __u64 comm_low, __u64 comm_high)
{
	if (now >= trigger->armed_until_ns)
		return false;
	if ((trigger->armed_comm_words[0] || trigger->armed_comm_words[1]) &&
	    (trigger->armed_comm_words[0] != comm_low || trigger->armed_comm_words[1] != comm_high))
		return false;
	return !trigger->armed_pid || trigger->armed_pid == bpf_get_current_pid_tgid() >> 32;
}

/* Trigger `id` when its bit is in `ids` (the triggers whose path matched), it exists, has one of
 * `wanted` (enum trigger_flags) and takes this comm; else NULL. */
static __always_inline struct trigger_settings *applicable_trigger(__u64 ids, __u32 id, __u32 wanted, __u64 comm_low, __u64 comm_high)
{
	struct trigger_settings *trigger;

	if (id >= MAX_TRIGGERS || !((ids >> id) & 1))
		return 0;
	trigger = bpf_map_lookup_elem(&trigger_settings, &id);
	if (!trigger || !(trigger->flags & wanted))
		return 0;
	if ((trigger->flags & TRIGGER_COMM) && (trigger->comm_words[0] != comm_low || trigger->comm_words[1] != comm_high))
		return 0;
	return trigger;
}

/* For trigger `id` when its bit is in `ids` (the triggers whose path matched): counts the match when
 * comm and result fit too, and decides whether it captures (armed, within its rate). Returns 0 for
 * no capture, else CAPTURE_ADMITTED plus the stacks it wants. A global function: the verifier checks
 * it once, and the caller's loop stays branch-free (a branch per id would double its states). */
#define CAPTURE_ADMITTED 1
__noinline __u32 evaluate_trigger(__u64 ids, __u32 id, __u32 result_flag, __u64 comm_low, __u64 comm_high)
{
	struct trigger_settings *trigger = applicable_trigger(ids, id, result_flag & (TRIGGER_ON_FAILURE | TRIGGER_ON_SUCCESS), comm_low, comm_high);
	__u64 now;

	if (!trigger)
		return 0;
	count_trigger(id, TRIGGER_MATCHES);
	now = bpf_ktime_get_ns();
	if (!armed_for(trigger, now, comm_low, comm_high))
		return 0;
	if (!(result_flag & TRIGGER_PREADMITTED) && !admit(id, trigger, now)) {
		count_trigger(id, TRIGGER_RATE_LIMITED);
		return 0;
	}
	return CAPTURE_ADMITTED | (trigger->flags & (TRIGGER_USER_STACK | TRIGGER_KERNEL_STACK));
}

/* For an async fs request on a path that trigger `id` (a bit of `ids`) names: whether the trigger
 * wants the submitting thread's stack (async_stacks, comm, armed, within its rate). The token taken
 * here covers the pool thread's capture too. Returns CAPTURE_ADMITTED or 0. */
__noinline __u32 admit_submission(__u64 ids, __u32 id, __u64 comm_low, __u64 comm_high)
{
	struct trigger_settings *trigger = applicable_trigger(ids, id, TRIGGER_ASYNC_STACKS, comm_low, comm_high);
	__u64 now;

	if (!trigger)
		return 0;
	now = bpf_ktime_get_ns();
	return armed_for(trigger, now, comm_low, comm_high) && admit(id, trigger, now) ? CAPTURE_ADMITTED : 0;
}

static __always_inline void save_user_registers(const struct pt_regs *regs, __u64 *out)
{
#if defined(__TARGET_ARCH_x86)
	out[0] = regs->ax;  out[1] = regs->dx;  out[2] = regs->cx;  out[3] = regs->bx;
	out[4] = regs->si;  out[5] = regs->di;  out[6] = regs->bp;  out[7] = regs->sp;
	out[8] = regs->r8;  out[9] = regs->r9;  out[10] = regs->r10; out[11] = regs->r11;
	out[12] = regs->r12; out[13] = regs->r13; out[14] = regs->r14; out[15] = regs->r15;
	out[16] = regs->ip;
	for (int i = 17; i < CAPTURE_REGISTERS; i++)
		out[i] = 0;
#else
	for (int i = 0; i < 31; i++)
		out[i] = regs->regs[i];
	out[31] = regs->sp;
	out[32] = regs->pc;
#endif
}

static __always_inline __u64 user_stack_pointer(const struct pt_regs *regs)
{
	return regs->sp;
}

/* Copies user_stack_bytes from the user stack pointer up, or — when the stack's mapping ends
 * sooner — up to its last readable page. Returns the bytes copied. */
static __always_inline __u32 copy_user_stack(__u8 *buffer, __u64 sp)
{
	__u64 end, length;
	char probe;

	if (bpf_probe_read_user(buffer, user_stack_bytes, (const void *)sp) == 0)
		return user_stack_bytes;
	end = (sp | 4095) + 1;
	for (int page = 0; page < USER_STACK_MAX_BYTES / 4096; page++) {
		if (end - sp >= user_stack_bytes || bpf_probe_read_user(&probe, 1, (const void *)end))
			break;
		end += 4096;
	}
	length = end - sp;
	if (length > user_stack_bytes)
		length = user_stack_bytes;
	if (bpf_probe_read_user(buffer, length, (const void *)sp))
		return 0;
	return length;
}

/* Room for one mapping path per CPU, twice the record's size so that a name read at any offset
 * below MAPPING_PATH_LEN fits (the verifier checks the largest offset plus the largest size). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[2 * MAPPING_PATH_LEN]);
} mapping_path_scratch SEC(".maps");

/* Mappings recorded so far in the capture being built, per CPU. Kept in a map, not a register: a
 * value read from memory is not tracked exactly by the verifier, so the VMA loop's states converge
 * after two iterations instead of one verification pass per mapping count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mapping_counts SEC(".maps");

/* The object is built twice: with the VMA iterator kfuncs (Linux 6.7+), the kernel records the
 * process's executable mappings in each capture; without them (ERRNO_VMA_ITERATOR=0, for older
 * kernels, whose verifier refuses any call to a kfunc they lack) user space reads /proc/PID/maps.
 * Both builds have the same maps, programs and globals, so one skeleton layout serves both. */
#if ERRNO_VMA_ITERATOR
extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, __u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;

/* Where a walk from a file's dentry up to the root is. */
struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfs;
	struct mount *mount;
	__u32 offset; /* bytes written to mapping_path_scratch */
	__u32 flags;  /* MAPPING_PATH_TRUNCATED, or PATH_WALK_DONE at the root */
};
#define PATH_WALK_DONE 0x80000000

/* One step of the walk (a bpf_loop callback: verified once, whatever the depth): appends the
 * dentry's name and a '/', or crosses a mount point. Returns 1 to stop. */
static long path_walk_step(__u32 index, struct path_walk *walk)
{
	/* Locals: CO-RE reads must start from kernel types, not from our struct. */
	struct dentry *dentry = walk->dentry;
	struct mount *mount = walk->mount;
	struct vfsmount *vfs = walk->vfs;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	__u32 zero = 0, offset = walk->offset;
	char *out = bpf_map_lookup_elem(&mapping_path_scratch, &zero);
	long length;

	if (!out)
		return 1;
	if (dentry == BPF_CORE_READ(vfs, mnt_root) || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mount, mnt_parent);

		if (up == mount || !up) {
			walk->flags |= PATH_WALK_DONE;
			return 1;
		}
		walk->dentry = BPF_CORE_READ(mount, mnt_mountpoint);
		walk->mount = up;
		walk->vfs = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (offset >= MAPPING_PATH_LEN - 1) {
		walk->flags |= MAPPING_PATH_TRUNCATED;
		return 1;
	}
	length = bpf_probe_read_kernel_str(out + offset, MAPPING_PATH_LEN, BPF_CORE_READ(dentry, d_name.name));
	if (length <= 0) {
		walk->flags |= MAPPING_PATH_TRUNCATED;
		return 1;
	}
	offset += length; /* the NUL's place takes the '/' */
	out[(offset - 1) & (2 * MAPPING_PATH_LEN - 1)] = '/';
	walk->offset = offset;
	walk->dentry = parent;
	return 0;
}

/* Writes the path of `file` into mapping_path_scratch, leaf first ("name/parent/…/"), crossing
 * mount points up to the root. Returns MAPPING_PATH_TRUNCATED when it did not fit, else 0. */
static __noinline __u32 record_file_path(struct file *file)
{
	struct path_walk walk = {
		.dentry = BPF_CORE_READ(file, f_path.dentry),
		.vfs = BPF_CORE_READ(file, f_path.mnt),
	};
	__u32 zero = 0;
	char *out = bpf_map_lookup_elem(&mapping_path_scratch, &zero);

	if (!out)
		return MAPPING_PATH_TRUNCATED;
	walk.mount = (void *)walk.vfs - bpf_core_field_offset(struct mount, mnt);
	bpf_loop(64, path_walk_step, &walk, 0);
	if (walk.offset >= MAPPING_PATH_LEN) {
		walk.flags |= MAPPING_PATH_TRUNCATED;
		walk.offset = MAPPING_PATH_LEN - 1;
	}
	out[walk.offset & (2 * MAPPING_PATH_LEN - 1)] = 0;
	if (!(walk.flags & PATH_WALK_DONE))
		walk.flags |= MAPPING_PATH_TRUNCATED;
	return walk.flags & MAPPING_PATH_TRUNCATED;
}

/* Records the executable file mappings of the current process (kernel 6.7+: the VMA iterator).
 * Returns how many, or CAPTURE_MAPPINGS + 1 when there were more. */
static __noinline __u32 record_mappings(struct capture_mapping *mappings)
{
	struct bpf_iter_task_vma iterator;
	struct vm_area_struct *vma;
	__u32 zero = 0, *count = bpf_map_lookup_elem(&mapping_counts, &zero), recorded;
	char *path;

	if (!count)
		return 0;
	*count = 0;
	bpf_iter_task_vma_new(&iterator, bpf_get_current_task_btf(), 0);
	while ((vma = bpf_iter_task_vma_next(&iterator))) {
		struct file *file = vma->vm_file;
		struct capture_mapping *out;

		if (!(vma->vm_flags & VM_EXEC) || !file)
			continue;
		if (*count >= CAPTURE_MAPPINGS) {
			*count = CAPTURE_MAPPINGS + 1;
			break;
		}
		out = &mappings[*count & (CAPTURE_MAPPINGS - 1)];
		out->start = vma->vm_start;
		out->end = vma->vm_end;
		out->file_offset = (__u64)vma->vm_pgoff << 12;
		out->inode = BPF_CORE_READ(file, f_inode, i_ino);
		out->device = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		out->flags = record_file_path(file);
		path = bpf_map_lookup_elem(&mapping_path_scratch, &zero);
		if (path)
			__builtin_memcpy(out->reversed_path, path, MAPPING_PATH_LEN);
		*count += 1;
	}
	bpf_iter_task_vma_destroy(&iterator);
	recorded = *count;
	return recorded;
}
#else
/* No VMA iterator: no mappings in the record (user space reads /proc/PID/maps). */
static __always_inline __u32 record_mappings(struct capture_mapping *mappings)
{
	return 0;
}
#endif

/* What one capture record is for. */
struct capture_request {
	long ret;
	__u64 ids;           /* the triggers that admitted it */
	__u64 submission_id; /* see capture_event.submission_id */
	__u32 stacks;        /* TRIGGER_USER_STACK | TRIGGER_KERNEL_STACK */
	__u32 kind;          /* enum capture_kind */
};

/* Sends one capture record for `request`, with the stacks it asks for. The user registers and the
 * kernel stack come from the current task, not from the program's context, so that one function
 * serves the syscall exit and the uprobes, and the trigger path is verified once. */
static __noinline void capture(const struct capture_request *request, const struct path_reading *reading)
{
	long ret = request->ret;
	__u64 ids = request->ids;
	__u32 stacks = request->stacks;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct capture_event *event = bpf_ringbuf_reserve(&captures, sizeof(*event) + user_stack_bytes, 0);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	long kernel_bytes;

	if (!event) {
		count_event(EVENT_RING_BUFFER_FULL);
		count_triggers(ids, TRIGGER_RING_BUFFER_FULL);
		return;
	}
	event->timestamp_ns = bpf_ktime_get_ns();
	event->triggers = ids;
	event->result = ret;
	event->cgroup_id = bpf_get_current_cgroup_id();
	event->submission_id = request->submission_id;
	event->kind = request->kind;
	event->reserved = 0;
	event->tgid = pid_tgid >> 32;
	event->tid = (__u32)pid_tgid;
	event->syscall_nr = reading->key.failure.syscall_nr;
	event->path_flags = reading->key.flags & (PATH_TRUNCATED | PATH_UNREADABLE | PATH_NULL); /* not how it was counted */
	event->stacks = stacks;
	event->mapping_count = 0;
	__builtin_memcpy(event->comm, reading->key.failure.comm, sizeof(event->comm));
	__builtin_memcpy(event->path, reading->path, sizeof(event->path));
	save_user_registers(regs, event->registers);
	event->kernel_stack_bytes = 0;
	if (stacks & TRIGGER_KERNEL_STACK) {
		kernel_bytes = bpf_get_task_stack(task, event->kernel_stack, sizeof(event->kernel_stack), 0);
		if (kernel_bytes > 0)
			event->kernel_stack_bytes = kernel_bytes;
	}
	event->user_stack_bytes = 0;
	if (stacks & TRIGGER_USER_STACK) {
		event->user_stack_bytes = copy_user_stack(event->user_stack, user_stack_pointer(regs));
		event->mapping_count = record_mappings(event->mappings);
	}
	bpf_ringbuf_submit(event, BPF_RB_FORCE_WAKEUP); /* symbolized at once: the process may exit soon */
	if (request->kind == CAPTURE_SYSCALL)
		count_triggers(ids, TRIGGER_CAPTURES);
}

/* The triggers whose exact paths or prefixes match the path in `reading` (`lookups`: which maps
 * hold entries). */
static __always_inline __u64 lookup_trigger_paths(struct path_reading *reading, __u32 lookups)
{
	struct trigger_exact_entry *exact;
	struct trigger_set *matched;
	__u64 ids = 0;

	if (reading->key.flags & (PATH_UNREADABLE | PATH_NULL))
		return 0;
	if ((lookups & TRIGGERS_EXACT) && !(reading->key.flags & PATH_TRUNCATED)) {
		exact = bpf_map_lookup_elem(&trigger_exact_paths, &reading->key.fingerprint);
		if (exact && same_path(reading->path, exact->path))
			ids = exact->ids;
	}
	if (lookups & TRIGGERS_PREFIX) {
		reading->prefix_bits = PATH_BUFFER_LEN * 8; /* {prefix_bits, path} is a trigger_prefix_key */
		matched = bpf_map_lookup_elem(&trigger_path_prefixes, &reading->prefix_bits);
		reading->prefix_bits = 0;
		if (matched)
			ids |= matched->ids;
	}
	return ids;
}

/* Whether the path in `reading` may match a trigger (`lookups`: which maps hold entries): a prefix
 * trie to look in, or its fingerprint's bit set in trigger_fingerprints. */
static __always_inline bool may_match_trigger(const struct path_reading *reading, __u32 lookups)
{
	__u32 word = (reading->key.fingerprint % TRIGGER_FINGERPRINT_BITS) / 64;
	__u64 *bits;

	if (lookups & TRIGGERS_PREFIX)
		return true;
	if (!(lookups & TRIGGERS_EXACT))
		return false;
	bits = bpf_map_lookup_elem(&trigger_fingerprints, &word);
	return bits && ((*bits >> (reading->key.fingerprint % 64)) & 1);
}

/* Async fs requests of libuv (Node.js) on trigger paths, from submission to the pool thread:
 * pending_submissions (submitting thread → its captured submission, until uv__work_submit),
 * async_requests ((process, work item) → submission, until a pool thread starts it; user space sweeps
 * the few that never run, e.g. cancelled), current_requests (pool thread → the submission it works
 * on, until its syscall on that path or the thread's next request). All bounded; a full
 * async_requests is counted. Two uprobes per async request, plus one per path-taking call: each
 * costs a trap. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct async_submission);
} pending_submissions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct async_request_key);
	__type(value, struct async_submission);
} async_requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct async_submission);
} current_requests SEC(".maps");

/* Looks the path read_path left in this CPU's scratch key up in the trigger maps and captures the
 * syscall for the armed triggers it matches; on a libuv pool thread working on a captured
 * submission of this very path, links the capture to it (and the thread is done with that
 * request's link). A global function: verified once for both callers. */
__noinline int match_triggers(long ret, __u32 lookups)
{
	__u32 result_flag = ret < 0 ? TRIGGER_ON_FAILURE : TRIGGER_ON_SUCCESS, stacks = 0, verdict;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct async_submission *request = 0;
	struct capture_request capture_request = {.ret = ret, .kind = CAPTURE_SYSCALL};
	__u64 ids, captured = 0, preadmitted = 0;
	/* The path read_path read last on this CPU (current_reading): a map value, which map helpers
	 * take as a key on every kernel (6.1 refuses a global function's pointer argument there). */
	struct path_reading *reading = current_reading();

	if (!reading || !(kernel_features & FEATURE_CAPTURES))
		return 0;
	ids = lookup_trigger_paths(reading, lookups);
	if (!ids)
		return 0;
	if (lookups & TRIGGERS_ASYNC)
		request = bpf_map_lookup_elem(&current_requests, &tid);
	if (request && request->path_fingerprint == reading->key.fingerprint) {
		preadmitted = request->triggers;
		capture_request.submission_id = request->submission_id;
		bpf_map_delete_elem(&current_requests, &tid);
	}
	for (__u32 id = 0; id < MAX_TRIGGERS && (ids >> id); id++) {
		__u32 flags = result_flag | (((preadmitted >> id) & 1) ? TRIGGER_PREADMITTED : 0);

		verdict = evaluate_trigger(ids, id, flags, reading->key.failure.comm_words[0], reading->key.failure.comm_words[1]);
		captured |= (__u64)(verdict & CAPTURE_ADMITTED) << id;
		stacks |= verdict;
	}
	capture_request.ids = captured;
	capture_request.stacks = stacks & (TRIGGER_USER_STACK | TRIGGER_KERNEL_STACK);
	if (captured)
		capture(&capture_request, reading);
	return 0;
}

/* ---- Watches: failures of a watched process, comm or cgroup, summarised and streamed -------------- */

/* Which watches (a set of slots) look at each pid, comm and cgroup; written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WATCH_SELECTOR_ENTRIES);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} watch_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WATCH_SELECTOR_ENTRIES);
	__type(key, __u64[2]); /* comm, NUL-padded */
	__type(value, __u64);
} watch_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WATCH_SELECTOR_ENTRIES);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, __u64);
} watch_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_WATCHES);
	__type(key, __u32);
	__type(value, struct watch_settings);
} watch_settings SEC(".maps");

/* Per watch: the event stream's GCRA state, as trigger_rates. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_WATCHES);
	__type(key, __u32);
	__type(value, __u64);
} watch_rates SEC(".maps");

/* The summaries: exact counts, whatever the stream's rate. Not preallocated: no memory until a
 * watch runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WATCH_SUMMARY_ENTRIES);
	__type(key, struct watch_summary_key);
	__type(value, __u64);
} watch_summary SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WATCH_PATH_SUMMARY_ENTRIES);
	__type(key, struct watch_path_key);
	__type(value, __u64);
} watch_path_summary SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_WATCHES * WATCH_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} watch_counts SEC(".maps");

/* Room for one path summary key per CPU (the failure being reported; its slot set per watch). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_path_key);
} watch_path_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WATCH_EVENT_BUFFER_BYTES);
} watch_events SEC(".maps");

/* enum watch_kind_flags: which selector maps hold entries. 0 while no watch runs: then a failing
 * syscall pays this one load for watches, and a successful one nothing. */
volatile __u32 watch_kinds;

static __always_inline void count_watch(__u32 slot, __u32 counter)
{
	__u32 index = slot * WATCH_COUNTER_COUNT + counter;
	__u64 *count = bpf_map_lookup_elem(&watch_counts, &index);

	if (count)
		*count += 1;
}

/* For each watch in `slots`, adds one to its counter `counter`. */
__noinline int count_watches(__u64 slots, __u32 counter)
{
	for (__u32 slot = 0; slot < MAX_WATCHES && (slots >> slot); slot++)
		if ((slots >> slot) & 1)
			count_watch(slot, counter);
	return 0;
}

/* The watches looking at the current task: by its process, its comm, its cgroup or an ancestor. */
static __always_inline __u64 watches_of(const struct syscall_failure_key *key, __u32 kinds)
{
	__u64 slots = 0, *found;

	if (kinds & WATCH_BY_PID) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		found = bpf_map_lookup_elem(&watch_pids, &tgid);
		if (found)
			slots |= *found;
	}
	if (kinds & WATCH_BY_COMM) {
		found = bpf_map_lookup_elem(&watch_comms, key->comm_words);
		if (found)
			slots |= *found;
	}
	if ((kinds & WATCH_BY_CGROUP) && (kernel_features & FEATURE_ANCESTOR_CGROUP)) {
		for (int level = 1; level < MAX_CGROUP_DEPTH; level++) {
			__u64 id = bpf_get_current_ancestor_cgroup_id(level);

			if (!id)
				break;
			found = bpf_map_lookup_elem(&watch_cgroups, &id);
			if (found)
				slots |= *found;
		}
	}
	return slots;
}

/* Whether watch `slot` may stream one more event at `now`: events_per_second tokens a second. */
static __always_inline bool admit_watch_event(__u32 slot, const struct watch_settings *watch, __u64 now)
{
	__u64 *next = bpf_map_lookup_elem(&watch_rates, &slot);

	return next && take_token(next, watch->event_interval_ns, watch->burst_ns, now);
}

/* For watch `slot` when its bit is in `slots`: counts the failure in its summaries (the path one
 * from watch_path_scratch when `with_path`) and decides whether it is streamed. Returns 1 when it
 * is. A global function: verified once, whatever the number of watches. The total, then the
 * syscall summary, then the path summary: user space reads them in the reverse order. */
__noinline __u32 account_watch(__u64 slots, __u32 slot, __u32 syscall_nr, __u32 err, __u32 with_path)
{
	struct watch_summary_key summary = {.slot = slot, .syscall_nr = syscall_nr, .err = err};
	struct watch_settings *watch;
	struct watch_path_key *path_key;
	__u32 zero = 0;

	if (slot >= MAX_WATCHES || !((slots >> slot) & 1))
		return 0;
	watch = bpf_map_lookup_elem(&watch_settings, &slot);
	if (!watch || !(watch->flags & WATCH_ACTIVE) || ((watch->flags & WATCH_PATHS_ONLY) && !with_path))
		return 0;
	count_watch(slot, WATCH_FAILURES);
	if (increment(&watch_summary, &summary))
		count_watch(slot, WATCH_SUMMARY_FULL);
	if (with_path) {
		path_key = bpf_map_lookup_elem(&watch_path_scratch, &zero);
		if (path_key) {
			path_key->slot = slot;
			if (increment(&watch_path_summary, path_key))
				count_watch(slot, WATCH_SUMMARY_FULL);
		}
	}
	if (!admit_watch_event(slot, watch, bpf_ktime_get_ns())) {
		count_watch(slot, WATCH_RATE_LIMITED);
		return 0;
	}
	return 1;
}

/* Reports a failure (`key`: syscall, errno, comm; `with_path`: its path, NULL for a syscall without
 * one) to the watches in `slots`: summaries, then one event for the watches that stream it. */
static __noinline void report_to_watches(__u64 slots, const struct syscall_failure_key *key, const struct path_reading *with_path)
{
	struct watch_path_key *path_key;
	struct watch_event *event;
	__u64 streamed = 0, pid_tgid;
	__u32 zero = 0;

	path_key = bpf_map_lookup_elem(&watch_path_scratch, &zero);
	if (!path_key)
		return;
	if (with_path) {
		path_key->syscall_nr = key->syscall_nr;
		path_key->err = key->err;
		path_key->flags = with_path->key.flags;
		__builtin_memcpy(path_key->path, with_path->path, sizeof(path_key->path));
	}
	for (__u32 slot = 0; slot < MAX_WATCHES && (slots >> slot); slot++)
		streamed |= (__u64)account_watch(slots, slot, key->syscall_nr, key->err, with_path != 0) << slot;
	if (!streamed)
		return;
	event = bpf_ringbuf_reserve(&watch_events, sizeof(*event), 0);
	if (!event) {
		count_watches(streamed, WATCH_RING_BUFFER_FULL);
		return;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	event->timestamp_ns = bpf_ktime_get_ns();
	event->watches = streamed;
	event->tgid = pid_tgid >> 32;
	event->tid = (__u32)pid_tgid;
	event->syscall_nr = key->syscall_nr;
	event->err = key->err;
	__builtin_memcpy(event->comm, key->comm, sizeof(event->comm));
	if (with_path) {
		event->has_path = 1;
		event->path_flags = path_key->flags;
		__builtin_memcpy(event->path, path_key->path, sizeof(event->path));
	} else {
		event->has_path = 0;
		event->path_flags = 0;
		__builtin_memset(event->path, 0, sizeof(event->path));
	}
	bpf_ringbuf_submit(event, 0);
	count_watches(streamed, WATCH_EVENTS);
}

/* `key` for the current task: syscall `syscall_nr`, errno from `ret`, its comm, no opt-in labels. */
static __always_inline void describe_task(struct syscall_failure_key *key, __u32 syscall_nr, long ret)
{
	const __u64 *comm;

	key->syscall_nr = syscall_nr;
	key->err = ret < 0 ? (__u32)-ret : 0;
	/* Two direct loads through the trusted task pointer cost a third of bpf_get_current_comm()
	 * (measured: 63 vs 96 ns per run with stats on). The kernel pads comm with NULs; were it ever
	 * not to, user space decodes up to the NUL and sums keys that differ only after it. */
	if (kernel_features & FEATURE_TASK_BTF) {
		comm = (const __u64 *)bpf_get_current_task_btf()->comm;
		key->comm_words[0] = comm[0];
		key->comm_words[1] = comm[1];
	} else {
		key->comm_words[0] = 0;
		key->comm_words[1] = 0;
		bpf_get_current_comm(key->comm, sizeof(key->comm));
	}
	key->tgid = 0;
	key->reserved = 0;
	key->cgroup_id = 0;
}

/* The syscall's number, errno and comm in `key`; false when the filters say not to look further. */
static __always_inline bool describe(struct pt_regs *regs, long ret, struct syscall_failure_key *key, const struct agent_settings *current)
{
	describe_task(key, SYSCALL_NR(regs), ret);
	return !(current && current->filters && filtered_out(key, current->filters));
}

/* The slot of `key` in syscall_counts, handed out on its first failure; -1 when none is left. Two
 * CPUs giving one new key a slot at once: the second keeps its slot as its spare. */
static __always_inline long syscall_slot(const struct syscall_failure_key *key)
{
	__u64 *known = bpf_map_lookup_elem(&syscall_failures, key);
	struct spare_slots *spares;
	__u32 zero = 0;
	__u64 slot;
	long taken, err;

	if (known)
		return *known;
	spares = bpf_map_lookup_elem(&spare_slots, &zero);
	if (!spares)
		return -1;
	taken = take_slot(&syscall_slots_taken, syscall_slot_count, &spares->syscall);
	if (taken < 0)
		return -1;
	slot = taken;
	err = bpf_map_update_elem(&syscall_failures, key, &slot, BPF_NOEXIST);
	if (err == 0)
		return slot;
	spares->syscall = slot + 1;
	if (err == -EEXIST) {
		known = bpf_map_lookup_elem(&syscall_failures, key);
		if (known)
			return *known;
	}
	return -1;
}

/* Whether two syscall counter keys are the same. */
static __always_inline bool same_syscall_key(const struct syscall_failure_key *ours, const struct syscall_failure_key *theirs)
{
	const __u64 *our_words = (const __u64 *)ours, *their_words = (const __u64 *)theirs;

	for (int i = 0; i < (int)(sizeof(*ours) / 8); i++)
		if (our_words[i] != their_words[i])
			return false;
	return true;
}

/* Counts a failure in its slot of syscall_counts, or, no slot left, in syscall_overflow
 * (comm="<other>"). A key repeating this CPU's last one skips the hash lookup. */
static __always_inline void count_syscall_failure(const struct syscall_failure_key *key)
{
	struct syscall_overflow_key overflow = { .syscall_nr = key->syscall_nr, .err = key->err };
	struct syscall_slot_cache *cache;
	__u32 zero = 0, index;
	__u64 *count = 0;
	long slot;

	cache = bpf_map_lookup_elem(&syscall_slot_cache, &zero);
	if (cache && cache->valid && same_syscall_key(key, &cache->key)) {
		slot = cache->slot;
	} else {
		slot = syscall_slot(key);
		if (slot >= 0 && cache) {
			cache->key = *key;
			cache->slot = slot;
			cache->valid = 1;
		}
	}
	if (slot >= 0) {
		index = slot;
		count = bpf_map_lookup_elem(&syscall_counts, &index);
	}
	if (count) {
		*count += 1;
		return;
	}
	if (increment(&syscall_overflow, &overflow) == 0)
		count_event(EVENT_MAP_FULL);
	else
		count_event(EVENT_OVERFLOW_FULL);
}

/* A successful syscall, while some trigger wants successes: only trigger matching. */
static __noinline int match_success(struct pt_regs *regs, long ret)
{
	struct syscall_failure_key key;
	struct path_reading *with_path;
	struct agent_settings *current;
	__u32 zero = 0;

	current = bpf_map_lookup_elem(&settings, &zero);
	if (!current || !current->triggers || !describe(regs, ret, &key, current))
		return 0;
	with_path = read_path(regs, &key);
	if (!with_path)
		return 0;
	fingerprint_path(with_path);
	if (may_match_trigger(with_path, current->triggers))
		match_triggers(ret, current->triggers);
	return 0;
}

/* Everything after the success check, kept out of line so the compiler cannot hoist its setup
 * (stack stores, argument loads) above the check that every syscall of the machine runs. */
static __noinline int count_failure(struct pt_regs *regs, long ret)
{
	struct syscall_failure_key key;
	struct path_reading *with_path;
	struct agent_settings *current;
	__u32 zero = 0, labels = 0, tgid = 0, kinds = watch_kinds;
	__u64 cgroup_id = 0, watched = 0;

	current = bpf_map_lookup_elem(&settings, &zero);
	describe_task(&key, SYSCALL_NR(regs), ret);
	if (kinds)
		watched = watches_of(&key, kinds);
	if (current && current->filters && filtered_out(&key, current->filters)) {
		/* Not counted by the config's filters; a watch sees every failure of what it watches. */
		if (watched)
			report_to_watches(watched, &key, read_path(regs, &key));
		return 0;
	}
	if (current)
		labels = current->labels;
	if (labels & (LABEL_SYSCALL_PID | LABEL_PATH_PID))
		tgid = bpf_get_current_pid_tgid() >> 32;
	if (labels & (LABEL_SYSCALL_CGROUP | LABEL_PATH_CGROUP))
		cgroup_id = bpf_get_current_cgroup_id();
	key.tgid = (labels & LABEL_PATH_PID) ? tgid : 0;
	key.cgroup_id = (labels & LABEL_PATH_CGROUP) ? cgroup_id : 0;
	with_path = read_path(regs, &key);
	if (watched)
		report_to_watches(watched, &key, with_path);
	if (!with_path || !count_path_failure(with_path, syscall_counting_flags(labels))) {
		key.tgid = (labels & LABEL_SYSCALL_PID) ? tgid : 0;
		key.cgroup_id = (labels & LABEL_SYSCALL_CGROUP) ? cgroup_id : 0;
		count_syscall_failure(&key);
	}
	if (!with_path)
		return 0;
	if (current && current->triggers && may_match_trigger(with_path, current->triggers))
		match_triggers(ret, current->triggers);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_syscall_exit, struct pt_regs *regs, long ret)
{
	/* The hot path: every syscall of the machine passes here. Errors are -4095..-1. */
	if ((unsigned long)ret < (unsigned long)-(MAX_ERRNO_VALUE - 1)) {
		if (!success_triggers)
			return 0;
		return match_success(regs, ret);
	}
	return count_failure(regs, ret);
}

/* ---- Async stacks: libuv fs requests (Node.js), attached only while a trigger has async_stacks ---- */

/* Room for one async request's path per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_reading);
} async_path_scratch SEC(".maps");

/* The last submission id handed out, shared by all CPUs (a map of its own: user space rewrites .bss
 * on reload). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} submission_ids SEC(".maps");

/* Largest distance from a uv_fs_t to its embedded work item: a uv__work_submit whose work item is not
 * within this of the request the thread just submitted is not that request's (stale state). */
#define UV_FS_T_MAX_SIZE 1024

/* Entry of uv_fs_open, uv_fs_stat, … (loop, req, path, …, cb): the cookie is the callback's argument
 * position. An asynchronous request (cb set) on a trigger path with async_stacks gets its submitting
 * thread's stack captured now, and is remembered until uv__work_submit names its work item. */
SEC("uprobe")
int on_uv_fs_request(struct pt_regs *ctx)
{
	__u64 position = bpf_get_attach_cookie(ctx), callback, pid_tgid = bpf_get_current_pid_tgid(), ids, admitted = 0;
	__u32 zero = 0, tid = (__u32)pid_tgid;
	struct agent_settings *current = bpf_map_lookup_elem(&settings, &zero);
	struct capture_request request = {.stacks = TRIGGER_USER_STACK, .kind = CAPTURE_SUBMISSION};
	struct async_submission pending;
	struct path_reading *reading;
	const char *path;
	__u64 *last_id;

	bpf_map_delete_elem(&pending_submissions, &tid); /* whatever this thread left behind is stale now */
	callback = position == 4 ? FUNCTION_ARG4(ctx) : position == 5 ? FUNCTION_ARG5(ctx) : FUNCTION_ARG6(ctx);
	if (!callback || !current || !(current->triggers & TRIGGERS_ASYNC))
		return 0; /* synchronous: the syscall runs on this thread and is captured there */
	reading = bpf_map_lookup_elem(&async_path_scratch, &zero);
	if (!reading)
		return 0;
	describe_task(&reading->key.failure, 0, 0);
	reading->key.flags = 0;
	reading->key.reserved = 0;
	reading->slot = 0;
	reading->prefix_bits = 0;
	if (current->filters && filtered_out(&reading->key.failure, current->filters))
		return 0;
	__builtin_memset(reading->path, 0, sizeof(reading->path));
	path = (const char *)FUNCTION_ARG3(ctx);
	if (bpf_probe_read_user_str(reading->path, sizeof(reading->path), path) == sizeof(reading->path))
		reading->key.flags = PATH_TRUNCATED;
	fingerprint_path(reading);
	ids = lookup_trigger_paths(reading, current->triggers);
	for (__u32 id = 0; id < MAX_TRIGGERS && (ids >> id); id++)
		admitted |= (__u64)admit_submission(ids, id, reading->key.failure.comm_words[0], reading->key.failure.comm_words[1]) << id;
	last_id = bpf_map_lookup_elem(&submission_ids, &zero);
	if (!admitted || !last_id)
		return 0;
	request.ids = admitted;
	request.submission_id = __sync_fetch_and_add(last_id, 1) + 1;
	capture(&request, reading);
	pending.submission_id = request.submission_id;
	pending.triggers = admitted;
	pending.request = FUNCTION_ARG2(ctx);
	pending.path_fingerprint = reading->key.fingerprint;
	pending.submitted_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&pending_submissions, &tid, &pending, BPF_ANY);
	return 0;
}

/* Entry of uv__work_submit(loop, w, kind, work, done): the submitted request's work item. */
SEC("uprobe")
int on_uv_work_submit(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), work = FUNCTION_ARG2(ctx);
	__u32 tid = (__u32)pid_tgid;
	struct async_submission *pending = bpf_map_lookup_elem(&pending_submissions, &tid);
	struct async_request_key key = {.tgid = pid_tgid >> 32, .work = work};

	if (!pending)
		return 0;
	if (work >= pending->request && work - pending->request < UV_FS_T_MAX_SIZE &&
	    bpf_map_update_elem(&async_requests, &key, pending, BPF_ANY))
		count_event(EVENT_ASYNC_REQUESTS_FULL);
	bpf_map_delete_elem(&pending_submissions, &tid);
	return 0;
}

/* Entry of uv__fs_work(w) on a pool thread: the request it now works on. */
SEC("uprobe")
int on_uv_fs_work(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct async_request_key key = {.tgid = pid_tgid >> 32, .work = FUNCTION_ARG1(ctx)};
	struct async_submission *submitted = bpf_map_lookup_elem(&async_requests, &key);

	if (!submitted) {
		bpf_map_delete_elem(&current_requests, &tid);
		return 0;
	}
	bpf_map_update_elem(&current_requests, &tid, submitted, BPF_ANY);
	bpf_map_delete_elem(&async_requests, &key);
	return 0;
}
