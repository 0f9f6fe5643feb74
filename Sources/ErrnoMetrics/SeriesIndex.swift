import Exposition

/// Raw BPF map keys → the series they count into, remembered across scrapes: a key's labels are
/// worked out once (names, byte mapping, rewrites, cgroup lookup), so a scrape costs one hash lookup
/// per key. Several keys may share a series (rewrites, opt-in labels off); their counts are summed.
/// Series come out in exposition order, sorted again only when new ones appeared. Bounded by the
/// maps it indexes, which never delete keys; the label mapping is cleared when labels or rewrites
/// change.
///
/// It also knows when each series was created: a key first seen in a read was absent, so zero, at
/// the previous read (or, at the first read, when counting began); a series is created when its
/// first key was. That survives a change of labels, so a reload never makes a counter look new.
struct SeriesIndex {
    /// A raw key's series under the current labels (`unmapped` after a reset, until it is read
    /// again), and when the key was created (kept across resets).
    private struct KeyState {
        static let unmapped = -1
        var series: Int
        let created: Double
    }

    /// One entry per key: 50,000 path series keep 50,000 of them.
    private var keys: [RawKey: KeyState] = [:]
    /// Each series' labels, rendered once for the text formats: the only copy kept.
    private var labelSets: [RenderedLabels] = []
    private var seriesOfLabels: [RenderedLabels: Int] = [:]
    private var seriesCreated: [Double] = []
    /// Series numbers in exposition order; behind `labelSets` when series were added since.
    private var order: [Int] = []
    /// When the latest read of the kernel's counters began (seconds since the epoch).
    private var lastRead: Double

    /// `countingSince`: a time at which every counter was still zero (seconds since the epoch).
    init(countingSince: Double) {
        lastRead = countingSince
    }

    /// The samples of `entries`, each a raw key and a count, summed per series, in exposition order
    /// (`MetricFamily.labelsPrecede`),
    /// with the time each series was created. `readAt`: when the read that returned `entries` began.
    mutating func samples<Entry>(
        _ entries: [Entry], readAt: Double, key: (Entry) -> [UInt8], count: (Entry) -> UInt64, labels: (Entry) -> [Label]
    ) -> [Sample] {
        var totals = [UInt64](repeating: 0, count: labelSets.count)
        var present = [Bool](repeating: false, count: labelSets.count)
        for entry in entries {
            let rawKey = RawKey(bytes: key(entry))
            let series: Int
            if let known = keys[rawKey]?.series, known != KeyState.unmapped {
                series = known
            } else {
                series = add(rawKey, labels: labels(entry), readAt: readAt)
                if series == totals.count {
                    totals.append(0)
                    present.append(false)
                }
            }
            totals[series] &+= count(entry)
            present[series] = true
        }
        lastRead = max(lastRead, readAt)
        if order.count != labelSets.count {
            placeNewSeries()
        }
        return order.compactMap { series in
            present[series] ? Sample(labels: labelSets[series], value: Double(totals[series]), created: seriesCreated[series]) : nil
        }
    }

    /// Puts the series numbered from `order.count` on (added since the last read) in exposition
    /// order. Labels are read back from their renderings for this only: a few new series among many
    /// are each placed by binary search (log n label sets read), many are sorted with the rest (each
    /// label set read once).
    private mutating func placeNewSeries() {
        let added = order.count..<labelSets.count
        guard added.count * 16 < order.count else {
            let labels = labelSets.map(\.labels)
            order = labels.indices.sorted { MetricFamily.labelsPrecede(labels[$0], labels[$1]) }
            return
        }
        for series in added {
            let labels = labelSets[series].labels
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if MetricFamily.labelsPrecede(labelSets[order[middle]].labels, labels) {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            order.insert(series, at: low)
        }
    }

    /// Maps a key not seen since the last reset to its series (a new one, numbered next, or one that
    /// shares its labels) and returns it.
    private mutating func add(_ rawKey: RawKey, labels set: [Label], readAt: Double) -> Int {
        // Absent at the last read when not seen before; a read that began later cannot have missed it.
        let created = keys[rawKey]?.created ?? min(lastRead, readAt)
        let rendered = RenderedLabels(set), series: Int
        if let shared = seriesOfLabels[rendered] {
            series = shared
            seriesCreated[series] = min(seriesCreated[series], created)
        } else {
            series = labelSets.count
            labelSets.append(rendered)
            seriesCreated.append(created)
            seriesOfLabels[rendered] = series
        }
        keys[rawKey] = KeyState(series: series, created: created)
        return series
    }

    /// Forgets the label mapping (labels or rewrites changed); keeps when each key was created.
    mutating func reset() {
        for index in keys.values.indices {
            keys.values[index].series = KeyState.unmapped
        }
        seriesOfLabels = [:]
        labelSets = []
        seriesCreated = []
        order = []
    }
}
