import CLibBPF
import Glibc

/// One entry of a counter map: the raw key bytes and the value summed over CPUs.
public struct CounterEntry: Sendable {
    public let key: [UInt8]
    public let value: UInt64

    public init(key: [UInt8], value: UInt64) {
        self.key = key
        self.value = value
    }

    /// The entry's index, for an array map (a `__u32` key); nil for another key.
    public var index: Int? {
        key.count == MemoryLayout<UInt32>.size ? Int(key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) : nil
    }

    /// Reinterprets the key bytes as the C struct they came from.
    public func key<Key>(as type: Key.Type) -> Key {
        precondition(key.count == MemoryLayout<Key>.size, "key size \(key.count) != \(MemoryLayout<Key>.size)")
        return key.withUnsafeBytes { $0.loadUnaligned(as: Key.self) }
    }
}

/// Reads a map whose values are `__u64` counters (per-CPU or shared) in full.
///
/// Hash maps are read with `BPF_MAP_LOOKUP_BATCH` (kernel 5.6+), one syscall per chunk instead of two
/// per entry; when the kernel refuses batches the reader falls back to get-next-key + lookup, and
/// remembers that. Per-CPU values are summed. Entries are never deleted: counters stay monotonic.
public final class CounterMapReader {
    /// How the reader walks the map.
    public enum Strategy: Sendable {
        case batch
        case iterate
    }

    public let map: BPFMap
    public private(set) var strategy: Strategy
    private let slots: Int
    private let stride: Int

    public init(map: BPFMap, strategy: Strategy = .batch) throws {
        guard map.valueSize == MemoryLayout<UInt64>.size else {
            throw BPFError("map \(map.name) holds \(map.valueSize)-byte values, not u64 counters", code: EINVAL)
        }
        self.map = map
        self.strategy = strategy
        slots = map.isPerCPU ? PossibleCPUs.count : 1
        stride = map.isPerCPU ? (map.valueSize + 7) & ~7 : map.valueSize
    }

    /// Every entry with its value summed over CPUs, in the kernel's order; at most `limit` of them
    /// (for an array: its first `limit` slots).
    public func readAll(limit: Int = .max) throws -> [CounterEntry] {
        guard limit > 0 else { return [] }
        if strategy == .batch {
            do {
                return try readBatched(limit: limit)
            } catch let error as BPFError where error.code == EINVAL || error.code == ENOTSUP || error.code == 524 /* ENOTSUPP */ {
                strategy = .iterate
            }
        }
        return try readIterating(limit: limit)
    }

    private func sum(_ values: UnsafeRawBufferPointer, entry: Int) -> UInt64 {
        var total: UInt64 = 0
        let base = entry * slots * stride
        for slot in 0..<slots {
            total &+= values.loadUnaligned(fromByteOffset: base + slot * stride, as: UInt64.self)
        }
        return total
    }

    private func readBatched(limit: Int) throws -> [CounterEntry] {
        let keySize = map.keySize
        var chunk = min(max(map.maxEntries, 1), 4096, limit)
        var keys = [UInt8](repeating: 0, count: chunk * keySize)
        var values = [UInt8](repeating: 0, count: chunk * slots * stride)
        var inToken = [UInt8](repeating: 0, count: keySize)
        var outToken = [UInt8](repeating: 0, count: keySize)
        var first = true
        var entries: [CounterEntry] = []
        var options = bpf_map_batch_opts()
        options.sz = MemoryLayout<bpf_map_batch_opts>.size

        while true {
            var count = UInt32(chunk)
            let result = keys.withUnsafeMutableBytes { keyBuffer in
                values.withUnsafeMutableBytes { valueBuffer in
                    inToken.withUnsafeMutableBytes { inBuffer in
                        outToken.withUnsafeMutableBytes { outBuffer in
                            bpf_map_lookup_batch(
                                map.fileDescriptor, first ? nil : inBuffer.baseAddress, outBuffer.baseAddress,
                                keyBuffer.baseAddress, valueBuffer.baseAddress, &count, &options)
                        }
                    }
                }
            }
            let code = result < 0 ? errno : 0
            if code == ENOSPC, count == 0 {  // a hash bucket holds more entries than the chunk
                chunk *= 2
                keys = [UInt8](repeating: 0, count: chunk * keySize)
                values = [UInt8](repeating: 0, count: chunk * slots * stride)
                continue
            }
            if result < 0, code != ENOENT { throw BPFError("batch lookup in map \(map.name)", code: code) }
            values.withUnsafeBytes { valueBuffer in
                for index in 0..<Int(count) {
                    let key = Array(keys[index * keySize..<(index + 1) * keySize])
                    entries.append(CounterEntry(key: key, value: sum(valueBuffer, entry: index)))
                }
            }
            if code == ENOENT || entries.count >= limit { return entries.count > limit ? Array(entries.prefix(limit)) : entries }  // the walk is complete
            first = false
            swap(&inToken, &outToken)
        }
    }

    private func readIterating(limit: Int) throws -> [CounterEntry] {
        let keySize = map.keySize
        var key = [UInt8](repeating: 0, count: keySize)
        var next = [UInt8](repeating: 0, count: keySize)
        var value = [UInt8](repeating: 0, count: slots * stride)
        var entries: [CounterEntry] = []
        var first = true
        while true {
            let step = key.withUnsafeBytes { current in
                next.withUnsafeMutableBytes { bpf_map_get_next_key(map.fileDescriptor, first ? nil : current.baseAddress, $0.baseAddress) }
            }
            if step < 0 {
                if errno == ENOENT { return entries }
                throw BPFError("next key in map \(map.name)", code: errno)
            }
            first = false
            let found = next.withUnsafeBytes { keyBuffer in
                value.withUnsafeMutableBytes { bpf_map_lookup_elem(map.fileDescriptor, keyBuffer.baseAddress, $0.baseAddress) }
            }
            if found == 0 {
                entries.append(CounterEntry(key: next, value: value.withUnsafeBytes { sum($0, entry: 0) }))
                if entries.count >= limit { return entries }
            } else if errno != ENOENT {  // ENOENT: deleted between the two calls
                throw BPFError("lookup in map \(map.name)", code: errno)
            }
            key = next
        }
    }
}
