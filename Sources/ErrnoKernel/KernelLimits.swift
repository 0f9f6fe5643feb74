import CErrnoBPF

/// The kernel side's limits and defaults, from bpf/errno_exporter.h — the one place they are
/// defined. The config validates against these; nothing else spells the numbers.
public enum KernelLimits {
    /// Longest path kept per series and compared by triggers, in bytes (the buffer less its NUL).
    public static let pathBytes = Int(PATH_BUFFER_LEN) - 1
    /// Longest comm, in bytes (the kernel's TASK_COMM_LEN less its NUL).
    public static let commBytes = Int(ERRNO_COMM_LEN) - 1
    /// Triggers at once: a set of them is one 64-bit word in the kernel.
    public static let maxTriggers = Int(MAX_TRIGGERS)
    /// Exact paths, and prefixes, of all triggers together (each map's capacity).
    public static let maxTriggerPaths = Int(MAX_TRIGGER_PATHS)
    /// Bytes of user stack a capture may copy, and the default.
    public static let userStackBytes = Int(USER_STACK_MIN_BYTES)...Int(USER_STACK_MAX_BYTES)
    public static let defaultUserStackBytes = Int(DEFAULT_USER_STACK_BYTES)
    /// The capture ring buffer's size when the config leaves it to the agent (at least).
    public static let defaultCaptureBufferBytes = Int(DEFAULT_CAPTURE_BUFFER_BYTES)
    /// The series the counter maps hold by default (`syscalls.max_series`, `paths.max_series`).
    public static let defaultSyscallSeries = Int(DEFAULT_SYSCALL_FAILURES_ENTRIES)
    public static let defaultPathSeries = Int(DEFAULT_PATH_FAILURES_ENTRIES)
    /// Process ids the kernel can hand out (PID_MAX_LIMIT).
    public static let pids: ClosedRange<UInt32> = 1...4_194_304

    /// Whether `comm` is one the kernel can hold: 1 to `commBytes` bytes.
    public static func isComm(_ comm: String) -> Bool { (1...commBytes).contains(comm.utf8.count) }
    /// Executable mappings a capture record holds.
    public static let captureMappings = Int(CAPTURE_MAPPINGS)
    /// Folded path series remembered so that each is counted once.
    public static let foldedPathMemory = Int(FOLDED_PATH_MEMORY)
    /// Syscall numbers the per-syscall arrays cover.
    public static let maxSyscallNumber = UInt32(MAX_SYSCALL_NR)
    /// Cgroup levels the kernel examines for cgroup filters and watches (a cgroup deeper than
    /// `maxCgroupDepth - 1` is never matched).
    public static let maxCgroupDepth = Int(MAX_CGROUP_DEPTH)
    /// Watches at once: a set of them is one 64-bit word in the kernel.
    public static let maxWatches = Int(MAX_WATCHES)
    /// Errno values the exclusion array covers.
    public static let maxErrnoValue = UInt32(MAX_ERRNO_VALUE)
}
