import BPFKit
import Exposition

/// Raw BPF map keys → the series they count into, remembered across scrapes: a key's labels are
/// worked out once (names, byte mapping, rewrites, cgroup lookup), so a scrape costs one hash lookup
/// per key. Several keys may share a series (rewrites, opt-in labels off); their counts are summed.
/// Bounded by the maps it indexes, which never delete keys; cleared when labels or rewrites change.
struct SeriesIndex {
    private var seriesOfKey: [[UInt8]: Int] = [:]
    private var seriesOfLabels: [[Label]: Int] = [:]
    private var labelSets: [[Label]] = []

    /// The samples of `entries` (from one or more maps), summed per series.
    mutating func samples(_ entries: [[CounterEntry]], labels: (CounterEntry) -> [Label]) -> [Sample] {
        var totals: [Int: UInt64] = [:]
        totals.reserveCapacity(labelSets.count)
        for list in entries {
            for entry in list {
                let series: Int
                if let known = seriesOfKey[entry.key] {
                    series = known
                } else {
                    let set = labels(entry)
                    if let shared = seriesOfLabels[set] {
                        series = shared
                    } else {
                        series = labelSets.count
                        labelSets.append(set)
                        seriesOfLabels[set] = series
                    }
                    seriesOfKey[entry.key] = series
                }
                totals[series, default: 0] &+= entry.value
            }
        }
        return totals.map { Sample(labels: labelSets[$0.key], value: Double($0.value)) }
    }

    mutating func reset() {
        self = SeriesIndex()
    }
}
