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
#define MAX_TRIGGERS 64       /* trigger ids 0..63: a set of triggers is one __u64 */
#define KERNEL_STACK_DEPTH 64 /* kernel frames kept per capture */
#define USER_STACK_MIN_BYTES 1024     /* smallest configurable user stack copy */
#define USER_STACK_MAX_BYTES 65536    /* largest configurable user stack copy */
#define DEFAULT_USER_STACK_BYTES 32768 /* bytes copied from the user stack pointer upward */
#define CAPTURE_REGISTERS 33  /* user registers kept per capture, in DWARF numbering */
#define CAPTURE_MAPPINGS 32   /* executable file mappings kept per capture */
#define MAPPING_PATH_LEN 256

/* Key of the `syscall_failures` hash, whose value is the key's slot (a __u64) in the
 * `syscall_counts` per-CPU array of counts: a key gets its slot on its first failure and keeps it.
 * Also the key of `path_overflow`, where a path failure goes that gets no series of its own
 * (path="<other>": no slot left in `path_failures`, or a collision). */
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

/* The value of `syscall_slot_cache`, a per-CPU array of one: the last key counted on this CPU and its
 * slot. A failure with the same key (a retry loop, a search along a path list) adds to the slot
 * without hashing its key: most failures come in such runs. */
struct syscall_slot_cache {
	struct syscall_failure_key key;
	__u64 slot;
	__u64 valid; /* 0 until the first failure on this CPU */
};

/* Key of the `syscall_overflow` per-CPU hash: where a failure goes when `syscall_failures` is full.
 * Exported with comm="<other>". */
struct syscall_overflow_key {
	__u32 syscall_nr;
	__u32 err;
};

/* What a path_reading's path is, besides bytes. */
enum path_flags {
	PATH_TRUNCATED = 1,  /* longer than PATH_BUFFER_LEN - 1 bytes: `path` holds the start */
	PATH_UNREADABLE = 2, /* the pointer could not be read (e.g. EFAULT): `path` is empty */
	PATH_NULL = 4,       /* the syscall got a NULL path (utimensat(fd, NULL, …)) */
	/* The series counts its failures for the syscall counter too: they are not in syscall_failures,
	 * and user space adds them to the syscall series (syscall, errno, comm), with the key's pid
	 * (PATH_SYSCALL_PID) and cgroup (PATH_SYSCALL_CGROUP) when the syscall counter shows those. A
	 * failing path syscall then updates one counter, not two. Set when the path labels include the
	 * syscall counter's opt-in labels; a failure folded into path="<other>" is counted in
	 * syscall_failures as well. */
	PATH_COUNTS_SYSCALL = 8,
	PATH_SYSCALL_PID = 16,
	PATH_SYSCALL_CGROUP = 32,
};

/* A path series: (syscall, errno, comm, opt-in labels, path flags) and the path, by the path's
 * fingerprint (errno_path_fingerprint; that of an all-zero buffer for a NULL or unreadable path).
 * `path_names` is keyed by the 64-bit fingerprint of this whole key (errno_series_fingerprint), so
 * that a failure hashes 8 bytes, not 56 or the 256-byte path; it keeps each series' key, path and
 * slot (a struct path_reading), and both are compared on every count: a series whose fingerprint
 * names another series is a collision, folded into path_overflow and counted
 * (EVENT_PATH_COLLISION), never merged into the other's count. The counts are per slot and CPU in
 * the `path_failures` per-CPU array; `path_slot_series` gives each slot handed out its series
 * fingerprint, written before the series is named, for user space. */
struct path_failure_key {
	struct syscall_failure_key failure;
	__u32 flags; /* enum path_flags */
	__u32 reserved;
	__u64 fingerprint;
};

/* A path syscall's failure as the program reads it, in a per-CPU scratch value: the series key,
 * then the path (NUL-padded: the trigger trie and the watches hash all of it). {prefix_bits, path}
 * is looked up in place as a trigger_prefix_key. Also the value of `path_names` (series fingerprint
 * → its series, prefix_bits 0): written once (BPF_NOEXIST) by the series' first failure, before its
 * counter; never changed or removed. */
