import CErrnoBPF

/// One path series as `path_names` holds it, in one buffer (`PathNames` keeps one per series: 50,000
/// of them at 50,000 series): its `path_failure_key`, the counter's identity, then the path's bytes
/// up to the NUL (none for a NULL or unreadable path).
struct PathSeries {
    let bytes: [UInt8]

    init<Key: Collection<UInt8>, Path: Collection<UInt8>>(key: Key, path: Path) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.count + path.count)
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: path)
        self.bytes = bytes
    }

    /// The path's bytes.
    var path: ArraySlice<UInt8> {
        bytes[min(MemoryLayout<path_failure_key>.size, bytes.count)...]
    }
}
