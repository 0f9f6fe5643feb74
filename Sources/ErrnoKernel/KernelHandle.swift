import BPFKit
import Logging
import Synchronization
import SystemSupport

/// The one handle on the kernel side: the BPF program, its maps and uprobes behind one lock. Loads,
/// attaches, applies settings, arms triggers, reads counters; the capture ring is read on a thread
/// of its own without this lock. The only file I/O under the lock is checking a newly seen Node.js
/// binary's symbols before probing it (once per binary; files opened without blocking); the /proc
/// scan that finds them runs outside it.
public final class KernelHandle: KernelAccess, @unchecked Sendable {
    private let program: Mutex<ErrnoProgram>
    /// What the kernel offers (the programs were chosen by it).
    public let features: KernelFeatures
    private let triggers: TriggerTable
    private let captureMap: BPFMap
    private let watchEventMap: BPFMap

    /// Opens the embedded object and sizes its maps; nothing is in the kernel yet.
    public init(options: KernelOptions, logger: Logger = Logger(label: "errno_exporter")) throws {
        nonisolated(unsafe) let program = try ErrnoProgram(options: options, logger: logger)
        triggers = program.triggers
        features = options.features
        captureMap = program.captures  // read by the ring buffers only, never under the lock
        watchEventMap = program.watchEvents
        self.program = Mutex(program)
    }

    /// Verifies the programs and creates the maps in the kernel.
    public func load() throws { try program.withLock { try $0.load() } }

    /// Loads (if not done yet) and attaches every program.
    public func attach() throws { try program.withLock { try $0.attach() } }

    /// Detaches every program and uprobe; maps stay readable.
    public func detach() { program.withLock { $0.detach() } }

    public var isAttached: Bool { program.withLock { $0.isAttached } }

    public func apply(_ settings: KernelSettings) throws { try program.withLock { try $0.apply(settings) } }

    public func arm(_ name: String, _ window: ArmingWindow) throws -> Bool { try program.withLock { try $0.arm(name, window) } }

    public func readCounters() throws -> KernelCounters { try program.withLock { try $0.readCounters() } }

    public func readTriggerCounts() throws -> [String: TriggerCounts] { try program.withLock { try $0.readTriggerCounts() } }

    public func triggerNames(in set: UInt64) -> [String] { triggers.names(in: set) }

    /// Scans /proc for new Node.js binaries without the lock (scrapes never wait on it), then
    /// attaches under it.
    public func refreshAsyncProbes() {
        guard case let .some(comms) = program.withLock({ $0.asyncProbeScope }) else { return }
        let candidates = AsyncStackProbes.candidates(comms: comms)
        program.withLock { $0.refreshAsyncProbes(candidates) }
    }

    /// The capture ring buffer, for the consumer's thread: `handler` gets each record, decoded (nil
    /// for a malformed one).
    public func captureRing(_ handler: @escaping (CaptureRecord?) -> Void) throws -> RecordRing {
        let clockOffset = MonotonicClock.realtimeOffset()
        return RecordRing(ring: try RingBuffer(map: captureMap) { record in handler(CaptureRecord(record, clockOffset: clockOffset)) })
    }

    /// The watch events' ring buffer, for the watch pump's thread: `handler` gets each record,
    /// decoded (nil for a malformed one).
    public func watchEventRing(_ handler: @escaping (WatchEventRecord?) -> Void) throws -> RecordRing {
        let clockOffset = MonotonicClock.realtimeOffset()
        return RecordRing(ring: try RingBuffer(map: watchEventMap) { record in handler(WatchEventRecord(record, clockOffset: clockOffset)) })
    }
}

extension KernelHandle: WatchAccess {
    public func startWatch(_ spec: WatchSpec) throws -> UInt32 { try program.withLock { try $0.watches.start(spec) } }

    public func retireWatch(_ slot: UInt32) throws { try program.withLock { try $0.watches.retire(slot) } }

    public func endWatch(_ slot: UInt32) throws { try program.withLock { try $0.watches.end(slot) } }

    public func readWatch(_ slot: UInt32, summaries: Bool) throws -> WatchReading {
        try program.withLock { try $0.watches.read(slot, summaries: summaries) }
    }
}
