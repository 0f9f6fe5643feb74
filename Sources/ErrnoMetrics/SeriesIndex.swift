import Exposition

/// Raw BPF map keys → the series they count into, remembered across scrapes: a key's labels are
/// worked out once (names, byte mapping, rewrites, cgroup lookup), so a scrape costs one hash lookup
/// per key. Several keys may share a series (rewrites, opt-in labels off); their counts are summed.
/// Bounded by the maps it indexes, which never delete keys; cleared when labels or rewrites change.
struct SeriesIndex {
    private var seriesOfKey: [[UInt8]: Int] = [:]
    private var seriesOfLabels: [[Label]: Int] = [:]
    private var labelSets: [[Label]] = []

    /// The samples of `entries`, each a raw key and a count, summed per series.
    mutating func samples<Entry>(_ entries: [Entry], key: (Entry) -> [UInt8], count: (Entry) -> UInt64, labels: (Entry) -> [Label]) -> [Sample] {
        var totals: [Int: UInt64] = [:]
        totals.reserveCapacity(labelSets.count)
        for entry in entries {
            let rawKey = key(entry)
            let series: Int
            if let known = seriesOfKey[rawKey] {
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
                seriesOfKey[rawKey] = series
            }
            totals[series, default: 0] &+= count(entry)
        }
        return totals.map { Sample(labels: labelSets[$0.key], value: Double($0.value)) }
    }

    mutating func reset() {
        self = SeriesIndex()
    }
}
