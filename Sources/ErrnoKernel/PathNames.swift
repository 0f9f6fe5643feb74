import BPFKit
import CErrnoBPF

/// The path counter's slots and the series they count: `path_slot_series` gives a slot's series
/// fingerprint (written before the series is named), `path_names` the series' key, path and slot.
/// The kernel names a series once and never changes or removes it, so a slot's series, read once,
/// is kept here: at most the counter's size of them, two lookups each, the first time a scrape finds
/// their slot counted.
final class PathNames {
    let map: BPFMap
    let slotSeries: BPFMap
    private var known: [PathSeries?]

    init(map: BPFMap, slotSeries: BPFMap) {
        self.map = map
        self.slotSeries = slotSeries
        known = Array(repeating: nil, count: slotSeries.maxEntries)
    }

    /// The series counted in `slot`; nil when the kernel names none there (a slot handed out to a
    /// series another CPU named first is never counted).
    func series(ofSlot slot: Int) throws -> PathSeries? {
        guard known.indices.contains(slot) else { return nil }
        if let series = known[slot] { return series }
        guard let owner = try slotSeries.lookup(UInt32(slot)), owner.count == MemoryLayout<UInt64>.size,
            let value = try map.lookup(owner.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }),
            value.count == MemoryLayout<path_reading>.size
        else { return nil }
        let named = value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: MemoryLayout<path_reading>.offset(of: \path_reading.slot)!, as: UInt32.self) }
        guard named == slot else { return nil }
        let pathStart = MemoryLayout<path_reading>.offset(of: \path_reading.path)!
        let series = PathSeries(key: value.prefix(MemoryLayout<path_failure_key>.size), path: value[pathStart...].prefix { $0 != 0 })
        known[slot] = series
        return series
    }
}
