/// One watch as the kernel runs it: what it looks at (a process, a comm or a cgroup and its
/// descendants), whether only path syscalls, and how many events a second it may stream (its
/// summaries count every failure whatever the rate).
public struct WatchSpec: Sendable, Equatable {
    /// What a watch looks at.
    public enum Target: Sendable, Hashable {
        /// A process (its tgid).
        case pid(UInt32)
        /// Every process with this comm (at most 15 bytes, as the kernel keeps it).
        case comm(String)
        /// Every task in the cgroup v2 with this id, or in a descendant.
        case cgroup(id: UInt64)
    }

    public var target: Target
    public var pathsOnly: Bool
    /// Events a second the stream may carry (a second's worth may come at once); 0: no limit.
    public var eventsPerSecond: Int

    public init(target: Target, pathsOnly: Bool = false, eventsPerSecond: Int = 1000) {
        self.target = target
        self.pathsOnly = pathsOnly
        self.eventsPerSecond = eventsPerSecond
    }
}
