import ErrnoConfig
import ErrnoKernel
import Foundation
import Logging
import SystemSupport

extension TriggerDirectory {
    /// Arms triggers from alerts: every firing alert labelled `errno_exporter_trigger=NAME` arms NAME
    /// for its `arm_for`, extended (never shortened) by repeated notifications; resolved alerts leave
    /// the window to run out. Optional `comm` and `pid` labels narrow what the arming captures. The
    /// batch is checked whole (`ArmingError`) before anything changes.
    public func arm(_ alerts: [FiringAlert], logger: Logger) throws -> ArmingOutcome {
        let triggers = configs
        var outcome = ArmingOutcome()
        // One arming per trigger however many alerts (or repeats in one label) name it: the last.
        var plans: [String: Arming] = [:]
        var order: [String] = []
        var unknown: Set<String> = []
        let now = Date(), monotonic = MonotonicClock.nanoseconds()
        for alert in alerts {
            guard alert.firing, let named = alert.labels[FiringAlert.triggerLabel] else {
                outcome.ignored += 1
                continue
            }
            let comm = alert.labels["comm"].flatMap { $0.isEmpty ? nil : $0 }
            if let comm, !KernelLimits.isComm(comm) {
                throw ArmingError(description: "alert label comm=\"\(comm)\" is not a comm (1 to \(KernelLimits.commBytes) bytes)")
            }
            var pid: UInt32?
            if let text = alert.labels["pid"], !text.isEmpty {
                guard let value = UInt32(text), KernelLimits.pids.contains(value) else {
                    throw ArmingError(description: "alert label pid=\"\(text)\" is not a process id")
                }
                pid = value
            }
            for name in named.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let trigger = triggers[name] else {
                    unknown.insert(name)
                    continue
                }
                guard trigger.armed == .onAlert else {
                    if !outcome.alwaysArmed.contains(name) { outcome.alwaysArmed.append(name) }
                    continue
                }
                let window = ArmingWindow(untilMonotonicNanoseconds: monotonic + UInt64(trigger.armForSeconds) * 1_000_000_000, comm: comm, pid: pid)
                if plans[name] == nil { order.append(name) }
                plans[name] = Arming(
                    window: window, until: now.addingTimeInterval(Double(trigger.armForSeconds)), alert: alert.labels["alertname"] ?? "",
                    fingerprint: alert.fingerprint)
            }
        }
        guard unknown.isEmpty else {
            let named = unknown.sorted().prefix(10).map { "\"\($0.prefix(64))\"" }.joined(separator: ", ")
            let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
            throw ArmingError(
                description: "no trigger named \(named)\(more) (nothing was armed); triggers: \(triggers.keys.sorted().joined(separator: ", "))")
        }
        for name in order {
            guard let arming = plans[name] else { continue }
            let armed = try arm(name, arming)
            logger.info(
                "trigger armed by an alert",
                metadata: ["trigger": "\(name)", "until": "\(RFC3339.format(armed.until))", "alert": "\(armed.alert)",
                           "comm": "\(armed.window.comm ?? "any")", "pid": "\(armed.window.pid.map(String.init) ?? "any")"])
            outcome.armed.append(.init(trigger: name, until: armed.until, alert: armed.alert))
        }
        return outcome
    }

    /// Arms `name` as `arming` says, extending (never shortening) a window already open; returns the
    /// arming in force.
    private func arm(_ name: String, _ arming: Arming) throws -> Arming {
        var effective = arming
        if let current = self.arming(name), current.window.untilMonotonicNanoseconds > arming.window.untilMonotonicNanoseconds {
            effective.window.untilMonotonicNanoseconds = current.window.untilMonotonicNanoseconds
            effective.until = current.until
        }
        guard try kernel.arm(name, effective.window) else { throw ArmingError(description: "no trigger named \(name)") }
        record(effective, for: name)
        return effective
    }
}
