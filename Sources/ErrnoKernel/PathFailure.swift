import BPFKit
import CErrnoBPF
import KernelNames

/// One entry of `path_failures`, as the series its fingerprint names in `path_names` (or, with
/// `isOverflow`, an entry of `path_overflow`: path="<other>").
public struct PathFailure: Sendable {
    /// The counter's key: a `path_failure_key` followed by the path's bytes (a `syscall_failure_key`
    /// for an overflow entry).
    public let rawKey: [UInt8]
    public let count: UInt64
    public let isOverflow: Bool
    /// The path's bytes (up to the NUL) from `path_names`; empty for a NULL or unreadable path.
    let name: ArraySlice<UInt8>

    /// An entry of `path_overflow`.
    init(overflow entry: CounterEntry) {
        rawKey = entry.key
        count = entry.value
        isOverflow = true
        name = []
    }

    /// An entry of `path_failures`: its series' count.
    init(_ series: PathSeries, count: UInt64) {
        rawKey = series.bytes
        self.count = count
        isOverflow = false
        name = series.path
    }

    /// For tests and other producers of counts (the path's fingerprint from seed 0).
    public init(syscall: UInt32, errno: UInt32, comm: String, path: [UInt8], truncated: Bool = false, count: UInt64) {
        var key = path_failure_key()
        key.failure.syscall_nr = syscall
        key.failure.err = errno
        key.failure.comm_words = KernelSettings.commWords(comm)
        key.flags = truncated ? PATH_TRUNCATED.rawValue : 0
        let name = PathBuffer(path)
        key.fingerprint = name.fingerprint(seed: 0)
        self.init(PathSeries(key: withUnsafeBytes(of: key) { Array($0) }, path: name.bytes.prefix { $0 != 0 }), count: count)
    }

    /// The (syscall, errno, comm, pid, cgroup) part of the key.
    public var failure: SyscallFailure {
        SyscallFailure(CounterEntry(key: Array(rawKey.prefix(MemoryLayout<syscall_failure_key>.size)), value: count), overflow: false)
    }

    /// The syscall counter's share of this series: its failures under the syscall counter's key,
    /// when the kernel counted them here only (`PATH_COUNTS_SYSCALL`); else nil (they are in
    /// `syscall_failures`).
    public var syscallFailure: SyscallFailure? {
        let flags = flags
        guard flags & PATH_COUNTS_SYSCALL.rawValue != 0 else { return nil }
        var key = syscall_failure_key()
        withUnsafeMutableBytes(of: &key) { $0.copyBytes(from: rawKey.prefix($0.count)) }
        if flags & PATH_SYSCALL_PID.rawValue == 0 { key.tgid = 0 }
        if flags & PATH_SYSCALL_CGROUP.rawValue == 0 { key.cgroup_id = 0 }
        return SyscallFailure(CounterEntry(key: withUnsafeBytes(of: key) { Array($0) }, value: count), overflow: false)
    }

    /// The kernel's `enum path_flags` of the key; 0 for an overflow entry.
    var flags: UInt32 {
        guard !isOverflow else { return 0 }
        return rawKey.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: MemoryLayout<path_failure_key>.offset(of: \path_failure_key.flags)!, as: UInt32.self) }
    }

    /// The path as read; nil for an overflow entry (path="<other>").
    public var path: PathReading? {
        guard !isOverflow else { return nil }
        return PathReading(flags: flags, buffer: name)
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
