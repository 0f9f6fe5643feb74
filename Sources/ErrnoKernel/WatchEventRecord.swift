import CErrnoBPF
import Foundation
import KernelNames
import SystemSupport

/// One record of the `watch_events` ring buffer, decoded and checked: a failure that watches
/// streamed. A record of the wrong size is refused (`init` returns nil).
public struct WatchEventRecord: Sendable, Equatable {
    /// The kernel's monotonic stamp (to tell a slot's new watch from its previous one).
    public var monotonicNanoseconds: UInt64
    /// When, on the wall clock.
    public var time: Date
    /// The slots of the watches that streamed it.
    public var slots: UInt64
    public var pid: UInt32
    public var tid: UInt32
    public var syscallNumber: UInt32
    public var errno: UInt32
    /// The comm's bytes up to its NUL.
    public var comm: [UInt8]
    /// The path of a path syscall; nil for other syscalls.
    public var path: PathReading?

    public init(
        monotonicNanoseconds: UInt64, time: Date, slots: UInt64, pid: UInt32, tid: UInt32, syscallNumber: UInt32, errno: UInt32, comm: [UInt8],
        path: PathReading?
    ) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.time = time
        self.slots = slots
        self.pid = pid
        self.tid = tid
        self.syscallNumber = syscallNumber
        self.errno = errno
        self.comm = comm
        self.path = path
    }

    /// Decodes `record`; `clockOffset` is `MonotonicClock.realtimeOffset()`.
    public init?(_ record: UnsafeRawBufferPointer, clockOffset: Int64) {
        guard record.count == MemoryLayout<watch_event>.size else { return nil }
        let event = record.loadUnaligned(as: watch_event.self)
        monotonicNanoseconds = event.timestamp_ns
        time = MonotonicClock.date(ofMonotonic: event.timestamp_ns, offset: clockOffset)
        slots = event.watches
        pid = event.tgid
        tid = event.tid
        syscallNumber = event.syscall_nr
        errno = event.err
        comm = withUnsafeBytes(of: event.comm) { Array($0.prefix { $0 != 0 }) }
        path = event.has_path != 0 ? withUnsafeBytes(of: event.path) { PathReading(flags: event.path_flags, buffer: $0) } : nil
    }
}
