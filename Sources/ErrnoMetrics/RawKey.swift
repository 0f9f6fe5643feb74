import Glibc

/// A BPF map key's bytes as a dictionary key: hashed and compared in one pass over the bytes (an
/// array of bytes hashes element by element, which made hashing most of a scrape's cost at 300-byte
/// path keys).
struct RawKey: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: RawKey, rhs: RawKey) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        return lhs.bytes.withUnsafeBytes { left in
            rhs.bytes.withUnsafeBytes { right in
                guard let left = left.baseAddress, let right = right.baseAddress else { return true }  // both empty
                return memcmp(left, right, lhs.bytes.count) == 0
            }
        }
    }
}