struct path_reading {
	struct path_failure_key key;
	__u32 slot; /* in path_names: the series' slot in path_failures; 0 in a reading */
	__u32 prefix_bits;
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
	EVENT_RING_BUFFER_FULL = 7,   /* a capture found no room in the `captures` ring buffer */
	EVENT_ASYNC_REQUESTS_FULL = 8, /* an async fs request found `async_requests` full: not linked */
	EVENT_PATH_COLLISION = 9,     /* a path whose fingerprint names another path: counted in path_overflow */
	EVENT_COUNTER_COUNT = 10,
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

/* Which kinds of trigger paths exist, so that failing opens skip lookups nobody configured. */
enum trigger_lookup_flags {
	TRIGGERS_EXACT = 1,  /* trigger_exact_paths holds entries */
	TRIGGERS_PREFIX = 2, /* trigger_path_prefixes holds entries */
	TRIGGERS_ASYNC = 4,  /* some trigger links pool-thread syscalls to their submitters (uprobes attached) */
};

/* What the running kernel offers, set by user space before load (the `kernel_features` global):
 * the verifier prunes the code behind a missing feature, so the helpers it calls are never
 * checked on a kernel that lacks them. */
enum kernel_feature_flags {
	FEATURE_TASK_BTF = 1,        /* bpf_get_current_task_btf (5.11): comm read with two loads */
	FEATURE_ANCESTOR_CGROUP = 2, /* bpf_get_current_ancestor_cgroup_id (5.7): cgroup filters */
	FEATURE_CAPTURES = 4,        /* ring buffers (5.8), bpf_get_task_stack (5.9), bpf_task_pt_regs (5.15) */
	FEATURE_ALL = 7,
};

/* The single entry of the `settings` array. */
struct agent_settings {
	__u32 filters;  /* enum filter_flags */
	__u32 labels;   /* enum label_flags */
	__u32 triggers; /* enum trigger_lookup_flags */
	__u32 reserved;
};

/* ---- Stack-capture triggers ------------------------------------------------------------------ */

/* What a trigger wants; one `trigger_settings` entry per trigger id. */
enum trigger_flags {
	TRIGGER_ON_FAILURE = 1,   /* result: failure or any */
	TRIGGER_ON_SUCCESS = 2,   /* result: success or any */
	TRIGGER_USER_STACK = 4,   /* stacks: user — registers and a copy of the user stack */
	TRIGGER_KERNEL_STACK = 8, /* stacks: kernel */
	TRIGGER_COMM = 16,        /* only the comm in `comm_words` */
	TRIGGER_ASYNC_STACKS = 32, /* async_stacks: capture the submitting thread's stack of libuv fs requests */
	TRIGGER_PREADMITTED = 64,  /* evaluate_trigger: the submission already took the rate limiter's token */
};

/* Entry of the `trigger_settings` array, written by user space (the kernel never writes it). */
struct trigger_settings {
	__u64 comm_words[2];       /* NUL-padded comm, when TRIGGER_COMM */
	__u32 flags;               /* enum trigger_flags; 0: no trigger with this id */
	__u32 reserved;
	__u64 armed_until_ns;      /* CLOCK_MONOTONIC deadline: ~0 always armed, 0 disarmed */
	__u64 capture_interval_ns; /* rate limit: 60 s / max_per_minute; 0 means no limit */
	__u64 burst_ns;            /* (max_per_minute - 1) * capture_interval_ns: a full minute's burst */
	/* An alert that armed the trigger may narrow what it captures (its comm and pid labels). */
	__u64 armed_comm_words[2]; /* 0: any comm */
	__u32 armed_pid;           /* 0: any process */
	__u32 reserved2;
};

/* Value of `trigger_path_prefixes`: the set of triggers (bit = id) the path matches. A prefix entry's
 * set includes the triggers of its shorter prefixes, since the trie answers only with the longest match. */
struct trigger_set {
	__u64 ids;
};

/* Value of `trigger_exact_paths`, keyed by the path's fingerprint (path_fingerprint below): hashing
 * 8 bytes instead of the whole 256-byte buffer. The path itself is compared on a hit, so a
 * fingerprint collision can never match the wrong path. */
struct trigger_exact_entry {
	__u64 ids;
	char path[PATH_BUFFER_LEN]; /* NUL-padded */
};

/* The fingerprint of a NUL-padded path buffer (PATH_BUFFER_LEN bytes, 8-byte aligned): its
 * little-endian 64-bit words up to and including the first one holding a NUL byte, each mixed in as
 * h = (h ^ word) * FINGERPRINT_PRIME, h ^= h >> 29, from `seed`. The one implementation: the BPF
 * program and user space (through CErrnoBPF) both call this function. Every step can be undone, so
 * with a known seed anyone could make a path with another's fingerprint in a few hundred tries: the
 * seed is random per load (the program's `fingerprint_seed`), readable by root only. */
#define FINGERPRINT_PRIME 0x100000001b3ULL
#define HAS_ZERO_BYTE(word) (((word) - 0x0101010101010101ULL) & ~(word) & 0x8080808080808080ULL)

/* One word mixed into a fingerprint. */
static inline __attribute__((always_inline)) __u64 errno_fingerprint_step(__u64 hash, __u64 word)
{
	hash = (hash ^ word) * FINGERPRINT_PRIME;
	return hash ^ (hash >> 29);
}

static inline __attribute__((always_inline)) __u64 errno_path_fingerprint(const __u64 *words, __u64 seed)
{
	__u64 hash = seed;

	for (int i = 0; i < PATH_BUFFER_LEN / 8; i++) {
		__u64 word = words[i];

		hash = errno_fingerprint_step(hash, word);
		if (HAS_ZERO_BYTE(word))
			break;
	}
	return hash;
}

/* The fingerprint of a path series (the key of `path_names`): the words of its
 * struct path_failure_key mixed in the same way from `seed`. The path enters through the key's path
 * fingerprint, so two paths with one fingerprint and otherwise equal keys share a series
 * fingerprint: `path_names` tells them apart. */
static inline __attribute__((always_inline)) __u64 errno_series_fingerprint(const struct path_failure_key *key, __u64 seed)
{
	const __u64 *words = (const __u64 *)key;
	__u64 hash = seed;

	for (int i = 0; i < (int)(sizeof(*key) / 8); i++)
		hash = errno_fingerprint_step(hash, words[i]);
	return hash;
}

/* Key of the `trigger_path_prefixes` LPM trie. */
struct trigger_prefix_key {
	__u32 prefix_bits;
	char path[PATH_BUFFER_LEN];
};

/* Per-trigger counters (per-CPU array, index id * TRIGGER_COUNTER_COUNT + counter). */
enum trigger_counter {
	TRIGGER_MATCHES = 0,           /* syscalls whose path (and comm, result) matched, armed or not */
	TRIGGER_CAPTURES = 1,          /* captures sent to user space */
	TRIGGER_RATE_LIMITED = 2,      /* armed matches beyond max_per_minute */
	TRIGGER_RING_BUFFER_FULL = 3,  /* admitted captures the ring buffer had no room for */
	TRIGGER_COUNTER_COUNT = 4,
};

/* An executable file mapping of the captured process, recorded in the kernel so that a process
 * that exits before user space reads /proc/PID/maps can still be unwound and symbolized. */
struct capture_mapping {
	__u64 start;
	__u64 end;
	__u64 file_offset;
	__u64 inode;
	__u32 device;  /* the kernel's dev_t: major << 20 | minor */
	__u32 flags;   /* MAPPING_PATH_TRUNCATED */
	/* The path's components leaf first, each followed by '/' ("libc.so.6/x86_64-linux-gnu/lib/usr/"):
	 * the kernel walks from the file up; user space reverses. */
	char reversed_path[MAPPING_PATH_LEN];
};

enum capture_mapping_flags {
	MAPPING_PATH_TRUNCATED = 1,
};

/* A libuv fs request on a trigger path whose submission was captured (value of `async_requests`,
 * keyed by async_request_key, and of `current_requests`, keyed by the pool thread's tid). */
struct async_submission {
	__u64 submission_id; /* the capture_event.submission_id of the submission record */
	__u64 triggers;      /* the triggers that admitted it */
	__u64 request;       /* the uv_fs_t, to check that uv__work_submit's work item is inside it */
	__u64 path_fingerprint; /* errno_path_fingerprint of the path: a pool-thread syscall links only on its own path */
	__u64 submitted_ns;  /* CLOCK_MONOTONIC: user space sweeps requests that never ran */
};

struct async_request_key {
	__u32 tgid;
	__u32 reserved;
	__u64 work; /* the request's struct uv__work (uv__work_submit's and uv__fs_work's argument) */
};

enum capture_kind {
	CAPTURE_SYSCALL = 0,    /* a syscall that matched triggers */
	CAPTURE_SUBMISSION = 1, /* the submitting thread of an async fs request on a trigger path */
};

/* One record of the `captures` ring buffer: a syscall that matched armed triggers, with what user
 * space needs to unwind its user stack (registers, a copy of the stack's top) and its kernel stack.
 * `user_stack_bytes` of stack follow the struct; the record is sized for the configured copy. */
struct capture_event {
	__u64 timestamp_ns; /* CLOCK_MONOTONIC, at syscall exit */
	__u64 triggers;     /* ids of the triggers that captured this (a trigger_set) */
	__s64 result;       /* the syscall's return value; -errno on failure */
	__u64 cgroup_id;    /* cgroup v2 id */
	__u64 submission_id; /* CAPTURE_SUBMISSION: its id; CAPTURE_SYSCALL: the submission it belongs to, or 0 */
	__u32 kind;          /* enum capture_kind */
	__u32 reserved;
	__u32 tgid;
	__u32 tid;
	__u32 syscall_nr;
	__u32 path_flags;         /* enum path_flags */
	__u32 kernel_stack_bytes; /* bytes of kernel_stack filled (8 per frame) */
	__u32 user_stack_bytes;   /* bytes of user_stack filled, from registers[stack pointer] up */
	__u32 stacks;             /* TRIGGER_USER_STACK | TRIGGER_KERNEL_STACK: what was asked */
	__u32 mapping_count;      /* entries of `mappings` filled; CAPTURE_MAPPINGS + 1 when more existed */
	char comm[ERRNO_COMM_LEN];
	char path[PATH_BUFFER_LEN];
	__u64 registers[CAPTURE_REGISTERS]; /* x86_64: DWARF 0-16 (rax … r15, rip); arm64: x0-x30, sp, pc */
	__u64 kernel_stack[KERNEL_STACK_DEPTH];
	struct capture_mapping mappings[CAPTURE_MAPPINGS];
	__u8 user_stack[];
};

/* ---- Watches: a live investigation of one process, comm or cgroup (POST /api/v1/watches) ---------- */

#define MAX_WATCHES 64 /* watch slots 0..63: a set of watches is one __u64 */
#define WATCH_SELECTOR_ENTRIES 1024      /* pids, comms, cgroups watched (each map's size) */
#define WATCH_SUMMARY_ENTRIES 16384      /* (watch, syscall, errno) counts, all watches together */
#define WATCH_PATH_SUMMARY_ENTRIES 16384 /* (watch, syscall, errno, path) counts, all watches together */
#define WATCH_EVENT_BUFFER_BYTES 1048576 /* the `watch_events` ring buffer */

/* Which selector maps hold entries (the `watch_kinds` global): a failing syscall looks only there. */
enum watch_kind_flags {
	WATCH_BY_PID = 1,    /* watch_pids: tgid → set of watches */
	WATCH_BY_COMM = 2,   /* watch_comms: NUL-padded comm → set of watches */
	WATCH_BY_CGROUP = 4, /* watch_cgroups: cgroup v2 id → set of watches (the cgroup and its descendants) */
};

enum watch_flags {
	WATCH_ACTIVE = 1,     /* the slot holds a watch */
	WATCH_PATHS_ONLY = 2, /* only failures of path syscalls */
};

/* Entry of the `watch_settings` array, one per slot, written by user space. */
struct watch_settings {
	__u32 flags; /* enum watch_flags; 0: free slot */
	__u32 reserved;
	__u64 event_interval_ns; /* rate limit of the event stream: 1 s / events per second */
	__u64 burst_ns;          /* a second's burst: (events per second - 1) * event_interval_ns */
};

/* Key of `watch_summary` (per-CPU counts): what syscount -x -p prints, per watch. */
struct watch_summary_key {
	__u32 slot;
	__u32 syscall_nr;
	__u32 err;
	__u32 reserved;
};

/* Key of `watch_path_summary` (per-CPU counts): failing path syscalls per watch, by path. */
struct watch_path_key {
	__u32 slot;
	__u32 syscall_nr;
	__u32 err;
	__u32 flags; /* enum path_flags */
	char path[PATH_BUFFER_LEN]; /* NUL-padded: the whole key is hashed */
};

/* Per-watch counters (per-CPU array, index slot * WATCH_COUNTER_COUNT + counter). */
enum watch_counter {
	WATCH_FAILURES = 0,         /* failures the watch saw (every one is in its summary, or in WATCH_SUMMARY_FULL) */
	WATCH_EVENTS = 1,           /* events sent to the stream */
	WATCH_RATE_LIMITED = 2,     /* failures beyond the stream's rate: in the summary, not streamed */
	WATCH_RING_BUFFER_FULL = 3, /* failures the ring buffer had no room for: in the summary, not streamed */
	WATCH_SUMMARY_FULL = 4,     /* summary entries that found their map full (syscall or path table) */
	WATCH_COUNTER_COUNT = 5,
};

/* One record of the `watch_events` ring buffer: a failure some watches streamed. */
struct watch_event {
	__u64 timestamp_ns; /* CLOCK_MONOTONIC, at syscall exit */
	__u64 watches;      /* the watches that streamed it (a set of slots) */
	__u32 tgid;
	__u32 tid;
	__u32 syscall_nr;
	__u32 err;        /* positive errno */
	__u32 has_path;   /* 1 for a path syscall: `path` and `path_flags` hold its path */
	__u32 path_flags; /* enum path_flags */
	char comm[ERRNO_COMM_LEN];
	char path[PATH_BUFFER_LEN];
};

/* Default map sizes; user space overrides them from the config before loading. */
#define DEFAULT_SYSCALL_FAILURES_ENTRIES 10240
#define DEFAULT_SYSCALL_OVERFLOW_ENTRIES 4096
#define DEFAULT_PATH_FAILURES_ENTRIES 10000
#define DEFAULT_PATH_OVERFLOW_ENTRIES 4096
#define FOLDED_PATH_MEMORY 16384 /* folded path series remembered, to count each once */
#define MAX_TRIGGER_PATHS 65536 /* exact trigger paths, and prefixes, in all triggers (each map's size) */
/* `trigger_fingerprints`: a bitmap of the exact trigger paths' fingerprints (bit fingerprint %
 * TRIGGER_FINGERPRINT_BITS), a __u64 word per array entry. A failure whose bit is clear names no
 * exact trigger path and skips the trigger lookup: the default config's one trigger costs every
 * other failing open a bit test, not a hash lookup. */
#define TRIGGER_FINGERPRINT_BITS 65536
#define TRIGGER_FINGERPRINT_WORDS 1024
#define DEFAULT_CAPTURE_BUFFER_BYTES 1048576 /* 1 MiB: the ring is drained at once by a reader thread */

/* ---- Layouts: user space (Swift, through CErrnoBPF) and the BPF program compile this header with
 * different compilers; these sizes are checked here, and again at start against the loaded object's
 * map key and value sizes. -------------------------------------------------------------------- */
#define SIZEOF_SYSCALL_FAILURE_KEY 40
#define SIZEOF_SYSCALL_OVERFLOW_KEY 8
#define SIZEOF_SYSCALL_SLOT_CACHE 56
#define SIZEOF_PATH_FAILURE_KEY 56
#define SIZEOF_PATH_READING 320
#define SIZEOF_AGENT_SETTINGS 16
#define SIZEOF_TRIGGER_SETTINGS 72
#define SIZEOF_TRIGGER_EXACT_ENTRY 264
#define SIZEOF_TRIGGER_PREFIX_KEY 260
#define SIZEOF_CAPTURE_MAPPING 296
#define SIZEOF_ASYNC_SUBMISSION 40
#define SIZEOF_ASYNC_REQUEST_KEY 16
#define SIZEOF_CAPTURE_EVENT 10600
#define SIZEOF_WATCH_SETTINGS 24
#define SIZEOF_WATCH_SUMMARY_KEY 16
#define SIZEOF_WATCH_PATH_KEY 272
#define SIZEOF_WATCH_EVENT 312

_Static_assert(sizeof(struct syscall_failure_key) == SIZEOF_SYSCALL_FAILURE_KEY, "syscall_failure_key layout");
_Static_assert(sizeof(struct syscall_overflow_key) == SIZEOF_SYSCALL_OVERFLOW_KEY, "syscall_overflow_key layout");
_Static_assert(sizeof(struct syscall_slot_cache) == SIZEOF_SYSCALL_SLOT_CACHE, "syscall_slot_cache layout");
_Static_assert(sizeof(struct syscall_failure_key) % 8 == 0, "syscall keys are compared as whole 64-bit words");
_Static_assert(sizeof(struct path_failure_key) == SIZEOF_PATH_FAILURE_KEY, "path_failure_key layout");
_Static_assert(sizeof(struct path_reading) == SIZEOF_PATH_READING, "path_reading layout");
_Static_assert(sizeof(struct agent_settings) == SIZEOF_AGENT_SETTINGS, "agent_settings layout");
_Static_assert(sizeof(struct trigger_settings) == SIZEOF_TRIGGER_SETTINGS, "trigger_settings layout");
_Static_assert(sizeof(struct trigger_set) == 8, "trigger_set is one __u64 (a set of MAX_TRIGGERS ids)");
_Static_assert(MAX_TRIGGERS == 64, "a set of triggers is one __u64");
_Static_assert(TRIGGER_FINGERPRINT_WORDS * 64 == TRIGGER_FINGERPRINT_BITS && (TRIGGER_FINGERPRINT_BITS & (TRIGGER_FINGERPRINT_BITS - 1)) == 0,
	       "the trigger fingerprint bitmap is whole __u64 words, a power of two bits");
_Static_assert(sizeof(struct trigger_exact_entry) == SIZEOF_TRIGGER_EXACT_ENTRY, "trigger_exact_entry layout");
_Static_assert(sizeof(struct trigger_prefix_key) == SIZEOF_TRIGGER_PREFIX_KEY, "trigger_prefix_key layout");
_Static_assert(sizeof(struct capture_mapping) == SIZEOF_CAPTURE_MAPPING, "capture_mapping layout");
_Static_assert(sizeof(struct async_submission) == SIZEOF_ASYNC_SUBMISSION, "async_submission layout");
_Static_assert(sizeof(struct async_request_key) == SIZEOF_ASYNC_REQUEST_KEY, "async_request_key layout");
_Static_assert(sizeof(struct capture_event) == SIZEOF_CAPTURE_EVENT, "capture_event layout");
_Static_assert(sizeof(struct watch_settings) == SIZEOF_WATCH_SETTINGS, "watch_settings layout");
_Static_assert(sizeof(struct watch_summary_key) == SIZEOF_WATCH_SUMMARY_KEY, "watch_summary_key layout");
_Static_assert(sizeof(struct watch_path_key) == SIZEOF_WATCH_PATH_KEY, "watch_path_key layout");
_Static_assert(sizeof(struct watch_event) == SIZEOF_WATCH_EVENT, "watch_event layout");
_Static_assert(MAX_WATCHES == 64, "a set of watches is one __u64");
_Static_assert(__builtin_offsetof(struct capture_event, user_stack) == SIZEOF_CAPTURE_EVENT, "the user stack follows the record");
/* The kernel looks a path_reading's {prefix_bits, path} up as a trigger_prefix_key (no copy). */
_Static_assert(__builtin_offsetof(struct path_reading, path) - __builtin_offsetof(struct path_reading, prefix_bits) ==
		       __builtin_offsetof(struct trigger_prefix_key, path),
	       "path_reading {prefix_bits, path} aliases trigger_prefix_key");
_Static_assert(sizeof(((struct path_reading *)0)->prefix_bits) == sizeof(((struct trigger_prefix_key *)0)->prefix_bits),
	       "path_reading.prefix_bits aliases trigger_prefix_key.prefix_bits");
_Static_assert(sizeof(((struct trigger_prefix_key *)0)->path) == sizeof(((struct path_reading *)0)->path),
	       "the prefix key's path is the path buffer");
_Static_assert(__builtin_offsetof(struct path_reading, key) == 0, "a path_reading starts with its counter key");
/* Path buffers (a reading's, a name's, a trigger exact entry's) are compared word by word. */
_Static_assert(PATH_BUFFER_LEN % 8 == 0 && __builtin_offsetof(struct path_reading, path) % 8 == 0 &&
		       __builtin_offsetof(struct trigger_exact_entry, path) % 8 == 0,
	       "path buffers are whole, aligned 64-bit words");
_Static_assert(sizeof(struct path_failure_key) % 8 == 0, "a series fingerprint mixes the key's whole 64-bit words");
_Static_assert(__builtin_offsetof(struct path_failure_key, fingerprint) == sizeof(struct path_failure_key) - 8,
	       "a path's fingerprint is its key's last word: the words before it are its labels");
_Static_assert(DEFAULT_USER_STACK_BYTES >= USER_STACK_MIN_BYTES && DEFAULT_USER_STACK_BYTES <= USER_STACK_MAX_BYTES &&
		       DEFAULT_USER_STACK_BYTES % 8 == 0,
	       "the default user stack copy is a valid setting");

#endif
