import KernelNames

/// What the kernel counted for one watch since it began: its counters and its summaries (failures
/// by syscall and errno, and path syscalls' failures by path), exact whatever the stream's rate.
public struct WatchReading: Sendable, Equatable {
    /// Failures by (syscall, errno): syscount -x -p's table.
    public struct SyscallRow: Sendable, Equatable {
        public var syscallNumber: UInt32
        public var errno: UInt32
        public var count: UInt64

        public init(syscallNumber: UInt32, errno: UInt32, count: UInt64) {
            self.syscallNumber = syscallNumber
            self.errno = errno
            self.count = count
        }
    }

    /// Failures of path syscalls by (syscall, errno, path).
    public struct PathRow: Sendable, Equatable {
        public var syscallNumber: UInt32
        public var errno: UInt32
        public var path: PathReading
        public var count: UInt64

        public init(syscallNumber: UInt32, errno: UInt32, path: PathReading, count: UInt64) {
            self.syscallNumber = syscallNumber
            self.errno = errno
            self.path = path
            self.count = count
        }
    }

    /// Failures the watch saw.
    public var failures: UInt64 = 0
    /// Events sent to the stream.
    public var events: UInt64 = 0
    /// Failures not streamed: beyond the watch's rate, or no room in the ring buffer.
    public var rateLimited: UInt64 = 0
    public var ringBufferFull: UInt64 = 0
    /// Summary entries that found their table full (those failures are in `failures` only).
    public var summaryFull: UInt64 = 0
    public var syscalls: [SyscallRow] = []
    public var paths: [PathRow] = []

    public init() {}
}
