import ErrnoConfig
import ErrnoKernel
import Foundation
import Synchronization
import SystemSupport

/// The triggers in force as configured, their armings and the notifications that armed them; their
/// state with the kernel's counts (`statuses()`, the API and the page), their metrics
/// (`TriggerDirectory+Metrics.swift`) and their arming by alerts (`TriggerDirectory+Arming.swift`).
public final class TriggerDirectory: Sendable {
    private struct State {
        var configs: [Config.Trigger]
        /// By trigger: the arming in force (what the kernel has), as shown.
        var armings: [String: Arming] = [:]
        /// By trigger, then alert (its labels): each alert's own window. The kernel's window is
        /// all the open ones merged, so an alert's process stays armed until its own window ends.
        var alertWindows: [String: [String: ArmingWindow]] = [:]
        var notifications: [String: UInt64] = [:]
        /// The ephemeral ones among `configs`, by name.
        var ephemeral: [String: EphemeralTrigger] = [:]
    }

    /// Alerts whose windows are kept apart per trigger; beyond it they fold into one for any process.
    static let maxAlertWindows = 1024

    let kernel: any KernelAccess
    private let state: Mutex<State>

    /// `triggers`: the config's, already applied to `kernel`.
    public init(kernel: any KernelAccess, triggers: [Config.Trigger]) {
        self.kernel = kernel
        state = Mutex(State(configs: triggers))
    }

    /// Takes a reloaded config's triggers and the ephemeral ones (applied to the kernel already);
    /// armings and notification counts of removed triggers go with them.
    public func replace(_ triggers: [Config.Trigger], ephemeral: [EphemeralTrigger] = []) {
        state.withLock { state in
            state.configs = triggers + ephemeral.map(\.trigger)
            state.ephemeral = Dictionary(ephemeral.map { ($0.name, $0) }) { first, _ in first }
            let triggers = state.configs
            let names = Set(triggers.map(\.name))
            state.armings = state.armings.filter { names.contains($0.key) }
            state.alertWindows = state.alertWindows.filter { names.contains($0.key) }
            state.notifications = state.notifications.filter { names.contains($0.key) }
        }
    }

    /// The triggers in force, by name.
    public var configs: [String: Config.Trigger] {
        state.withLock { Dictionary($0.configs.map { ($0.name, $0) }) { first, _ in first } }
    }

    /// The config's triggers, by name: what alerts may arm (an ephemeral trigger's window is its own).
    var configuredTriggers: [String: Config.Trigger] {
        state.withLock { state in
            Dictionary(state.configs.filter { state.ephemeral[$0.name] == nil }.map { ($0.name, $0) }) { first, _ in first }
        }
    }

    public func arming(_ name: String) -> Arming? { state.withLock { $0.armings[name] } }

    /// Arms an ephemeral trigger (in force already) until it expires — for its pid only, when it
    /// has one: the kernel stops capturing at the deadline even if removing the trigger failed.
    public func armEphemeral(_ trigger: EphemeralTrigger) throws {
        let window = ArmingWindow(untilMonotonicNanoseconds: trigger.untilMonotonicNanoseconds, comm: trigger.trigger.comm, pid: trigger.request.pid)
        guard try kernel.arm(trigger.name, window) else { return }
        state.withLock { state in
            state.armings[trigger.name] = Arming(window: window, until: trigger.until, alert: "", fingerprint: nil, source: .investigation)
        }
    }

    /// Arms `name` for the alerts in `windows` (alert → its window; `arming` describes the last of
    /// them) and records it, all under the lock, so a webhook and a poll arming at once cannot undo
    /// each other. Each alert's window is extended, never shortened; the kernel gets every open
    /// alert window merged — the latest deadline, narrowed only by the comm and pid they all share —
    /// so no alert's process drops out while its own window is open. Returns the arming in force.
    func extendArming(_ name: String, _ arming: Arming, windows: [String: ArmingWindow], notification: Bool) throws -> Arming {
        try state.withLock { state in
            let now = MonotonicClock.nanoseconds()
            var open = (state.alertWindows[name] ?? [:]).filter { $0.value.untilMonotonicNanoseconds > now }
            for (alert, window) in windows {
                var kept = window
                if let earlier = open[alert] { kept.untilMonotonicNanoseconds = max(earlier.untilMonotonicNanoseconds, window.untilMonotonicNanoseconds) }
                open[alert] = kept
            }
            if open.count > Self.maxAlertWindows {
                open = ["": ArmingWindow(untilMonotonicNanoseconds: open.values.map(\.untilMonotonicNanoseconds).max() ?? now)]
            }
            var effective = arming
            if let first = open.values.first {
                effective.window = open.values.reduce(first) { $0.merged(with: $1) }
                let later = effective.window.untilMonotonicNanoseconds &- arming.window.untilMonotonicNanoseconds
                if effective.window.untilMonotonicNanoseconds > arming.window.untilMonotonicNanoseconds {
                    effective.until = arming.until.addingTimeInterval(Double(later) / 1e9)
                }
            }
            guard try kernel.arm(name, effective.window) else { throw ArmingError(description: "no trigger named \(name)") }
            state.alertWindows[name] = open
            state.armings[name] = effective
            if notification { state.notifications[name, default: 0] += 1 }
            return effective
        }
    }

    /// What the running kernel offers.
    public var kernelFeatures: KernelFeatures { kernel.features }

    /// What the running kernel takes away from the triggers in force, one sentence each.
    public var kernelWarnings: [String] {
        let features = kernel.features, triggers = configs.values
        guard !triggers.isEmpty else { return [] }
        func missing(_ feature: KernelFeatures.Feature) -> String {
            "this kernel lacks \(feature.rawValue) (\(feature.since)): \(feature.withoutIt)"
        }
        if !features.has(.captures) { return [missing(.captures)] }
        var warnings: [String] = []
        if !features.has(.vmaIterator), triggers.contains(where: { $0.stacks.contains(.user) }) { warnings.append(missing(.vmaIterator)) }
        if !features.supportsAsyncStacks, triggers.contains(where: \.asyncStacks) { warnings.append(missing(.uprobeCookies)) }
        return warnings
    }

    /// Every trigger in force with its arming and the kernel's counts, by name.
    public func statuses() throws -> [TriggerStatus] {
        let counts = try kernel.readTriggerCounts()
        let now = MonotonicClock.nanoseconds()
        return state.withLock { state in
            state.configs.sorted { $0.name < $1.name }.map { trigger in
                let arming = state.armings[trigger.name]
                return TriggerStatus(
                    config: trigger, arming: arming,
                    armed: trigger.armed == .always || (arming.map { $0.window.untilMonotonicNanoseconds > now } ?? false),
                    notifications: state.notifications[trigger.name] ?? 0, counts: counts[trigger.name] ?? TriggerCounts(),
                    ephemeral: state.ephemeral[trigger.name])
            }
        }
    }
}
