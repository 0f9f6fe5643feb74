import Foundation
import Stacks
import Synchronization

/// One stack capture: a syscall that matched armed triggers, with its stacks symbolized at once
/// (the process may exit right after). What `/api/v1/captures` serves.
public struct Capture: Sendable, Encodable {
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

    /// The submitting side of an async request: its thread, when, and its stack at submission.
    public struct Submission: Sendable, Encodable {
        public var tid: UInt32
        public var time: Date
        public var userStack: [StackFrame]
        public var unwind: UnwindSummary

        enum CodingKeys: String, CodingKey {
            case tid, time, userStack = "user_stack", unwind
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tid, forKey: .tid)
            try container.encode(Capture.timestamp(time), forKey: .time)
            try container.encode(userStack, forKey: .userStack)
            try container.encode(unwind, forKey: .unwind)
        }
    }

    public var trigger: String { triggers.first ?? "" }

    /// What the user stack's capture and unwinding achieved.
    public struct UnwindSummary: Sendable, Encodable {
        /// Bytes of user stack copied by the kernel.
        public var stackBytes: Int
        /// Why unwinding stopped; nil when no user stack was asked for.
        public var end: UnwindEnd?
        /// Set when the process was gone before its memory map could be read: frames keep bare addresses.
        public var processExited: Bool
        public var unresolvedFrames: Int

        enum CodingKeys: String, CodingKey {
            case stackBytes = "stack_bytes", end, processExited = "process_exited", unresolvedFrames = "unresolved_frames"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, trigger, triggers, time, pid, tid, comm, syscall, path, errno, result, cgroup
        case userStack = "user_stack", kernelStack = "kernel_stack", unwind, submittedBy = "submitted_by"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(id), forKey: .id)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(triggers, forKey: .triggers)
        try container.encode(Self.timestamp(time), forKey: .time)
        try container.encode(pid, forKey: .pid)
        try container.encode(tid, forKey: .tid)
        try container.encode(comm, forKey: .comm)
        try container.encode(syscall, forKey: .syscall)
        try container.encode(path, forKey: .path)
        try container.encode(errno, forKey: .errno)
        try container.encode(result, forKey: .result)
        try container.encode(cgroup, forKey: .cgroup)
        try container.encode(userStack, forKey: .userStack)
        try container.encode(kernelStack, forKey: .kernelStack)
        try container.encode(unwind, forKey: .unwind)
        try container.encode(submittedBy, forKey: .submittedBy)
    }

    /// RFC 3339 with microseconds, UTC.
    public static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = Int(seconds.rounded(.down))
        let micros = Int(((seconds - Double(whole)) * 1_000_000).rounded(.down))
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
    }

    /// Brendan Gregg's folded format, one line: `comm;outermost;…;innermost 1`, user frames then
    /// kernel frames (marked `_[k]`), for flame graph tools. An async request's submitting stack
    /// comes first, then `[submitted]`, then the pool thread's own frames: one stitched stack.
    public var folded: String {
        let submitted = submittedBy.map { $0.userStack.reversed().map { Self.foldedName($0.displayName) } + ["[submitted]"] } ?? []
        let user = userStack.reversed().map { Self.foldedName($0.displayName) }
        let kernel = kernelStack.reversed().map { Self.foldedName($0.displayName) + "_[k]" }
        return ([Self.foldedName(comm)] + submitted + user + kernel).joined(separator: ";") + " 1\n"
    }

    /// Folded lines separate frames with `;` and end with ` count`: neither may appear in a name.
    static func foldedName(_ name: String) -> String {
        String(name.map { $0 == ";" || $0 == "\n" ? "_" : $0 })
    }
}

/// The most recent captures, newest first, bounded (`captures.keep`): the oldest goes first.
public final class CaptureStore: Sendable {
    private struct State {
        var ring: [Capture] = []
        var next = 0
        var nextID: UInt64 = 1
        var capacity: Int
    }

    private let state: Mutex<State>

    public init(capacity: Int) {
        state = Mutex(State(capacity: max(capacity, 1)))
    }

    /// Stores `capture` under a new id (returned).
    @discardableResult
    public func add(_ capture: Capture) -> Capture {
        state.withLock { state in
            var stored = capture
            stored.id = state.nextID
            state.nextID += 1
            if state.ring.count < state.capacity {
                state.ring.append(stored)
            } else {
                state.ring[state.next] = stored
                state.next = (state.next + 1) % state.capacity
            }
            return stored
        }
    }

    /// Changes the capacity (a reload); keeps the newest captures that fit.
    public func resize(_ capacity: Int) {
        state.withLock { state in
            let newest = Self.newestFirst(state)
            state.capacity = max(capacity, 1)
            state.ring = Array(newest.prefix(state.capacity).reversed())
            state.next = 0
        }
    }

    public var isEmpty: Bool { state.withLock { $0.ring.isEmpty } }

    /// Newest first; only those of `trigger` when given; at most `limit`.
    public func list(trigger: String? = nil, limit: Int = .max) -> [Capture] {
        let all = state.withLock { Self.newestFirst($0) }
        return Array(all.lazy.filter { trigger == nil || $0.triggers.contains(trigger!) }.prefix(limit))
    }

    public func capture(id: UInt64) -> Capture? {
        state.withLock { state in state.ring.first { $0.id == id } }
    }

    private static func newestFirst(_ state: State) -> [Capture] {
        guard state.ring.count == state.capacity else { return state.ring.reversed() }
        return (state.ring[state.next...] + state.ring[..<state.next]).reversed()
    }
}
