/// A copy of the top of a thread's stack: `bytes` as they were at `base` and above.
public struct StackMemory: Sendable {
    public let base: UInt64
    public let bytes: [UInt8]

    public init(base: UInt64, bytes: [UInt8]) {
        self.base = base
        self.bytes = bytes
    }

    /// The 8 bytes at `address`, if the copy holds them.
    public func word(at address: UInt64) -> UInt64? {
        guard address >= base, address - base <= UInt64(bytes.count), UInt64(bytes.count) - (address - base) >= 8 else { return nil }
        let offset = Int(address - base)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
    }
}
