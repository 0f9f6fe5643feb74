import ErrnoConfig
import ErrnoKernel
import Foundation
import Logging
import SystemSupport

extension TriggerDirectory {
    /// What one firing alert asks for: the armings it plans, the always-armed and the unknown
    /// triggers it names.
    struct AlertRequest {
        var armings: [(trigger: String, arming: Arming)] = []
        var alwaysArmed: [String] = []
        var unknown: [String] = []
    }

    /// Arms triggers from a webhook notification: every firing alert labelled
    /// `errno_exporter_trigger=NAME` arms NAME for its `arm_for`, extended (never shortened) by
    /// repeated notifications; resolved alerts leave the window to run out. Optional `comm` and `pid`
    /// labels narrow what the arming captures. The batch is checked whole (`ArmingError`) before
    /// anything changes.
    public func arm(_ alerts: [FiringAlert], logger: Logger) throws -> ArmingOutcome {
        let triggers = configuredTriggers
        var outcome = ArmingOutcome()
        // One arming per trigger however many alerts (or repeats in one label) name it, with each
        // alert's window.
        var plans: [String: (arming: Arming, windows: [String: ArmingWindow])] = [:]
        var order: [String] = []
        var unknown: Set<String> = []
        let now = Date(), monotonic = MonotonicClock.nanoseconds()
        for alert in alerts {
            guard let request = try request(alert, triggers: triggers, source: .webhook, now: now, monotonic: monotonic) else {
                outcome.ignored += 1
                continue
            }
            unknown.formUnion(request.unknown)
            for name in request.alwaysArmed where !outcome.alwaysArmed.contains(name) { outcome.alwaysArmed.append(name) }
            for (name, arming) in request.armings {
                if plans[name] == nil { order.append(name) }
                plans[name, default: (arming, [:])].arming = arming
                plans[name]?.windows[alert.identity] = arming.window
            }
        }
        guard unknown.isEmpty else { throw Self.unknownTriggers(unknown, known: triggers.keys) }
        for name in order {
            guard let (arming, windows) = plans[name] else { continue }
            let armed = try extendArming(name, arming, windows: windows, notification: true)
            log(name, armed, logger: logger)
            outcome.armed.append(.init(trigger: name, until: armed.until, alert: armed.alert))
        }
        return outcome
    }

    /// Arms triggers from one poll of Alertmanager: `alerts` are the firing alerts meant for this node,
    /// each taken on its own — one that names an unknown trigger or carries a bad `comm` or `pid`
    /// label arms nothing and is reported, the others arm. Every poll extends the windows of the
    /// alerts still firing (never shortening one); alerts whose `identity` is not in `seenBefore`
    /// are new: they are logged and counted as notifications. Several alerts arming one trigger
    /// arm it once, narrowed only by what their open windows share (`extendArming`).
    public func arm(polled alerts: [(alert: FiringAlert, peers: [String])], seenBefore: Set<String>, logger: Logger) -> PollArmingOutcome {
        let triggers = configuredTriggers
        var outcome = PollArmingOutcome()
        let now = Date(), monotonic = MonotonicClock.nanoseconds()
        var plans: [String: (arming: Arming, windows: [String: ArmingWindow], isNew: Bool)] = [:]
        var order: [String] = []
        for (alert, peers) in alerts {
            let isNew = !seenBefore.contains(alert.identity)
            let request: AlertRequest
            do {
                guard let asked = try self.request(alert, triggers: triggers, source: .poll(peers: peers), now: now, monotonic: monotonic) else { continue }
                request = asked
            } catch {
                if isNew {
                    outcome.new[.invalid, default: 0] += 1
                    logger.warning("polled alert refused; it arms nothing", metadata: ["alert": "\(alert.labels["alertname"] ?? "")", "error": "\(error)"])
                }
                continue
            }
            if !request.unknown.isEmpty {
                if isNew {
                    outcome.new[.unknownTrigger, default: 0] += 1
                    logger.warning(
                        "polled alert names a trigger this agent does not have; it arms nothing here",
                        metadata: ["alert": "\(alert.labels["alertname"] ?? "")", "error": "\(Self.unknownTriggers(Set(request.unknown), known: triggers.keys))"])
                }
                continue
            }
            if isNew { outcome.new[request.armings.isEmpty ? .alwaysArmed : .armed, default: 0] += 1 }
            for (name, arming) in request.armings {
                if plans[name] == nil { order.append(name) }
                plans[name, default: (arming, [:], false)].arming = arming
                plans[name]?.windows[alert.identity] = arming.window
                if isNew { plans[name]?.isNew = true }
            }
        }
        for name in order {
            guard let (arming, windows, isNew) = plans[name] else { continue }
            do {
                let armed = try extendArming(name, arming, windows: windows, notification: isNew)
                if isNew { log(name, armed, logger: logger) }
            } catch {
                logger.error("arming a trigger failed", metadata: ["trigger": "\(name)", "error": "\(error)"])
            }
        }
        return outcome
    }

    /// What `alert` asks for; nil for a resolved alert or one without the trigger label. Throws for a
    /// `comm` or `pid` label that is not one.
    func request(_ alert: FiringAlert, triggers: [String: Config.Trigger], source: ArmingSource, now: Date, monotonic: UInt64) throws -> AlertRequest? {
        guard alert.firing, let named = alert.labels[FiringAlert.triggerLabel] else { return nil }
        let comm = alert.labels["comm"].flatMap { $0.isEmpty ? nil : $0 }
        if let comm, !KernelLimits.isComm(comm) {
            throw ArmingError(description: "alert label comm=\"\(comm.prefix(64))\" is not a comm (1 to \(KernelLimits.commBytes) bytes)")
        }
        var pid: UInt32?
        if let text = alert.labels["pid"], !text.isEmpty {
            guard let value = UInt32(text), KernelLimits.pids.contains(value) else {
                throw ArmingError(description: "alert label pid=\"\(text.prefix(64))\" is not a process id")
            }
            pid = value
        }
        var request = AlertRequest()
        var names = named.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var distinct = Set<String>()
        names.removeAll { !distinct.insert($0).inserted }
        for name in names {
            guard let trigger = triggers[name] else {
                request.unknown.append(name)
                continue
            }
            guard trigger.armed == .onAlert else {
                request.alwaysArmed.append(name)
                continue
            }
            let window = ArmingWindow(untilMonotonicNanoseconds: monotonic + UInt64(trigger.armForSeconds) * 1_000_000_000, comm: comm, pid: pid)
            request.armings.append((name, Arming(
                window: window, until: now.addingTimeInterval(Double(trigger.armForSeconds)), alert: alert.labels["alertname"] ?? "",
                fingerprint: alert.fingerprint, source: source)))
        }
        return request
    }

    static func unknownTriggers(_ unknown: Set<String>, known: some Collection<String>) -> ArmingError {
        let named = unknown.sorted().prefix(10).map { "\"\($0.prefix(64))\"" }.joined(separator: ", ")
        let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
        return ArmingError(description: "no trigger named \(named)\(more) (nothing was armed); triggers: \(known.sorted().joined(separator: ", "))")
    }

    private func log(_ name: String, _ armed: Arming, logger: Logger) {
        logger.info(
            "trigger armed by an alert",
            metadata: ["trigger": "\(name)", "until": "\(RFC3339.format(armed.until))", "alert": "\(armed.alert)", "via": "\(armed.source)",
                       "comm": "\(armed.window.comm ?? "any")", "pid": "\(armed.window.pid.map(String.init) ?? "any")"])
    }
}
