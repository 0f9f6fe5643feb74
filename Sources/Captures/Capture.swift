import Foundation
import Stacks

/// One stack capture: a syscall that matched armed triggers, with its stacks symbolized at once
/// (the process may exit right after). What `/api/v1/captures` serves.
public struct Capture: Sendable {
    public var id: UInt64
    /// The triggers that captured it (several when their paths overlap); `trigger` is the first.
    public var triggers: [String]
    public var time: Date
    public var pid: UInt32
    public var tid: UInt32
    public var comm: String
    public var syscall: String
    /// The path as the `path` label shows it (lossless, see PathLabel).
    public var path: String
    /// The errno name, nil for a successful syscall.
    public var errno: String?
    /// The syscall's return value (-errno on failure).
    public var result: Int64
    public var cgroup: String
    public var userStack: [StackFrame]
    public var kernelStack: [StackFrame]
    /// How much was captured and why unwinding stopped.
    public var unwind: UnwindSummary
    /// For a syscall on a libuv pool thread (async_stacks): the thread that submitted the request.
    public var submittedBy: Submission?

    public init(
        id: UInt64 = 0, triggers: [String], time: Date, pid: UInt32, tid: UInt32, comm: String, syscall: String, path: String,
        errno: String?, result: Int64, cgroup: String = "", userStack: [StackFrame] = [], kernelStack: [StackFrame] = [],
        unwind: UnwindSummary = UnwindSummary(), submittedBy: Submission? = nil
    ) {
        self.id = id
        self.triggers = triggers
        self.time = time
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.syscall = syscall
        self.path = path
        self.errno = errno
        self.result = result
        self.cgroup = cgroup
        self.userStack = userStack
        self.kernelStack = kernelStack
        self.unwind = unwind
        self.submittedBy = submittedBy
    }

    /// The submitting side of an async request: its thread, when, and its stack at submission.
    public struct Submission: Sendable {
        public var tid: UInt32
        public var time: Date
        public var userStack: [StackFrame]
        public var unwind: UnwindSummary
    }

    public var trigger: String { triggers.first ?? "" }

    /// What the user stack's capture and unwinding achieved.
    public struct UnwindSummary: Sendable {
        /// Bytes of user stack copied by the kernel.
        public var stackBytes = 0
        /// Why unwinding stopped; nil when no user stack was asked for.
        public var end: UnwindEnd?
        /// Set when the process was gone by the time its stack was named: its files could no longer be
        /// opened through /proc, so frames in modules not read before may keep bare addresses.
        public var processExited = false
        /// Set when no memory map was at hand (none recorded by the kernel, and the process exited
        /// before /proc gave one): every frame keeps its bare address. Counted in
        /// `errno_exporter_captures_without_maps_total`.
        public var withoutMaps = false
        public var unresolvedFrames = 0

        public init(stackBytes: Int = 0, end: UnwindEnd? = nil, processExited: Bool = false, withoutMaps: Bool = false, unresolvedFrames: Int = 0) {
            self.stackBytes = stackBytes
            self.end = end
            self.processExited = processExited
            self.withoutMaps = withoutMaps
            self.unresolvedFrames = unresolvedFrames
        }
    }
}
