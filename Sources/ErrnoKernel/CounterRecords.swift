import BPFKit
import CErrnoBPF
import KernelNames

/// One entry of `syscall_failures` (or, with `isOverflow`, of `syscall_overflow`, whose key keeps
/// only syscall and errno): a count summed over CPUs, decoded from the kernel's key on demand.
public struct SyscallFailure: Sendable {
    /// The key as the kernel holds it: the identity of the entry across scrapes.
    public let rawKey: [UInt8]
    public let count: UInt64
    /// Set for entries of the overflow map (comm="<other>").
    public let isOverflow: Bool

    init(_ entry: CounterEntry, overflow: Bool) {
        rawKey = entry.key
        count = entry.value
        isOverflow = overflow
    }

    /// For tests and other producers of counts.
    public init(syscall: UInt32, errno: UInt32, comm: String, pid: UInt32 = 0, cgroupID: UInt64 = 0, count: UInt64) {
        var key = syscall_failure_key()
        key.syscall_nr = syscall
        key.err = errno
        key.comm_words = KernelSettings.commWords(comm)
        key.tgid = pid
        key.cgroup_id = cgroupID
        rawKey = withUnsafeBytes(of: key) { Array($0) }
        self.count = count
        isOverflow = false
    }

    private var key: syscall_failure_key {
        var key = syscall_failure_key()
        withUnsafeMutableBytes(of: &key) { $0.copyBytes(from: rawKey.prefix($0.count)) }
        return key
    }

    public var syscallNumber: UInt32 { key.syscall_nr }
    public var errno: UInt32 { key.err }
    /// The comm's bytes up to its NUL; nil for an overflow entry.
    public var comm: [UInt8]? { isOverflow ? nil : withUnsafeBytes(of: key.comm) { Array($0.prefix { $0 != 0 }) } }
    /// The process, when the pid label was on as it was counted; else 0.
    public var pid: UInt32 { isOverflow ? 0 : key.tgid }
    /// The cgroup v2 id, when the cgroup label was on as it was counted; else 0.
    public var cgroupID: UInt64 { isOverflow ? 0 : key.cgroup_id }
}

/// One entry of `path_failures` (or, with `isOverflow`, of `path_overflow`: path="<other>").
public struct PathFailure: Sendable {
    public let rawKey: [UInt8]
    public let count: UInt64
    public let isOverflow: Bool

    init(_ entry: CounterEntry, overflow: Bool) {
        rawKey = entry.key
        count = entry.value
        isOverflow = overflow
    }

    /// For tests and other producers of counts.
    public init(syscall: UInt32, errno: UInt32, comm: String, path: [UInt8], truncated: Bool = false, count: UInt64) {
        var key = path_failure_key()
        key.failure.syscall_nr = syscall
        key.failure.err = errno
        key.failure.comm_words = KernelSettings.commWords(comm)
        key.flags = truncated ? PATH_TRUNCATED.rawValue : 0
        withUnsafeMutableBytes(of: &key.path) { $0.copyBytes(from: path.prefix(KernelLimits.pathBytes)) }
        rawKey = withUnsafeBytes(of: key) { Array($0) }
        self.count = count
        isOverflow = false
    }

    /// The (syscall, errno, comm, pid, cgroup) part of the key.
    public var failure: SyscallFailure {
        SyscallFailure(CounterEntry(key: Array(rawKey.prefix(MemoryLayout<syscall_failure_key>.size)), value: count), overflow: false)
    }

    /// The path as read; nil for an overflow entry (path="<other>").
    public var path: PathReading? {
        guard !isOverflow else { return nil }
        let flagsOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.flags)!
        let pathOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.path)!
        let flags = rawKey.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: flagsOffset, as: UInt32.self) }
        return PathReading(flags: flags, buffer: rawKey[pathOffset...])
    }
}

