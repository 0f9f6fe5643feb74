import ErrnoKernel
import Foundation
import KernelNames

/// One failure on a watch's stream, named: `{time, pid, tid, comm, syscall, errno, path}` (`path`
/// only for path syscalls). comm and path are label-encoded as in the metrics (lossless; bytes that
/// are not UTF-8 escaped).
public struct WatchEvent: Sendable, Equatable {
    public var time: Date
    public var pid: UInt32
    public var tid: UInt32
    public var comm: String
    public var syscall: String
    public var errno: String
    public var path: String?

    public init(time: Date, pid: UInt32, tid: UInt32, comm: String, syscall: String, errno: String, path: String?) {
        self.time = time
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.syscall = syscall
        self.errno = errno
        self.path = path
    }

    /// The record named with `names`.
    public init(_ record: WatchEventRecord, names: SyscallNames) {
        self.init(
            time: record.time, pid: record.pid, tid: record.tid, comm: LabelValue.encode(record.comm), syscall: names.name(record.syscallNumber),
            errno: ErrnoNames.name(record.errno), path: record.path.map(PathLabel.value))
    }
}

/// What a watch's stream carries: failures, announcements of failures it did not carry, and its end.
public enum WatchStreamItem: Sendable, Equatable {
    /// The stream is connected: every failure from now on reaches it (the first item).
    case subscribed(watch: String, time: Date)
    case failure(WatchEvent)
    /// `count` failures were not streamed (they are in the summary), for `reason`.
    case dropped(count: UInt64, reason: DropReason)
    /// The watch ended (the stream closes after this).
    case end(EndReason)
    /// Nothing happened for a while: written so that a client that went away is noticed.
    case heartbeat(Date)

    /// Why failures were left out of a stream.
    public enum DropReason: String, Sendable {
        /// Beyond the watch's events a second (enforced in the kernel).
        case rateLimited = "rate_limited"
        /// The kernel's event ring buffer had no room.
        case ringBufferFull = "ring_buffer_full"
        /// This client read more slowly than failures came.
        case slowClient = "slow_client"
    }

    /// Why a watch ended.
    public enum EndReason: String, Sendable {
        /// Its duration ran out; it was deleted; its process (a pid watch's) exited — the stream ends,
        /// the watch's summary stays —; the agent stopped.
        case expired, deleted, exited, shutdown
    }
}
