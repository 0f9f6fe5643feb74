import Exposition
import Synchronization

extension WatchRegistry: Collector {
    public func collect() throws -> [MetricFamily] {
        let (running, totals) = state.withLock { ($0.running.count, $0.totals) }
        return [
            MetricFamily(
                name: "errno_exporter_watches", help: "Watches running now (POST /api/v1/watches).", type: .gauge,
                samples: [Sample(value: Double(running))]),
            MetricFamily(
                name: "errno_exporter_watches_ended_total",
                help: "Watches ended, by reason: expired (their duration ran out), deleted, shutdown.",
                type: .counter,
                samples: [WatchStreamItem.EndReason.deleted, .expired, .shutdown].map {
                    Sample(labels: [Label("reason", $0.rawValue)], value: Double(totals.ended[$0] ?? 0))
                }),
            MetricFamily(
                name: "errno_exporter_watches_started_total", help: "Watches started.", type: .counter,
                samples: [Sample(value: Double(totals.started))]),
            MetricFamily(
                name: "errno_exporter_watch_events_total",
                help:
                    "Failures of watched targets by what became of them on the streams: streamed, or not (counted in the watch's summary all the same): rate_limited (beyond the watch's events a second), ring_buffer_full, slow_client (a stream's reader fell behind).",
                type: .counter,
                samples: [Sample(labels: [Label("outcome", "streamed")], value: Double(totals.streamed))]
                    + [WatchStreamItem.DropReason.rateLimited, .ringBufferFull, .slowClient].map {
                        Sample(labels: [Label("outcome", $0.rawValue)], value: Double(totals.dropped[$0] ?? 0))
                    }),
            MetricFamily(
                name: "errno_exporter_watch_records_malformed_total", help: "Watch event records of the wrong size (refused).", type: .counter,
                samples: [Sample(value: Double(totals.malformed))]),
        ]
    }
}
