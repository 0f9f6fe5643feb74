import BPFKit
import CErrnoBPF

/// One entry of `syscall_failures` (or, with `isOverflow`, of `syscall_overflow`, whose key keeps
/// only syscall and errno): a count summed over CPUs, decoded from the kernel's key on demand.
public struct SyscallFailure: Sendable {
    /// The key as the kernel holds it: the identity of the entry across scrapes.
    public let rawKey: [UInt8]
    public let count: UInt64
    /// Set for entries of the overflow map (comm="<other>").
    public let isOverflow: Bool

    init(_ entry: CounterEntry, overflow: Bool) {
        rawKey = entry.key
        count = entry.value
        isOverflow = overflow
    }

    /// For tests and other producers of counts.
    public init(syscall: UInt32, errno: UInt32, comm: String, pid: UInt32 = 0, cgroupID: UInt64 = 0, count: UInt64) {
        var key = syscall_failure_key()
        key.syscall_nr = syscall
        key.err = errno
        key.comm_words = KernelSettings.commWords(comm)
        key.tgid = pid
        key.cgroup_id = cgroupID
        rawKey = withUnsafeBytes(of: key) { Array($0) }
        self.count = count
        isOverflow = false
    }

    private var key: syscall_failure_key {
        var key = syscall_failure_key()
        withUnsafeMutableBytes(of: &key) { $0.copyBytes(from: rawKey.prefix($0.count)) }
        return key
    }

    public var syscallNumber: UInt32 { key.syscall_nr }
    public var errno: UInt32 { key.err }
    /// The comm's bytes up to its NUL; nil for an overflow entry.
    public var comm: [UInt8]? { isOverflow ? nil : withUnsafeBytes(of: key.comm) { Array($0.prefix { $0 != 0 }) } }
    /// The process, when the pid label was on as it was counted; else 0.
    public var pid: UInt32 { isOverflow ? 0 : key.tgid }
    /// The cgroup v2 id, when the cgroup label was on as it was counted; else 0.
    public var cgroupID: UInt64 { isOverflow ? 0 : key.cgroup_id }
}
