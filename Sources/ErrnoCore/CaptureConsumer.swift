import BPFKit
import CErrnoBPF
import Exposition
import Foundation
import KernelNames
import Logging
import Stacks
import Synchronization

/// Reads the `captures` ring buffer on a thread of its own and turns each record into a `Capture`:
/// the process's memory map is read first (the process may exit a moment later), then the copied
/// user stack is unwound and every frame symbolized, the kernel frames named from kallsyms; the
/// capture goes to the store and one log line. Also the collector of what this costs or loses.
public final class CaptureConsumer: Collector, @unchecked Sendable {
    private struct Tally {
        var captures: UInt64 = 0
        var unresolvedUserFrames: UInt64 = 0
        var unresolvedKernelFrames: UInt64 = 0
        var withoutMaps: UInt64 = 0
        var mappingsTruncated: UInt64 = 0
        var malformed: UInt64 = 0
        var unwindEnds: [UnwindEnd: UInt64] = [:]
        var submissions: [String: UInt64] = [:]
        var frames: [UnwindMethod: UInt64] = [:]
    }

    public let store: CaptureStore
    private let ringMap: BPFMap
    private var ring: RingBuffer?
    private let triggers: TriggerDirectory
    private let logger: Logger
    private let syscalls = SyscallNames()
    private let tally = Mutex(Tally())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    // Used on the polling thread only.
    private let symbolizer: Symbolizer
    private let unwinder = Unwinder()
    private let cgroups = CgroupNames()
    private let clockOffset = CaptureConsumer.realtimeMinusMonotonic()
    /// Submitting stacks of async requests, until their pool thread's capture arrives (bounded: the
    /// oldest are dropped, counted as unlinked).
    private var submissions: [UInt64: Capture.Submission] = [:]
    private var submissionOrder: [UInt64] = []
    static let maxPendingSubmissions = 4096

    /// Opens the ring buffer of `program` (loaded). `kernelSymbols` were read while privileged.
    public init(program: ErrnoProgram, store: CaptureStore, kernelSymbols: KernelSymbols, logger: Logger) throws {
        self.store = store
        self.triggers = program.triggers
        self.logger = logger
        symbolizer = Symbolizer(kernelSymbols: kernelSymbols)
        ringMap = program.captures
    }

    /// Starts the polling thread.
    public func start() throws {
        let ring = try RingBuffer(map: ringMap) { [unowned self] record in self.handle(record) }
        self.ring = ring
        nonisolated(unsafe) let polled = ring  // used by the polling thread only
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                do {
                    try polled.poll(timeoutMilliseconds: 100)
                } catch {
                    logger.error("polling the captures ring buffer failed", metadata: ["error": "\(error)"])
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            finished.signal()
        }
        thread.name = "captures"
        thread.start()
    }

