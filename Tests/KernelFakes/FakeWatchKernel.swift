import ErrnoKernel
import Synchronization

/// A `WatchAccess` without a kernel: slots handed out in order, readings set by the test, starts
/// and ends recorded. Lets the watch registry and routes run in-process, without root.
public final class FakeWatchKernel: WatchAccess {
    private struct State {
        var running: [UInt32: WatchSpec] = [:]
        var readings: [UInt32: WatchReading] = [:]
        var nextSlot: UInt32 = 0
        var ended: [UInt32] = []
        var retired: [UInt32] = []
    }

    private let state = Mutex(State())

    public init(refusal: String? = nil) {
        self.refusal = refusal
    }

    /// The running watches by slot.
    public var running: [UInt32: WatchSpec] { state.withLock { $0.running } }
    /// Slots ended, in order.
    public var ended: [UInt32] { state.withLock { $0.ended } }

    /// Sets what `readWatch` returns for `slot`.
    public func setReading(_ reading: WatchReading, slot: UInt32) { state.withLock { $0.readings[slot] = reading } }

    /// When set, `startWatch` refuses every watch with it, as a kernel lacking a feature does.
    public let refusal: String?

    public func startWatch(_ spec: WatchSpec) throws -> UInt32 {
        if let refusal { throw StartupError(refusal) }
        return state.withLock { state in
            let slot = state.nextSlot
            state.nextSlot += 1
            state.running[slot] = spec
            return slot
        }
    }

    /// Slots retired, in order.
    public var retired: [UInt32] { state.withLock { $0.retired } }

    public func retireWatch(_ slot: UInt32) throws { state.withLock { $0.retired.append(slot) } }

    public func endWatch(_ slot: UInt32) throws {
        state.withLock { state in
            state.running[slot] = nil
            state.readings[slot] = nil
            state.ended.append(slot)
        }
    }

    public func readWatch(_ slot: UInt32, summaries: Bool) throws -> WatchReading {
        try state.withLock { state in
            guard state.running[slot] != nil else { throw StartupError("no watch in slot \(slot)") }
            var reading = state.readings[slot] ?? WatchReading()
            if !summaries {
                reading.syscalls = []
                reading.paths = []
            }
            return reading
        }
    }
}
