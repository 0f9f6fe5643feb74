import BPFKit
import CErrnoBPF

/// `path_names`: the path each fingerprint of `path_failures` stands for. The kernel writes a name
/// once, before the first count of its path, and never changes or removes it, so a name read once
/// is kept here; at most the map's size of them, read one lookup each, the first time a scrape
/// meets their fingerprint.
final class PathNames {
    let map: BPFMap
    private var known: [UInt64: [UInt8]] = [:]

    init(map: BPFMap) {
        self.map = map
    }

    /// The path bytes (up to the NUL) of `fingerprint`; nil when the kernel has no name for it.
    func path(of fingerprint: UInt64) throws -> [UInt8]? {
        if let path = known[fingerprint] { return path }
        guard let value = try map.lookup(fingerprint) else { return nil }
        let path = Array(value.prefix { $0 != 0 })
        if known.count < map.maxEntries { known[fingerprint] = path }
        return path
    }
}
