import CLibBPF
import Glibc

/// One map of a `BPFObject`: its shape, sizing before load, and reads after.
public struct BPFMap {
    let handle: OpaquePointer
    let owner: BPFObject

    public var name: String { String(cString: bpf_map__name(handle)) }
    public var keySize: Int { Int(bpf_map__key_size(handle)) }
    public var valueSize: Int { Int(bpf_map__value_size(handle)) }
    public var maxEntries: Int { Int(bpf_map__max_entries(handle)) }
    public var fileDescriptor: Int32 { bpf_map__fd(handle) }
    public var isPerCPU: Bool {
        switch bpf_map__type(handle) {
        case BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
            true
        default:
            false
        }
    }

    /// Writes one entry of a loaded map whose values are shared by all CPUs.
    public func update<Key, Value>(_ key: Key, _ value: Value) throws {
        var key = key, value = value
        precondition(MemoryLayout<Key>.size == keySize && MemoryLayout<Value>.size == valueSize, "\(name): key or value of the wrong size")
        try BPFError.check("update map \(name)", bpf_map_update_elem(fileDescriptor, &key, &value, UInt64(BPF_ANY)))
    }

    /// The value bytes of one entry of a map whose values are shared by all CPUs; nil when absent.
    public func lookup<Key>(_ key: Key) throws -> [UInt8]? {
        var key = key
        precondition(MemoryLayout<Key>.size == keySize, "\(name): key of the wrong size")
        var value = [UInt8](repeating: 0, count: valueSize)
        if value.withUnsafeMutableBytes({ bpf_map_lookup_elem(fileDescriptor, &key, $0.baseAddress) }) < 0 {
            if errno == ENOENT { return nil }
            throw BPFError("lookup in map \(name)", code: errno)
        }
        return value
    }

    /// Removes one entry; a missing entry is not an error.
    public func delete<Key>(_ key: Key) throws {
        var key = key
        precondition(MemoryLayout<Key>.size == keySize, "\(name): key of the wrong size")
        if bpf_map_delete_elem(fileDescriptor, &key) < 0, errno != ENOENT {
            throw BPFError("delete from map \(name)", code: errno)
        }
    }

    /// Sets the capacity; only before the object is loaded.
    public func setMaxEntries(_ count: Int) throws {
        guard count > 0, count <= Int(UInt32.max) else { throw BPFError("set max_entries of \(name) to \(count)", code: EINVAL) }
        try BPFError.check("set max_entries of \(name)", bpf_map__set_max_entries(handle, UInt32(count)))
    }
}

/// The number of possible CPUs: the number of slots in every per-CPU map value.
public enum PossibleCPUs {
    public static let count: Int = {
        let count = libbpf_num_possible_cpus()
        return count > 0 ? Int(count) : 1
    }()
}

extension BPFMap {
    /// Writes one entry of a per-CPU map: the same value in every CPU's slot.
    public func updateAllCPUs<Key, Value>(_ key: Key, _ value: Value) throws {
        var key = key
        precondition(MemoryLayout<Key>.size == keySize && MemoryLayout<Value>.size == valueSize, "\(name): key or value of the wrong size")
        let stride = (valueSize + 7) & ~7
        var values = [UInt8](repeating: 0, count: stride * PossibleCPUs.count)
        values.withUnsafeMutableBytes { buffer in
            for cpu in 0..<PossibleCPUs.count { buffer.storeBytes(of: value, toByteOffset: cpu * stride, as: Value.self) }
        }
        try BPFError.check("update map \(name)", bpf_map_update_elem(fileDescriptor, &key, values, UInt64(BPF_ANY)))
    }

    /// Every (key, value) of a hash map whose values are shared by all CPUs, as bytes.
    public func entries(limit: Int = 1 << 20) -> [(key: [UInt8], value: [UInt8])] {
        var found: [(key: [UInt8], value: [UInt8])] = []
        var next = [UInt8](repeating: 0, count: keySize)
        var current: [UInt8]? = nil
        while found.count < limit {
            let status = current.map { bpf_map_get_next_key(fileDescriptor, $0, &next) } ?? bpf_map_get_next_key(fileDescriptor, nil, &next)
            if status < 0 { break }
            var value = [UInt8](repeating: 0, count: valueSize)
            if bpf_map_lookup_elem(fileDescriptor, next, &value) == 0 { found.append((next, value)) }
            current = next
        }
        return found
    }

    /// The number of entries of a hash map (walks its keys; for gauges of small maps).
    public func entryCount(limit: Int = 1 << 20) -> Int {
        var key = [UInt8](repeating: 0, count: keySize), next = key
        var count = 0
        var current: [UInt8]? = nil
        while count < limit {
            let status = current.map { bpf_map_get_next_key(fileDescriptor, $0, &next) } ?? bpf_map_get_next_key(fileDescriptor, nil, &next)
            if status < 0 { break }
            count += 1
            key = next
            current = key
        }
        return count
    }

    /// Removes one entry given as key bytes; a missing entry is not an error.
    public func delete(keyBytes: [UInt8]) throws {
        precondition(keyBytes.count == keySize, "\(name): key of the wrong size")
        if bpf_map_delete_elem(fileDescriptor, keyBytes) < 0, errno != ENOENT {
            throw BPFError("delete from map \(name)", code: errno)
        }
    }
}