    /// Stops the polling thread and waits for it.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed), ring != nil else { return }
        finished.wait()
    }

    /// CLOCK_REALTIME − CLOCK_MONOTONIC, to date the kernel's monotonic timestamps.
    static func realtimeMinusMonotonic() -> Int64 {
        var real = timespec(), monotonic = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        return (Int64(real.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(monotonic.tv_nsec)
    }

    func handle(_ record: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<capture_event>.size
        guard record.count >= headerSize else {
            tally.withLock { $0.malformed += 1 }
            return
        }
        let event = record.loadUnaligned(as: capture_event.self)
        let pid = Int32(bitPattern: event.tgid)
        let wantsUser = event.stacks & TRIGGER_USER_STACK.rawValue != 0
        // The executable mappings the kernel recorded at the syscall (a consistent snapshot, there
        // even when the process has exited since); else /proc/PID/maps, now.
        var maps: ProcessMaps?
        if wantsUser {
            maps = Self.kernelMaps(event, pid: pid) ?? (try? ProcessMaps(pid: pid))
        }
        let perfMap = wantsUser ? symbolizer.perfMap(pid: pid) : nil

        var userStack: [StackFrame] = []
        var end: UnwindEnd?
        let stackBytes = min(Int(event.user_stack_bytes), record.count - headerSize)
        if wantsUser {
            let registers = withUnsafeBytes(of: event.registers) { Array($0.bindMemory(to: UInt64.self)) }
            let stack = StackMemory(
                base: registers[unwinder.architecture.stackPointer],
                bytes: Array(UnsafeRawBufferPointer(rebasing: record[headerSize..<headerSize + stackBytes])))
            let code = ProcessCode(maps: maps ?? ProcessMaps(pid: pid, text: ""), cache: symbolizer.cache)
            let unwound = unwinder.unwind(registers: registers, stack: stack, code: code)
            end = unwound.end
            userStack = symbolizer.userFrames(unwound.frames, code: code, perfMap: perfMap)
        }
        let kernelAddresses = withUnsafeBytes(of: event.kernel_stack) { Array($0.bindMemory(to: UInt64.self).prefix(Int(event.kernel_stack_bytes) / 8)) }
        let kernelStack = symbolizer.kernelFrames(kernelAddresses)
        let unresolved = userStack.filter { $0.symbol == nil }.count

        let unwind = Capture.UnwindSummary(
            stackBytes: stackBytes, end: end, processExited: wantsUser && kill(pid, 0) != 0 && errno == ESRCH, unresolvedFrames: unresolved)
        let nanoseconds = Int64(bitPattern: event.timestamp_ns) + clockOffset
        let time = Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
        if event.kind == CAPTURE_SUBMISSION.rawValue {
            remember(Capture.Submission(tid: event.tid, time: time, userStack: userStack, unwind: unwind), id: event.submission_id)
            return
        }
        var capture = Capture(
            id: 0, triggers: triggers.names(in: event.triggers),
            time: time,
            pid: event.tgid, tid: event.tid,
            comm: withUnsafeBytes(of: event.comm) { LabelValue.encodeCString($0) },
            syscall: syscalls.name(event.syscall_nr),
            path: withUnsafeBytes(of: event.path) { PathLabel.value(flags: event.path_flags, path: $0) },
            errno: event.result < 0 ? ErrnoNames.name(UInt32(-event.result)) : nil, result: event.result,
            cgroup: event.cgroup_id == 0 ? "" : cgroups.name(event.cgroup_id),
            userStack: userStack, kernelStack: kernelStack,
            unwind: unwind)
        if event.submission_id != 0 {
            capture.submittedBy = submissions.removeValue(forKey: event.submission_id)
            tally.withLock { $0.submissions[capture.submittedBy == nil ? "unlinked" : "linked", default: 0] += 1 }
        }
        capture = store.add(capture)
        tally.withLock { tally in
            tally.captures += 1
            tally.unresolvedUserFrames += UInt64(unresolved)
            tally.unresolvedKernelFrames += UInt64(kernelStack.filter { $0.symbol == nil }.count)
            if wantsUser, maps == nil { tally.withoutMaps += 1 }
            if event.mapping_count > CAPTURE_MAPPINGS { tally.mappingsTruncated += 1 }
            if let end { tally.unwindEnds[end, default: 0] += 1 }
            for frame in userStack { tally.frames[frame.method, default: 0] += 1 }
        }
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

    /// The mappings in the record: paths come leaf first ("libc.so.6/lib/usr/"), reversed here.
    static func kernelMaps(_ event: capture_event, pid: Int32) -> ProcessMaps? {
        let count = min(Int(event.mapping_count), Int(CAPTURE_MAPPINGS))
        guard count > 0 else { return nil }
        let mappings = withUnsafeBytes(of: event.mappings) { raw in
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
        return ProcessMaps(pid: pid, mappings: mappings)
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

    public func collect() throws -> [MetricFamily] {
        let tally = tally.withLock { $0 }
        return [
            MetricFamily(
                name: "errno_exporter_captures_processed_total", help: "Captures read from the ring buffer, unwound, symbolized and stored.",
                type: .counter, samples: [Sample(value: Double(tally.captures))]),
            MetricFamily(
                name: "errno_exporter_unresolved_frames_total",
                help: "Captured frames no symbol covers (they keep module and offset, or their bare address), by stack.",
                type: .counter,
                samples: [
                    Sample(labels: [Label("stack", "kernel")], value: Double(tally.unresolvedKernelFrames)),
                    Sample(labels: [Label("stack", "user")], value: Double(tally.unresolvedUserFrames)),
                ]),
            MetricFamily(
                name: "errno_exporter_captures_without_maps_total",
                help: "Captures with no memory map (neither recorded by the kernel nor readable from /proc): their user frames keep bare addresses.",
                type: .counter, samples: [Sample(value: Double(tally.withoutMaps))]),
            MetricFamily(
                name: "errno_exporter_capture_mappings_truncated_total",
                help: "Captures of processes with more executable mappings than a record holds (32): frames in the others stay unresolved.",
                type: .counter, samples: [Sample(value: Double(tally.mappingsTruncated))]),
            MetricFamily(
                name: "errno_exporter_capture_records_malformed_total", help: "Ring buffer records too short to be a capture.",
                type: .counter, samples: [Sample(value: Double(tally.malformed))]),
            MetricFamily(
                name: "errno_exporter_unwind_stops_total",
                help: "How user stack unwinding ended: outermost (complete), stack_copy_end (raise captures.user_stack_bytes), no_unwind_info, no_progress, frame_limit.",
                type: .counter,
                samples: [UnwindEnd.outermost, .stackCopyEnd, .noUnwindInfo, .noProgress, .frameLimit].map {
                    Sample(labels: [Label("reason", $0.rawValue)], value: Double(tally.unwindEnds[$0] ?? 0))
                }),
            MetricFamily(
                name: "errno_exporter_async_submissions_total",
                help: "Pool-thread captures of async requests whose submitting stack was (linked) or was not (unlinked) at hand, and submitting stacks dropped unused (expired).",
                type: .counter,
                samples: ["expired", "linked", "unlinked"].map { Sample(labels: [Label("outcome", $0)], value: Double(tally.submissions[$0] ?? 0)) }),
            MetricFamily(
                name: "errno_exporter_unwound_frames_total", help: "User frames unwound, by the method that found them (registers, cfi, frame_pointer).",
                type: .counter,
                samples: [UnwindMethod.registers, .cfi, .framePointer].map {
                    Sample(labels: [Label("method", $0.rawValue)], value: Double(tally.frames[$0] ?? 0))
                }),
        ]
    }
}
