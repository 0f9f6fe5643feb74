import CErrnoBPF

/// An entry of `trigger_exact_paths`: a path and the set of triggers that name it.
struct ExactPath: Equatable {
    let path: PathBuffer
    let ids: UInt64

    var kernelEntry: trigger_exact_entry { path.exactEntry(ids: ids) }
}

/// A path as the kernel's path buffer holds it: at most `KernelLimits.pathBytes` bytes, NUL-padded.
struct PathBuffer: Hashable {
    let bytes: [UInt8]

    init(_ path: [UInt8]) { bytes = Array(path.prefix(KernelLimits.pathBytes)) }

    /// A `trigger_exact_entry` of this path for the trigger set `ids`.
    func exactEntry(ids: UInt64) -> trigger_exact_entry {
        var entry = trigger_exact_entry()
        entry.ids = ids
        withUnsafeMutableBytes(of: &entry.path) { $0.copyBytes(from: bytes) }
        return entry
    }

    /// The `trigger_prefix_key` matching every path that starts with these bytes.
    var prefixKey: trigger_prefix_key {
        var key = trigger_prefix_key()
        key.prefix_bits = UInt32(bytes.count * 8)
        withUnsafeMutableBytes(of: &key.path) { $0.copyBytes(from: bytes) }
        return key
    }

    /// errno_path_fingerprint (errno_exporter.h) from `seed`: the kernel's own function, called here.
    func fingerprint(seed: UInt64) -> UInt64 {
        var entry = exactEntry(ids: 0)
        return withUnsafeBytes(of: &entry.path) { errno_path_fingerprint($0.bindMemory(to: UInt64.self).baseAddress, seed) }
    }
}
