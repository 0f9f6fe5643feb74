import BPFKit
import CErrnoBPF
import KernelNames

/// One entry of `path_failures` (or, with `isOverflow`, of `path_overflow`: path="<other>").
public struct PathFailure: Sendable {
    public let rawKey: [UInt8]
    public let count: UInt64
    public let isOverflow: Bool

    init(_ entry: CounterEntry, overflow: Bool) {
        rawKey = entry.key
        count = entry.value
        isOverflow = overflow
    }

    /// For tests and other producers of counts.
    public init(syscall: UInt32, errno: UInt32, comm: String, path: [UInt8], truncated: Bool = false, count: UInt64) {
        var key = path_failure_key()
        key.failure.syscall_nr = syscall
        key.failure.err = errno
        key.failure.comm_words = KernelSettings.commWords(comm)
        key.flags = truncated ? PATH_TRUNCATED.rawValue : 0
        withUnsafeMutableBytes(of: &key.path) { $0.copyBytes(from: path.prefix(KernelLimits.pathBytes)) }
        rawKey = withUnsafeBytes(of: key) { Array($0) }
        self.count = count
        isOverflow = false
    }

    /// The (syscall, errno, comm, pid, cgroup) part of the key.
    public var failure: SyscallFailure {
        SyscallFailure(CounterEntry(key: Array(rawKey.prefix(MemoryLayout<syscall_failure_key>.size)), value: count), overflow: false)
    }

    /// The path as read; nil for an overflow entry (path="<other>").
    public var path: PathReading? {
        guard !isOverflow else { return nil }
        let flagsOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.flags)!
        let pathOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.path)!
        let flags = rawKey.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: flagsOffset, as: UInt32.self) }
        return PathReading(flags: flags, buffer: rawKey[pathOffset...])
    }
}

extension PathReading {
    /// A path as the kernel's path buffer and `enum path_flags` hold it.
    init<Buffer: Collection>(flags: UInt32, buffer: Buffer) where Buffer.Element == UInt8 {
        if flags & PATH_NULL.rawValue != 0 {
            self = .null
        } else if flags & PATH_UNREADABLE.rawValue != 0 {
            self = .unreadable
        } else {
            self = .bytes(Array(buffer.prefix { $0 != 0 }), truncated: flags & PATH_TRUNCATED.rawValue != 0)
        }
    }
}
