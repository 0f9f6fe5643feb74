import BPFKit
import CErrnoBPF

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
    public var pathCollision: UInt64 = 0
    /// Path failures whose fingerprint had no name in `path_names` (never, by construction): read
    /// by user space, not counted by the kernel.
    public var pathUnnamed: UInt64 = 0

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
        pathCollision = count(EVENT_PATH_COLLISION)
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
    /// Submitted requests no pool thread started within this long are swept (and counted).
    public static let requestExpirySeconds = 30

    public init() {}
}

/// Everything the scrape path reads from the kernel, at one time.
public struct KernelCounters: Sendable {
    /// `syscall_failures`, then `syscall_overflow`, then the path series that count their syscall's
    /// failures (`PathFailure.syscallFailure`).
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
