import Foundation
import Synchronization

/// An alert's arming of an `on_alert` trigger: until when, by which alert, narrowed to what.
public struct Arming: Sendable, Equatable {
    /// The deadline on CLOCK_MONOTONIC (what the kernel compares with).
    public var untilMonotonicNanoseconds: UInt64
    /// The same deadline on the wall clock, for people.
    public var until: Date
    /// The alert's `alertname` and fingerprint.
    public var alert: String
    public var fingerprint: String?
    /// The alert's `comm` and `pid` labels, when it had them: only those are captured.
    public var comm: String?
    public var pid: UInt32?

    public init(untilMonotonicNanoseconds: UInt64, until: Date, alert: String, fingerprint: String?, comm: String?, pid: UInt32?) {
        self.untilMonotonicNanoseconds = untilMonotonicNanoseconds
        self.until = until
        self.alert = alert
        self.fingerprint = fingerprint
        self.comm = comm
        self.pid = pid
    }
}

/// The triggers in force, by kernel id, and the alerts' armings: read by the capture consumer (to
/// name a capture's triggers), the API and the metrics, written by `ErrnoProgram`.
public final class TriggerDirectory: Sendable {
    private struct State {
        var byID: [UInt32: TriggerPlan.Entry] = [:]
        var armings: [String: Arming] = [:]
        var notifications: [String: UInt64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var entries: [UInt32: TriggerPlan.Entry] { state.withLock { $0.byID } }

    /// Replaces the triggers; armings and notification counts of removed triggers go with them.
    func replace(_ entries: [UInt32: TriggerPlan.Entry]) {
        state.withLock { state in
            state.byID = entries
            let names = Set(entries.values.map(\.name))
            state.armings = state.armings.filter { names.contains($0.key) }
            state.notifications = state.notifications.filter { names.contains($0.key) }
        }
    }

    /// The names of the triggers in a kernel trigger set, by id.
    public func names(in set: UInt64) -> [String] {
        state.withLock { state in
            (0..<UInt32(64)).filter { set >> UInt64($0) & 1 == 1 }.compactMap { state.byID[$0]?.name }
        }
    }

    public func arming(_ name: String) -> Arming? { state.withLock { $0.armings[name] } }

    func record(_ arming: Arming, for name: String) {
        state.withLock { state in
            state.armings[name] = arming
            state.notifications[name, default: 0] += 1
        }
    }

    /// Firing alert notifications that named the trigger.
    public func notifications(_ name: String) -> UInt64 { state.withLock { $0.notifications[name] ?? 0 } }
}
