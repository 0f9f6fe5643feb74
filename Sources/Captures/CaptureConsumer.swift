import ErrnoKernel
import Foundation
import KernelNames
import Logging
import Stacks
import Synchronization

/// Reads the kernel's capture records on threads of their own and turns each into a `Capture`: its
/// process's maps read as it arrives (the process may exit a moment later), its stacks resolved by
/// `StackResolver`, its triggers named; the capture goes to the store and one log line. Also the
/// collector of what this costs or loses (`CaptureConsumer+Metrics.swift`).
public final class CaptureConsumer: @unchecked Sendable {
    struct Tally {
        var captures: UInt64 = 0
        var unresolvedUserFrames: UInt64 = 0
        var unresolvedKernelFrames: UInt64 = 0
        var withoutMaps: UInt64 = 0
        var mappingsTruncated: UInt64 = 0
        var malformed: UInt64 = 0
        var unwindEnds: [UnwindEnd: UInt64] = [:]
        var submissions: [String: UInt64] = [:]
        var frames: [UnwindMethod: UInt64] = [:]
        var resymbolized: UInt64 = 0
        /// User frames (submitting stacks' too) by what named them.
        var namedFrames: [FrameNaming: UInt64] = [:]
        var jitFiles = JITFileTally()
    }

    public let store: CaptureStore
    private let kernel: any KernelAccess
    private let logger: Logger
    private let syscalls = SyscallNames()
    let tally = Mutex(Tally())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    // Used on the symbolizing thread only (but for `rememberMaps(pid:)`, on the reading one).
    private let resolver: StackResolver
    private let cgroups = CgroupNames()
    /// Submitting stacks of async requests, until their pool thread's capture arrives (bounded: the
    /// oldest are dropped, counted as expired).
    private var submissions: [UInt64: Capture.Submission] = [:]
    private var submissionOrder: [UInt64] = []
    static let maxPendingSubmissions = 4096
    /// How often the maps of captured processes are re-read (kernels without the VMA iterator).
    static let mapsRefreshInterval = Duration.seconds(2)
    /// Records read from the ring and not yet symbolized (beyond this the ring buffer holds them).
    static let maxQueuedRecords = 64
    private var arrivals: CaptureArrivals?

    public init(kernel: any KernelAccess, store: CaptureStore, resolver: StackResolver, logger: Logger) {
        self.kernel = kernel
        self.store = store
        self.resolver = resolver
        self.logger = logger
    }

    /// Starts two threads on `handle`'s capture ring: one reads records as they come and, for a
    /// record without mappings, reads its process's maps at once (the process may exit in a
    /// moment); the other symbolizes them in order, however long a first kallsyms or DWARF read takes.
    public func start(reading handle: KernelHandle) throws {
        let arrivals = CaptureArrivals(capacity: Self.maxQueuedRecords)
        self.arrivals = arrivals
        nonisolated(unsafe) let ring = try handle.captureRing { [resolver] record in  // the reading thread's only
            var processStart: UInt64?
            if let record, record.wantsUserStack, record.mappings == nil { processStart = resolver.rememberMaps(pid: Int32(bitPattern: record.pid)) }
            arrivals.put(record, processStart: processStart)
        }
        started = true
        resolver.symbolizer.debugInfo?.start()
        let reader = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                do {
                    try ring.poll(timeoutMilliseconds: 100)
                } catch {
                    logger.error("polling the captures ring buffer failed", metadata: ["error": "\(error)"])
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            finished.signal()
        }
        reader.name = "captures-ring"
        let symbolizing = Thread { [self] in
            var lastRefresh = ContinuousClock.now
            while !stopping.load(ordering: .relaxed) {
                for arrival in arrivals.take(waitingUpTo: .milliseconds(100)) { self.handle(arrival.record, processStart: arrival.processStart) }
                if let arrivals = resolver.symbolizer.debugInfo?.takeArrivals() {
                    for arrival in arrivals { resymbolize(arrival) }
                }
                if ContinuousClock.now - lastRefresh > Self.mapsRefreshInterval {
                    resolver.refreshProcessMaps()
                    lastRefresh = .now
                }
            }
            finished.signal()
        }
        symbolizing.name = "captures"
        reader.start()
        symbolizing.start()
    }

