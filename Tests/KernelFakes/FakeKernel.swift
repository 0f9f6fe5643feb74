import ErrnoKernel
import Synchronization

/// A `KernelAccess` without a kernel: counters and trigger counts set by the test, settings and
/// armings recorded. Lets collectors, the capture path's arming and the HTTP routes run in-process,
/// without root.
public final class FakeKernel: KernelAccess {
    private struct State {
        var attached = true
        var counters = KernelCounters()
        var applied: [KernelSettings] = []
        var windows: [String: ArmingWindow] = [:]
        var triggerNames: [String] = []
    }

    private let state = Mutex(State())
    public let features: KernelFeatures

    public init(features: KernelFeatures = KernelFeatures()) {
        self.features = features
    }

    /// Sets what `readCounters()` returns next.
    public func setCounters(_ counters: KernelCounters) { state.withLock { $0.counters = counters } }

    public func setAttached(_ attached: Bool) { state.withLock { $0.attached = attached } }

    /// Every settings value applied, in order.
    public var applied: [KernelSettings] { state.withLock { $0.applied } }

    /// The arming window each trigger got last.
    public var windows: [String: ArmingWindow] { state.withLock { $0.windows } }

    public var isAttached: Bool { state.withLock { $0.attached } }

    public func apply(_ settings: KernelSettings) throws {
        state.withLock { state in
            state.applied.append(settings)
            state.triggerNames = settings.triggers.entries.map(\.name)
        }
    }

    public func arm(_ name: String, _ window: ArmingWindow) throws -> Bool {
        state.withLock { state in
            guard state.triggerNames.contains(name) else { return false }
            state.windows[name] = window
            return true
        }
    }

    public func readCounters() throws -> KernelCounters { state.withLock { $0.counters } }

    public func readTriggerCounts() throws -> [String: TriggerCounts] { state.withLock { $0.counters.triggers } }

    /// Bit `i` of `set` names the `i`-th trigger applied last.
    public func triggerNames(in set: UInt64) -> [String] {
        state.withLock { state in state.triggerNames.enumerated().filter { set >> UInt64($0.offset) & 1 == 1 }.map(\.element) }
    }

    public func refreshAsyncProbes() {}
}
