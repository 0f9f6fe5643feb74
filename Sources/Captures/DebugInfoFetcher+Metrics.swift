import Exposition
import Stacks

extension DebugInfoFetcher: Collector {
    public func collect() throws -> [MetricFamily] {
        let tally = tally
        let outcomes = Outcome.allCases.sorted { $0.rawValue < $1.rawValue }
        return [
            MetricFamily(
                name: "errno_exporter_debuginfod_fetches_total",
                help: "Requests for a module's missing debug file by build ID, by outcome: downloaded, cached (on disk, no network), not_found, failed, timed_out, invalid (not that build ID's debug file), dropped (queue full).",
                type: .counter,
                samples: outcomes.map { Sample(labels: [Label("outcome", $0.rawValue)], value: Double(tally.fetches[$0] ?? 0)) }),
            MetricFamily(
                name: "errno_exporter_debuginfod_fetch_seconds_total", help: "Time spent on requests for debug files, by outcome.",
                type: .counter,
                samples: outcomes.map { Sample(labels: [Label("outcome", $0.rawValue)], value: tally.seconds[$0] ?? 0) }),
            MetricFamily(
                name: "errno_exporter_debuginfod_cache_bytes", help: "Bytes in the debuginfod cache directory after the last download.",
                type: .gauge, samples: [Sample(value: Double(tally.cacheBytes))]),
            MetricFamily(
                name: "errno_exporter_debuginfod_cache_evictions_total",
                help: "Debug files removed from the cache to keep it under symbolization.cache_max_bytes, least recently used first.",
                type: .counter, samples: [Sample(value: Double(tally.evictions))]),
        ]
    }
}