    /// Stops both threads and waits for them.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed), started else { return }
        arrivals?.close()
        finished.wait()
        finished.wait()
        resolver.symbolizer.debugInfo?.stop()
    }

    /// Names again the frames of stored captures (and of submitting stacks not yet linked) in the
    /// module whose debug file has just arrived. Computed on this thread, outside the store's lock.
    func resymbolize(_ arrival: DebugInfoFetcher.Arrival) {
        guard let file = try? ElfImage(path: arrival.path, searchDebugFiles: false, owners: [geteuid()]) else { return }
        let symbolizer = resolver.symbolizer
        func renamed(_ frames: [StackFrame]) -> [StackFrame]? { symbolizer.resymbolized(frames, buildID: arrival.buildID, debugFile: file) }
        var updated: [Capture] = []
        for var capture in store.list() {
            var changed = false
            if let frames = renamed(capture.userStack) {
                capture.userStack = frames
                capture.unwind.unresolvedFrames = frames.filter { $0.symbol == nil }.count
                changed = true
            }
            if let submission = capture.submittedBy, let frames = renamed(submission.userStack) {
                capture.submittedBy?.userStack = frames
                capture.submittedBy?.unwind.unresolvedFrames = frames.filter { $0.symbol == nil }.count
                changed = true
            }
            if changed { updated.append(capture) }
        }
        for (id, submission) in submissions {
            if let frames = renamed(submission.userStack) { submissions[id]?.userStack = frames }
        }
        store.replace(updated)
        tally.withLock { $0.resymbolized += UInt64(updated.count) }
        if !updated.isEmpty {
            logger.info("captures symbolized again with a fetched debug file", metadata: ["build_id": "\(arrival.buildID)", "captures": "\(updated.count)"])
        }
    }

    /// One record from the ring (nil: malformed); `processStart`: its process's start time when
    /// its maps were read on arrival.
    func handle(_ record: CaptureRecord?, processStart: UInt64?) {
        guard let record else {
            tally.withLock { $0.malformed += 1 }
            return
        }
        let pid = Int32(bitPattern: record.pid)
        var user: ResolvedStack?
        if record.wantsUserStack {
            user = resolver.userStack(pid: pid, registers: record.registers, stack: record.userStack, recordedMaps: record.mappings, processStart: processStart)
        }
        let userStack = user?.frames ?? []
        let jitFiles = resolver.symbolizer.jitFileTally
        tally.withLock { tally in
            tally.jitFiles = jitFiles
            for case let namedBy? in userStack.lazy.map(\.namedBy) { tally.namedFrames[namedBy, default: 0] += 1 }
        }
        let kernelStack = resolver.kernelStack(record.kernelStack)
        let unresolved = userStack.filter { $0.symbol == nil }.count
        let unwind = Capture.UnwindSummary(
            stackBytes: record.userStack.count, end: user?.end, processExited: user != nil && kill(pid, 0) != 0 && errno == ESRCH,
            withoutMaps: user.map { !$0.hadMaps } ?? false, unresolvedFrames: unresolved)
        if record.kind == .submission {
            remember(Capture.Submission(tid: record.tid, time: record.time, userStack: userStack, unwind: unwind), id: record.submissionID)
            return
        }
        var capture = Capture(
            triggers: kernel.triggerNames(in: record.triggerSet), time: record.time, pid: record.pid, tid: record.tid,
            comm: LabelValue.encode(record.comm), syscall: syscalls.name(record.syscallNumber), path: PathLabel.value(record.path),
            errno: record.result < 0 ? ErrnoNames.name(UInt32(truncatingIfNeeded: -record.result)) : nil, result: record.result,
            cgroup: record.cgroupID == 0 ? "" : cgroups.name(record.cgroupID),
            userStack: userStack, kernelStack: kernelStack, unwind: unwind)
        if record.submissionID != 0 {
            capture.submittedBy = submissions.removeValue(forKey: record.submissionID)
            tally.withLock { $0.submissions[capture.submittedBy == nil ? "unlinked" : "linked", default: 0] += 1 }
        }
        // Counted before it is stored: whoever sees the capture sees it counted.
        tally.withLock { tally in
            tally.captures += 1
            tally.unresolvedUserFrames += UInt64(unresolved)
            tally.unresolvedKernelFrames += UInt64(kernelStack.filter { $0.symbol == nil }.count)
            if unwind.withoutMaps { tally.withoutMaps += 1 }
            if record.mappingsTruncated { tally.mappingsTruncated += 1 }
            if let end = user?.end { tally.unwindEnds[end, default: 0] += 1 }
            for frame in userStack { tally.frames[frame.method, default: 0] += 1 }
        }
        capture = store.add(capture)
        log(capture)
    }

    /// Keeps a submitting stack until its pool thread's capture links it.
    private func remember(_ submission: Capture.Submission, id: UInt64) {
        submissions[id] = submission
        submissionOrder.append(id)
        while submissionOrder.count > Self.maxPendingSubmissions {
            if submissions.removeValue(forKey: submissionOrder.removeFirst()) != nil {
                tally.withLock { $0.submissions["expired", default: 0] += 1 }
            }
        }
        if submissionOrder.count > 2 * submissions.count + 64 { submissionOrder = submissionOrder.filter { submissions[$0] != nil } }
    }

    private func log(_ capture: Capture) {
        let named = capture.userStack.prefix(12).map(\.displayName).joined(separator: " < ")
        logger.info(
            "stack captured",
            metadata: [
                "capture": "\(capture.id)", "trigger": "\(capture.triggers.joined(separator: ","))", "pid": "\(capture.pid)",
                "tid": "\(capture.tid)", "comm": "\(capture.comm)", "syscall": "\(capture.syscall)", "path": "\(capture.path)",
                "errno": "\(capture.errno ?? "none")", "user_frames": "\(capture.userStack.count)",
                "kernel_frames": "\(capture.kernelStack.count)", "stack": "\(named)",
            ])
    }
}
