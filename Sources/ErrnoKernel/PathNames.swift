import BPFKit
import CErrnoBPF

/// `path_names`: the series (a `path_failure_key` and its path) each fingerprint of `path_failures`
/// stands for. The kernel writes a name once, before the first count of its series, and never
/// changes or removes it, so a name read once is kept here; at most the map's size of them, read one
/// lookup each, the first time a scrape meets their fingerprint.
final class PathNames {
    let map: BPFMap
    private var known: [UInt64: PathSeries] = [:]

    init(map: BPFMap) {
        self.map = map
    }

    /// The series of `fingerprint`; nil when the kernel has no name for it.
    func series(of fingerprint: UInt64) throws -> PathSeries? {
        if let series = known[fingerprint] { return series }
        guard let value = try map.lookup(fingerprint), value.count == MemoryLayout<path_reading>.size else { return nil }
        let keyBytes = MemoryLayout<path_failure_key>.size, pathStart = MemoryLayout<path_reading>.offset(of: \path_reading.path)!
        let series = PathSeries(key: Array(value.prefix(keyBytes)), path: Array(value[pathStart...].prefix { $0 != 0 }))
        if known.count < map.maxEntries { known[fingerprint] = series }
        return series
    }
}
