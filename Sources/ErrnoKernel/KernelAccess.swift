/// What the rest of the agent asks of the kernel side: the one boundary the metrics, the captures
/// and the HTTP server go through. `KernelHandle` is the real one (the BPF program, serialized by one
/// lock); tests put a fake behind the same protocol to run collectors and routes without root.
public protocol KernelAccess: AnyObject, Sendable {
    /// Whether the programs are attached (for /-/ready).
    var isAttached: Bool { get }
    /// What the running kernel offers.
    var features: KernelFeatures { get }
    /// Writes `settings` into the running program's maps (no detach, no counter reset).
    func apply(_ settings: KernelSettings) throws
    /// Arms the `on_alert` trigger `name` for `window`; false when no such trigger is in force.
    func arm(_ name: String, _ window: ArmingWindow) throws -> Bool
    /// The counters, the self-metrics' inputs and the map pressure, read now.
    func readCounters() throws -> KernelCounters
    /// Each trigger's counters, by name.
    func readTriggerCounts() throws -> [String: TriggerCounts]
    /// The names of the triggers in a kernel trigger set (a capture record's `triggers`).
    func triggerNames(in set: UInt64) -> [String]
    /// Attaches async-stack uprobes to Node.js binaries started since the last call.
    func refreshAsyncProbes()
}

/// An alert's arming of an `on_alert` trigger as the kernel checks it: until when, and the comm and
/// pid it narrows captures to.
public struct ArmingWindow: Sendable, Equatable {
    /// CLOCK_MONOTONIC deadline (what the kernel compares with).
    public var untilMonotonicNanoseconds: UInt64
    public var comm: String?
    public var pid: UInt32?

    public init(untilMonotonicNanoseconds: UInt64, comm: String? = nil, pid: UInt32? = nil) {
        self.untilMonotonicNanoseconds = untilMonotonicNanoseconds
        self.comm = comm
        self.pid = pid
    }
}
