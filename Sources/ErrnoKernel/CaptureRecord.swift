import CErrnoBPF
import Foundation
import KernelNames
import Stacks
import SystemSupport

/// One record of the `captures` ring buffer, decoded and checked: a syscall that matched armed
/// triggers (or the submission of an async request), with what user space needs to unwind its
/// stacks. Every length in the record is checked against the record's size; a record too short to
/// hold what it claims is refused (`init` returns nil), never read past.
public struct CaptureRecord: Sendable {
    /// What a record stands for.
    public enum Kind: Sendable, Equatable {
        /// A syscall that matched triggers.
        case syscall
        /// The submitting thread of an async fs request on a trigger path.
        case submission
    }

    public var kind: Kind
    /// When, on the wall clock (the kernel's monotonic stamp, dated).
    public var time: Date
    /// The kernel set of the triggers that captured it (see `KernelAccess.triggerNames(in:)`).
    public var triggerSet: UInt64
    public var result: Int64
    public var cgroupID: UInt64
    /// `.submission`: its id; `.syscall`: the submission it belongs to, or 0.
    public var submissionID: UInt64
    public var pid: UInt32
    public var tid: UInt32
    public var syscallNumber: UInt32
    public var path: PathReading
    /// The comm's bytes up to its NUL.
    public var comm: [UInt8]
    public var wantsUserStack: Bool
    /// The user registers in DWARF numbering.
    public var registers: [UInt64]
    /// A copy of the user stack from the stack pointer up.
    public var userStack: [UInt8]
    public var kernelStack: [UInt64]
    /// The process's executable mappings as the kernel recorded them at the syscall; nil when it
    /// recorded none.
    public var mappings: [Mapping]?
    /// More executable mappings existed than a record holds.
    public var mappingsTruncated: Bool

    /// Decodes `record`; nil when it is too short for its header or for the stack bytes it claims.
    /// `clockOffset` is `MonotonicClock.realtimeOffset()`.
    public init?(_ record: UnsafeRawBufferPointer, clockOffset: Int64) {
        let headerSize = MemoryLayout<capture_event>.size
        guard record.count >= headerSize else { return nil }
        let event = record.loadUnaligned(as: capture_event.self)
        let stackBytes = Int(event.user_stack_bytes)
        guard stackBytes <= record.count - headerSize, Int(event.kernel_stack_bytes) <= MemoryLayout.size(ofValue: event.kernel_stack)
        else { return nil }
        kind = event.kind == CAPTURE_SUBMISSION.rawValue ? .submission : .syscall
        time = MonotonicClock.date(ofMonotonic: event.timestamp_ns, offset: clockOffset)
        triggerSet = event.triggers
        result = event.result
        cgroupID = event.cgroup_id
        submissionID = event.submission_id
        pid = event.tgid
        tid = event.tid
        syscallNumber = event.syscall_nr
        path = withUnsafeBytes(of: event.path) { PathReading(flags: event.path_flags, buffer: $0) }
        comm = withUnsafeBytes(of: event.comm) { Array($0.prefix { $0 != 0 }) }
        wantsUserStack = event.stacks & TRIGGER_USER_STACK.rawValue != 0
        registers = withUnsafeBytes(of: event.registers) { Array($0.bindMemory(to: UInt64.self)) }
        userStack = Array(UnsafeRawBufferPointer(rebasing: record[headerSize..<headerSize + stackBytes]))
        kernelStack = withUnsafeBytes(of: event.kernel_stack) { Array($0.bindMemory(to: UInt64.self).prefix(Int(event.kernel_stack_bytes) / 8)) }
        mappings = Self.mappings(event)
        mappingsTruncated = event.mapping_count > CAPTURE_MAPPINGS
    }

    /// The mappings in the record: paths come leaf first ("libc.so.6/lib/usr/"), reversed here.
    private static func mappings(_ event: capture_event) -> [Mapping]? {
        let count = min(Int(event.mapping_count), Int(CAPTURE_MAPPINGS))
        guard count > 0 else { return nil }
        return withUnsafeBytes(of: event.mappings) { raw in
            raw.bindMemory(to: capture_mapping.self).prefix(count).map { mapping in
                var copy = mapping
                let reversed = withUnsafeBytes(of: &copy.reversed_path) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                let path = "/" + reversed.split(separator: "/").reversed().joined(separator: "/")
                return Mapping(
                    start: mapping.start, end: mapping.end, fileOffset: mapping.file_offset, executable: true,
                    device: (mapping.device >> 20, mapping.device & 0xfffff), inode: mapping.inode,
                    name: mapping.flags & MAPPING_PATH_TRUNCATED.rawValue != 0 ? "[truncated path]" : path)
            }
        }
    }
}
