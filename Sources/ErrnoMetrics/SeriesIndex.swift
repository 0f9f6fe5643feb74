import Exposition

/// Raw BPF map keys → the series they count into, remembered across scrapes: a key's labels are
/// worked out once (names, byte mapping, rewrites, cgroup lookup), so a scrape costs one hash lookup
/// per key. Several keys may share a series (rewrites, opt-in labels off); their counts are summed.
/// Bounded by the maps it indexes, which never delete keys; the label mapping is cleared when labels
/// or rewrites change.
///
/// It also knows when each series was created: a key first seen in a read was absent, so zero, at
/// the previous read (or, at the first read, when counting began); a series is created when its
/// first key was. That survives a change of labels, so a reload never makes a counter look new.
struct SeriesIndex {
    private var seriesOfKey: [[UInt8]: Int] = [:]
    private var seriesOfLabels: [[Label]: Int] = [:]
    private var labelSets: [[Label]] = []
    private var seriesCreated: [Double] = []
    private var createdOfKey: [[UInt8]: Double] = [:]
    /// When the latest read of the kernel's counters began (seconds since the epoch).
    private var lastRead: Double

    /// `countingSince`: a time at which every counter was still zero (seconds since the epoch).
    init(countingSince: Double) {
        lastRead = countingSince
    }

    /// The samples of `entries`, each a raw key and a count, summed per series, with the time each
    /// series was created. `readAt`: when the read that returned `entries` began.
    mutating func samples<Entry>(
        _ entries: [Entry], readAt: Double, key: (Entry) -> [UInt8], count: (Entry) -> UInt64, labels: (Entry) -> [Label]
    ) -> [Sample] {
        var totals: [Int: UInt64] = [:]
        totals.reserveCapacity(labelSets.count)
        for entry in entries {
            let rawKey = key(entry)
            let series: Int
            if let known = seriesOfKey[rawKey] {
                series = known
            } else {
                let created: Double
                if let earlier = createdOfKey[rawKey] {
                    created = earlier
                } else {
                    // Absent at the last read; a read that began later cannot have missed it.
                    created = min(lastRead, readAt)
                    createdOfKey[rawKey] = created
                }
                let set = labels(entry)
                if let shared = seriesOfLabels[set] {
                    series = shared
                    seriesCreated[series] = min(seriesCreated[series], created)
                } else {
                    series = labelSets.count
                    labelSets.append(set)
                    seriesCreated.append(created)
                    seriesOfLabels[set] = series
                }
                seriesOfKey[rawKey] = series
            }
            totals[series, default: 0] &+= count(entry)
        }
        lastRead = max(lastRead, readAt)
        return totals.map { Sample(labels: labelSets[$0.key], value: Double($0.value), created: seriesCreated[$0.key]) }
    }

    /// Forgets the label mapping (labels or rewrites changed); keeps when each key was created.
    mutating func reset() {
        seriesOfKey = [:]
        seriesOfLabels = [:]
        labelSets = []
        seriesCreated = []
    }
}
