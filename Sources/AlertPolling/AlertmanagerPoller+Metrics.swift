import Captures
import ErrnoConfig
import Exposition
import Synchronization

extension AlertmanagerPoller: Collector {
    /// Polls by peer and outcome, whether each peer answered its last poll and when one last did,
    /// the firing trigger alerts of the last poll (this node's and other nodes'), and new alerts by
    /// what they did. Nothing while no peer is configured.
    public func collect() throws -> [MetricFamily] {
        let state = state.withLock { $0 }
        let peers = state.settings.alertmanagerURLs
        guard !peers.isEmpty else { return [] }
        return [
            MetricFamily(
                name: "errno_exporter_alertmanager_polls_total",
                help: "Polls of an Alertmanager peer for firing errno_exporter_trigger alerts, by outcome (error: unreachable or not 200; refused: an answer too large or malformed).",
                type: .counter,
                samples: peers.flatMap { peer in
                    PollOutcome.allCases.map {
                        Sample(labels: [Label("peer", peer), Label("outcome", $0.rawValue)], value: Double(state.peers[peer]?.polls[$0] ?? 0))
                    }
                }),
            MetricFamily(
                name: "errno_exporter_alertmanager_peer_up", help: "Whether the last poll of an Alertmanager peer got its alerts.",
                type: .gauge, samples: peers.map { Sample(labels: [Label("peer", $0)], value: state.peers[$0]?.up == true ? 1 : 0) }),
            MetricFamily(
                name: "errno_exporter_alertmanager_last_success_timestamp_seconds",
                help: "When a poll of an Alertmanager peer last got its alerts (0: never).",
                type: .gauge, samples: peers.map { Sample(labels: [Label("peer", $0)], value: state.peers[$0]?.lastSuccess ?? 0) }),
            MetricFamily(
                name: "errno_exporter_alertmanager_alerts",
                help: "Firing errno_exporter_trigger alerts across the peers at the last poll any peer answered: meant for this node, or for others.",
                type: .gauge,
                samples: [
                    Sample(labels: [Label("node", "this")], value: Double(state.thisNode)),
                    Sample(labels: [Label("node", "other")], value: Double(state.otherNodes)),
                ]),
            MetricFamily(
                name: "errno_exporter_alertmanager_new_alerts_total",
                help: "Alerts for this node seen by a poll for the first time, by what they did (unknown_trigger, invalid: armed nothing).",
                type: .counter,
                samples: PollArmingOutcome.Result.allCases.map {
                    Sample(labels: [Label("outcome", $0.rawValue)], value: Double(state.newAlerts[$0] ?? 0))
                }),
        ]
    }
}
