import ErrnoKernel
import Exposition

extension TriggerDirectory: Collector {
    /// `errno_trigger_matches_total`, `errno_stack_captures_total`, `errno_trigger_armed` and
    /// `errno_trigger_arming_notifications_total`, by trigger.
    public func collect() throws -> [MetricFamily] {
        let statuses = try statuses()
        func samples(_ value: (TriggerStatus) -> Double) -> [Sample] {
            statuses.map { Sample(labels: [Label("trigger", $0.name)], value: value($0)) }
        }
        return [
            MetricFamily(
                name: "errno_trigger_matches_total",
                help: "Syscalls whose path, comm and result matched a trigger, captured or not (disarmed, rate-limited).",
                type: .counter, samples: samples { Double($0.counts.matches) }),
            MetricFamily(
                name: "errno_stack_captures_total", help: "Stack captures a trigger sent (see /api/v1/captures?trigger=NAME).",
                type: .counter, samples: samples { Double($0.counts.captures) }),
            MetricFamily(
                name: "errno_trigger_armed", help: "Whether a trigger captures now: 1 for armed: always, and for on_alert while an alert's window is open.",
                type: .gauge, samples: samples { $0.armed ? 1 : 0 }),
            MetricFamily(
                name: "errno_trigger_arming_notifications_total", help: "Alerts that armed an on_alert trigger: firing webhook notifications (/api/v1/alerts) and alerts a poll of Alertmanager saw first.",
                type: .counter, samples: samples { Double($0.notifications) }),
        ]
    }
}
