import Foundation

/// Builds one exposition from a set of collectors: calls each, gives every counter series its
/// created time (`CounterCreation`), sorts families by name and samples by labels, and adds
/// `<prefix>_scrape_duration_seconds` for the time the collectors took. A collector that fails is
/// reported (by the returned errors) without losing the others.
public struct Gatherer: Sendable {
    public let collectors: [any Collector]
    public let durationMetricName: String
    private let creation: CounterCreation

    /// `countingSince`: a time (seconds since the epoch) at which every counter was still zero.
    public init(collectors: [any Collector], durationMetricName: String, countingSince: Double) {
        self.collectors = collectors
        self.durationMetricName = durationMetricName
        creation = CounterCreation(countingSince: countingSince)
    }

    /// The sorted families, and the errors of collectors that failed.
    public func gather() -> (families: [MetricFamily], errors: [any Error]) {
        let gatheredAt = Date().timeIntervalSince1970
        let clock = ContinuousClock()
        let start = clock.now
        var families: [MetricFamily] = []
        var errors: [any Error] = []
        for collector in collectors {
            do {
                families += try collector.collect()
            } catch {
                errors.append(error)
            }
        }
        creation.stamp(&families, gatheredAt: gatheredAt, collectedAt: Date().timeIntervalSince1970)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        families.append(MetricFamily(
            name: durationMetricName, help: "Time spent reading the BPF maps and /proc to build this scrape, in seconds.",
            type: .gauge, samples: [Sample(value: seconds)]))
        return (families.map { $0.sorted() }.sorted { $0.name < $1.name }, errors)
    }
}