extension PathReading {
    /// A path as the kernel's path buffer and `enum path_flags` hold it.
    init<Buffer: Collection>(flags: UInt32, buffer: Buffer) where Buffer.Element == UInt8 {
        if flags & PATH_NULL.rawValue != 0 {
            self = .null
        } else if flags & PATH_UNREADABLE.rawValue != 0 {
            self = .unreadable
        } else {
            self = .bytes(Array(buffer.prefix { $0 != 0 }), truncated: flags & PATH_TRUNCATED.rawValue != 0)
        }
    }
}

/// `event_counts`: what was folded, lost, truncated or unreadable, by the kernel's reason.
public struct EventCounts: Sendable, Equatable {
    public var mapFull: UInt64 = 0
    public var overflowFull: UInt64 = 0
    public var pathMapFull: UInt64 = 0
    public var pathOverflowFull: UInt64 = 0
    public var pathTruncated: UInt64 = 0
    public var pathUnreadable: UInt64 = 0
    public var pathSeriesFolded: UInt64 = 0
    public var ringBufferFull: UInt64 = 0
    public var asyncRequestsFull: UInt64 = 0

    public init() {}

    init(_ entries: [CounterEntry]) {
        var byIndex: [UInt32: UInt64] = [:]
        for entry in entries { byIndex[entry.key(as: UInt32.self)] = entry.value }
        func count(_ counter: event_counter) -> UInt64 { byIndex[counter.rawValue] ?? 0 }
        mapFull = count(EVENT_MAP_FULL)
        overflowFull = count(EVENT_OVERFLOW_FULL)
        pathMapFull = count(EVENT_PATH_MAP_FULL)
        pathOverflowFull = count(EVENT_PATH_OVERFLOW_FULL)
        pathTruncated = count(EVENT_PATH_TRUNCATED)
        pathUnreadable = count(EVENT_PATH_UNREADABLE)
        pathSeriesFolded = count(EVENT_PATH_SERIES_FOLDED)
        ringBufferFull = count(EVENT_RING_BUFFER_FULL)
        asyncRequestsFull = count(EVENT_ASYNC_REQUESTS_FULL)
    }
}

/// A trigger's counters in the kernel.
public struct TriggerCounts: Sendable, Equatable {
    public var matches: UInt64 = 0
    public var captures: UInt64 = 0
    public var rateLimited: UInt64 = 0
    public var ringBufferFull: UInt64 = 0

    public init(matches: UInt64 = 0, captures: UInt64 = 0, rateLimited: UInt64 = 0, ringBufferFull: UInt64 = 0) {
        self.matches = matches
        self.captures = captures
        self.rateLimited = rateLimited
        self.ringBufferFull = ringBufferFull
    }
}

/// How full one BPF hash map is.
public struct MapUsage: Sendable, Equatable {
    public var name: String
    public var entries: Int
    public var maxEntries: Int

    public init(name: String, entries: Int, maxEntries: Int) {
        self.name = name
        self.entries = entries
        self.maxEntries = maxEntries
    }
}

/// The async-stack uprobes' state: attached uprobes, swept requests, binaries skipped by reason.
public struct AsyncProbeStats: Sendable, Equatable {
    public var uprobes = 0
    public var expiredRequests: UInt64 = 0
    public var skipped: [String: UInt64] = [:]

    public init() {}
}

/// Everything the scrape path reads from the kernel, at one time.
public struct KernelCounters: Sendable {
    /// `syscall_failures`, then `syscall_overflow`.
    public var syscallFailures: [SyscallFailure] = []
    /// `path_failures`, then `path_overflow`.
    public var pathFailures: [PathFailure] = []
    public var events = EventCounts()
    /// Times the kernel skipped the program because it was already running on that CPU.
    public var programRecursionMisses: UInt64 = 0
    /// Per trigger in force, by name.
    public var triggers: [String: TriggerCounts] = [:]
    public var maps: [MapUsage] = []
    public var asyncProbes = AsyncProbeStats()

    public init() {}
}
