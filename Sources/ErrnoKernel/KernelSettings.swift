import CErrnoBPF

/// What the BPF program's settings maps hold: numbers, ids, NUL-padded comms — the config, resolved
/// (names to numbers, cgroup paths to ids) before anything is applied.
public struct KernelSettings: Sendable, Equatable {
    /// Errno values not counted at all.
    public var excludedErrnos: Set<UInt32> = []
    /// Syscall number → 1-based position of its path argument.
    public var pathArguments: [UInt32: UInt32] = [:]
    /// Only these comms count (when not empty); these never do.
    public var includedComms: [String] = []
    public var excludedComms: [String] = []
    /// Only these processes count (when not empty).
    public var pids: Set<UInt32> = []
    /// Only tasks in these cgroups, or below, count (when not empty).
    public var cgroupIDs: Set<UInt64> = []
    /// Opt-in labels the kernel records in the keys.
    public var syscallPID = false
    public var syscallCgroup = false
    public var pathPID = false
    public var pathCgroup = false
    /// Stack-capture triggers.
    public var triggers = TriggerPlan([])

    public init() {}

    /// `enum filter_flags`.
    var filters: UInt32 {
        var filters: UInt32 = 0
        if !excludedErrnos.isEmpty { filters |= FILTER_ERRNOS.rawValue }
        if !includedComms.isEmpty { filters |= FILTER_COMMS_INCLUDE.rawValue }
        if !excludedComms.isEmpty { filters |= FILTER_COMMS_EXCLUDE.rawValue }
        if !pids.isEmpty { filters |= FILTER_PIDS.rawValue }
        if !cgroupIDs.isEmpty { filters |= FILTER_CGROUPS.rawValue }
        return filters
    }

    /// `enum label_flags`.
    var labels: UInt32 {
        (syscallPID ? LABEL_SYSCALL_PID.rawValue : 0) | (syscallCgroup ? LABEL_SYSCALL_CGROUP.rawValue : 0)
            | (pathPID ? LABEL_PATH_PID.rawValue : 0) | (pathCgroup ? LABEL_PATH_CGROUP.rawValue : 0)
    }

    /// `comm_filter`'s entries: comm → `enum comm_filter_value`.
    var commFilter: [String: UInt32] {
        var marks: [String: UInt32] = [:]
        for comm in includedComms { marks[comm] = COMM_INCLUDE.rawValue }
        for comm in excludedComms { marks[comm] = COMM_EXCLUDE.rawValue }
        return marks
    }

    /// A comm as the kernel stores it: 16 bytes, NUL-padded, as two words.
    static func commWords(_ comm: String) -> (UInt64, UInt64) {
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { buffer in
            for (index, byte) in comm.utf8.prefix(KernelLimits.commBytes).enumerated() { buffer[index] = byte }
        }
        return words
    }
}
