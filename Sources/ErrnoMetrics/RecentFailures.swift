import ErrnoKernel
import KernelNames
import Synchronization
import SystemSupport

/// What fails now, for the landing page: the top failing (syscall, errno, comm) and the top failing
/// paths as rates over about the last minute, from the kernel's own counters — no Prometheus
/// needed. A baseline is read when the agent starts; after that counters are read only while
/// someone looks (at most every `minimumInterval`), and once nobody has looked for `idle` only the
/// newest snapshot is kept (the next look's baseline).
public final class RecentFailures: Sendable {
    /// One failing series and its rate.
    public struct Row: Sendable, Equatable {
        public var syscall: String
        public var errno: String
        public var comm: String
        /// Label-encoded as in the metrics; nil in the syscall table.
        public var path: String?
        /// Failures in the window, and per second.
        public var count: UInt64
        public var perSecond: Double

        public init(syscall: String, errno: String, comm: String, path: String? = nil, count: UInt64, perSecond: Double) {
            self.syscall = syscall
            self.errno = errno
            self.comm = comm
            self.path = path
            self.count = count
            self.perSecond = perSecond
        }
    }

    /// The top rows over a window (0 seconds: the first look, nothing to compare with yet).
    public struct Report: Sendable, Equatable {
        public var windowSeconds: Double
        public var syscalls: [Row]
        public var paths: [Row]
    }

    struct Key: Hashable {
        var syscall: String
        var errno: String
        var comm: String
        var path: String?
    }

    struct Snapshot {
        var taken: UInt64
        var counts: [Key: UInt64]
    }

    struct State {
        var snapshots: [Snapshot] = []
        var lastLook: UInt64 = 0
        /// A read is under way: others answer from the snapshots at hand (one read at a time).
        var reading = false
    }

    /// Snapshots kept at most (a window's worth at the minimum interval, and the baseline).
    static let maxSnapshots = 16

    private let kernel: any KernelAccess
    private let syscalls: SyscallNames
    private let state = Mutex(State())
    let minimumInterval: UInt64
    let window: UInt64
    let idle: UInt64

    public init(
        kernel: any KernelAccess, syscalls: SyscallNames = SyscallNames(), minimumInterval: Duration = .seconds(5), window: Duration = .seconds(60),
        idle: Duration = .seconds(300)
    ) {
        self.kernel = kernel
        self.syscalls = syscalls
        self.minimumInterval = Self.nanoseconds(minimumInterval)
        self.window = Self.nanoseconds(window)
        self.idle = Self.nanoseconds(idle)
    }

    /// The `limit` fastest-failing series of each table (only `comm`'s when given), reading the
    /// counters when the last read is older than `minimumInterval`.
    public func report(limit: Int, comm: String? = nil, now: UInt64 = MonotonicClock.nanoseconds()) throws -> Report {
        let due = state.withLock { state in
            state.lastLook = now
            let due = !state.reading && (state.snapshots.count < 2 || now &- state.snapshots[state.snapshots.count - 1].taken >= minimumInterval)
            if due { state.reading = true }
            return due
        }
        if due {
            let counters: KernelCounters
            do {
                counters = try kernel.readCounters()
            } catch {
                state.withLock { $0.reading = false }
                throw error
            }
            let counts = counts(counters)
            state.withLock { state in
                state.reading = false
                state.snapshots.append(Snapshot(taken: now, counts: counts))
                state.snapshots.sort { $0.taken < $1.taken }
                // Keep the newest snapshot at least a window old (the baseline) and everything after it.
                if let baseline = state.snapshots.lastIndex(where: { now &- $0.taken >= window }) {
                    state.snapshots.removeFirst(baseline)
                }
                if state.snapshots.count > Self.maxSnapshots {
                    // Thin the middle: the baseline and the newest are what the rates need.
                    state.snapshots.remove(at: 1)
                }
            }
        }
        let (first, last) = state.withLock { ($0.snapshots.first, $0.snapshots.last) }
        guard let first, let last, last.taken > first.taken else { return Report(windowSeconds: 0, syscalls: [], paths: []) }
        let seconds = Double(last.taken - first.taken) / 1e9
        var rows: [Row] = []
        for (key, count) in last.counts where comm == nil || key.comm == comm {
            let before = first.counts[key] ?? 0
            guard count > before else { continue }
            rows.append(Row(syscall: key.syscall, errno: key.errno, comm: key.comm, path: key.path, count: count - before, perSecond: Double(count - before) / seconds))
        }
        rows.sort { ($1.count, $0.syscall, $0.errno, $0.comm, $0.path ?? "") < ($0.count, $1.syscall, $1.errno, $1.comm, $1.path ?? "") }
        return Report(
            windowSeconds: seconds, syscalls: Array(rows.filter { $0.path == nil }.prefix(limit)), paths: Array(rows.filter { $0.path != nil }.prefix(limit)))
    }

    /// Reads the counters once as the baseline of the first look (at start; a failed read leaves none).
    public func takeBaseline(now: UInt64 = MonotonicClock.nanoseconds()) {
        guard let counters = try? kernel.readCounters() else { return }
        let counts = counts(counters)
        state.withLock { $0.snapshots = [Snapshot(taken: now, counts: counts)] }
    }

    /// Keeps only the newest snapshot when nobody has looked for `idle`.
    public func forgetIfIdle(now: UInt64 = MonotonicClock.nanoseconds()) {
        state.withLock { state in
            if now &- state.lastLook >= idle, state.snapshots.count > 1 { state.snapshots.removeFirst(state.snapshots.count - 1) }
        }
    }

    /// The snapshots held (for tests).
    var snapshotCount: Int { state.withLock { $0.snapshots.count } }

    /// The counters by (syscall, errno, comm) — summed over the opt-in pid and cgroup labels — and by
    /// (syscall, errno, comm, path).
    func counts(_ counters: KernelCounters) -> [Key: UInt64] {
        var counts: [Key: UInt64] = [:]
        for failure in counters.syscallFailures {
            let key = Key(
                syscall: syscalls.name(failure.syscallNumber), errno: ErrnoNames.name(failure.errno),
                comm: failure.comm.map { LabelValue.encode($0) } ?? LabelValue.other)
            counts[key, default: 0] &+= failure.count
        }
        for entry in counters.pathFailures {
            let failure = entry.failure
            let key = Key(
                syscall: syscalls.name(failure.syscallNumber), errno: ErrnoNames.name(failure.errno),
                comm: failure.comm.map { LabelValue.encode($0) } ?? LabelValue.other, path: entry.path.map(PathLabel.value) ?? LabelValue.other)
            counts[key, default: 0] &+= entry.count
        }
        return counts
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(duration.components.seconds, 0)) * 1_000_000_000 + UInt64(max(duration.components.attoseconds, 0) / 1_000_000_000)
    }
}
