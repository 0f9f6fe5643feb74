import ErrnoKernel
import Foundation
import KernelNames
import Logging
import Synchronization
import SystemSupport

/// The running watches (`POST /api/v1/watches`): starts each in a kernel slot, hands the kernel's
/// events to each watch's subscribers (streams), announces what they did not get, reads summaries,
/// and ends watches when deleted or out of time. Bounded: `maxWatches` at once, `maxSubscribers`
/// streams per watch, `streamBuffer` items waiting per stream (a slower client loses the newest, and
/// is told how many). Every create and delete is an audit log line. Also the collector of what the
/// watches streamed and lost (`WatchRegistry+Metrics.swift`).
public final class WatchRegistry: Sendable {
    /// Why a request to start, read or end a watch was refused.
    public enum Refusal: Error, CustomStringConvertible, Equatable {
        case tooMany(Int)
        case noSuchCgroup(String)
        case unknown(String)
        case tooManyStreams(Int)
        case kernel(String)
        /// This kernel cannot run such a watch (a missing feature): the reason says which and why.
        case unsupported(String)

        public var description: String {
            switch self {
            case .tooMany(let limit): "\(limit) watches are running (--web.investigations.max-watches); end one first"
            case .noSuchCgroup(let path): "no cgroup \(path) in the cgroup v2 hierarchy"
            case .unknown(let id): "no running watch \(id)"
            case .tooManyStreams(let limit): "this watch already has \(limit) streams open"
            case .kernel(let reason): "the kernel refused the watch: \(reason)"
            case .unsupported(let reason): reason
            }
        }
    }

    struct Subscriber {
        let continuation: AsyncStream<WatchStreamItem>.Continuation
        /// Failures this stream did not carry and has not been told of yet, by reason (a notice
        /// that finds the stream's buffer full is kept for the next tick).
        var unannounced: [WatchStreamItem.DropReason: UInt64] = [:]
    }

    struct Running {
        var watch: Watch
        let slot: UInt32
        /// Records stamped before this are a previous watch's of the same slot.
        let startedMonotonic: UInt64
        let deadlineMonotonic: UInt64
        /// A pid watch whose process exited: out of the kernel's selectors, its streams closed, its
        /// summary kept until it ends.
        var exited = false
        var subscribers: [Int: Subscriber] = [:]
        /// The kernel's not-streamed counters as last announced.
        var seenRateLimited: UInt64 = 0
        var seenRingBufferFull: UInt64 = 0
    }

    struct Totals {
        var started: UInt64 = 0
        var streamed: UInt64 = 0
        var dropped: [WatchStreamItem.DropReason: UInt64] = [:]
        var malformed: UInt64 = 0
        var ended: [WatchStreamItem.EndReason: UInt64] = [:]
    }

    struct State {
        var running: [String: Running] = [:]
        var nextNumber = 1
        var nextSubscriber = 0
        /// Watches being put in force (their place is taken).
        var starting = 0
        var totals = Totals()
        var lastHeartbeat = MonotonicClock.nanoseconds()
    }

    private let kernel: any WatchAccess
    private let logger: Logger
    private let cgroupID: @Sendable (String) -> UInt64?
    private let processExists: @Sendable (UInt32) -> Bool
    private let syscalls = SyscallNames()
    let state = Mutex(State())
    public let maxWatches: Int
    /// Streams one watch may have open at once.
    public static let maxSubscribers = 8
    /// Items waiting per stream.
    public static let streamBuffer = 1024
    /// How often every stream gets a heartbeat.
    public static let heartbeatNanoseconds: UInt64 = 15_000_000_000

    public init(
        kernel: any WatchAccess, maxWatches: Int, logger: Logger,
        cgroupID: @escaping @Sendable (String) -> UInt64? = { Cgroup2Mount.id(of: $0) },
        processExists: @escaping @Sendable (UInt32) -> Bool = { kill(pid_t(bitPattern: $0), 0) == 0 || errno == EPERM }
    ) {
        self.processExists = processExists
        self.kernel = kernel
        self.maxWatches = min(maxWatches, KernelLimits.maxWatches)
        self.logger = logger
        self.cgroupID = cgroupID
    }

    /// Starts a watch for `request`; `user` names who asked (for the audit line).
    public func create(_ request: WatchRequest, by user: String) throws(Refusal) -> Watch {
        let target: WatchSpec.Target
        switch request.target {
        case .pid(let pid): target = .pid(pid)
        case .comm(let comm): target = .comm(comm)
        case .cgroup(let path):
            guard let id = cgroupID(path) else { throw .noSuchCgroup(path) }
            target = .cgroup(id: id)
        }
        let spec = WatchSpec(target: target, pathsOnly: request.pathsOnly, eventsPerSecond: request.eventsPerSecond)
        // A place is reserved under the lock; the kernel is written outside it (streams keep flowing).
        try state.withLock { state throws(Refusal) in
            guard state.running.count + state.starting < maxWatches else { throw .tooMany(maxWatches) }
            state.starting += 1
        }
        let started = MonotonicClock.nanoseconds()
        let slot: UInt32
        do {
            slot = try kernel.startWatch(spec)
        } catch let error as StartupError {
            state.withLock { $0.starting -= 1 }
            throw .unsupported(error.description)
        } catch {
            state.withLock { $0.starting -= 1 }
            throw .kernel("\(error)")
        }
        let watch = state.withLock { state -> Watch in
            state.starting -= 1
            let now = Date()
            let watch = Watch(
                id: String(state.nextNumber), target: request.target, pathsOnly: request.pathsOnly, eventsPerSecond: request.eventsPerSecond, created: now,
                expires: now.addingTimeInterval(Double(request.durationSeconds)), createdBy: user)
            state.nextNumber += 1
            state.totals.started += 1
            state.running[watch.id] = Running(
                watch: watch, slot: slot, startedMonotonic: started, deadlineMonotonic: started + UInt64(request.durationSeconds) * 1_000_000_000)
            return watch
        }
        logger.notice(
            "watch started",
            metadata: [
                "watch": "\(watch.id)", "target": "\(watch.targetDescription)", "paths_only": "\(watch.pathsOnly)",
                "duration": "\(DurationText.text(request.durationSeconds))", "events_per_second": "\(watch.eventsPerSecond)", "user": "\(user)",
            ])
        return watch
    }

    /// The running watches, oldest first.
    public func list() -> [Watch] {
        state.withLock { $0.running.values.map(\.watch) }.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
    }

    /// The watch and what the kernel counted for it so far; nil when no such watch runs.
    public func reading(_ id: String) throws(Refusal) -> (Watch, WatchReading)? {
        guard let (watch, slot) = state.withLock({ state in state.running[id].map { ($0.watch, $0.slot) } }) else { return nil }
        let reading: WatchReading
        do {
            reading = try kernel.readWatch(slot, summaries: true)
        } catch {
            throw .kernel("\(error)")
        }
        // Ended while it was read: its slot may be another watch's now.
        guard state.withLock({ $0.running[id]?.slot == slot }) else { return nil }
        return (watch, reading)
    }

    /// Ends a watch (`DELETE`); its streams get `end: deleted`.
    public func delete(_ id: String, by user: String) throws(Refusal) {
        guard end(id, reason: .deleted) else { throw .unknown(id) }
        logger.notice("watch deleted", metadata: ["watch": "\(id)", "user": "\(user)"])
    }

    /// A stream of the watch's failures from now on, opening with `.subscribed`; nil when no such
    /// watch runs.
    public func subscribe(_ id: String) throws(Refusal) -> AsyncStream<WatchStreamItem>? {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchStreamItem.self, bufferingPolicy: .bufferingOldest(Self.streamBuffer))
        let number = try state.withLock { state throws(Refusal) -> Int? in
            guard var running = state.running[id] else { return nil }
            if running.exited {  // nothing more will come: the stream says so and closes
                continuation.yield(.subscribed(watch: id, time: Date()))
                continuation.yield(.end(.exited))
                continuation.finish()
                return -1
            }
            guard running.subscribers.count < Self.maxSubscribers else { throw .tooManyStreams(Self.maxSubscribers) }
            let number = state.nextSubscriber
            state.nextSubscriber += 1
            continuation.yield(.subscribed(watch: id, time: Date()))  // before any failure can be delivered to it
            running.subscribers[number] = Subscriber(continuation: continuation)
            state.running[id] = running
            return number
        }
        guard let number else { return nil }
        guard number >= 0 else { return stream }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in _ = state.running[id]?.subscribers.removeValue(forKey: number) }
        }
        return stream
    }

    /// Hands one kernel record to the streams of the watches it names (called on the pump's thread;
    /// nil: a malformed record, counted).
    public func deliver(_ record: WatchEventRecord?) {
        guard let record else {
            state.withLock { $0.totals.malformed += 1 }
            return
        }
        var event: WatchEvent?
        state.withLock { state in
            for (id, running) in state.running where record.slots >> UInt64(running.slot) & 1 == 1 && record.monotonicNanoseconds >= running.startedMonotonic {
                state.totals.streamed += 1
                guard !running.subscribers.isEmpty else { continue }
                let named = event ?? WatchEvent(record, names: syscalls)
                event = named
                for (number, subscriber) in running.subscribers {
                    if case .dropped = subscriber.continuation.yield(.failure(named)) {
                        state.running[id]?.subscribers[number]?.unannounced[.slowClient, default: 0] += 1
                        state.totals.dropped[.slowClient, default: 0] += 1
                    }
                }
            }
        }
    }

    /// Once a second: ends watches out of time, and tells each stream what it did not get since
    /// the last tick (the kernel's rate limit and full ring buffer, the stream's own full buffer).
    public func tick(now: UInt64 = MonotonicClock.nanoseconds()) {
        let running = state.withLock { $0.running.map { ($0.key, $0.value.slot, $0.value.deadlineMonotonic) } }
        for (id, _, deadline) in running where now >= deadline {
            if end(id, reason: .expired) { logger.notice("watch expired", metadata: ["watch": "\(id)"]) }
        }
        // A pid watch stops matching when its process exits: the pid could be handed to another next.
        for (watch, slot) in state.withLock({ $0.running.values.filter { !$0.exited }.map { ($0.watch, $0.slot) } }) {
            guard case .pid(let pid) = watch.target, !processExists(pid) else { continue }
            retire(watch.id, slot: slot, pid: pid)
        }
        for (id, slot, deadline) in running where now < deadline {
            guard let reading = try? kernel.readWatch(slot, summaries: false) else { continue }
            state.withLock { state in
                guard state.running[id]?.slot == slot else { return }
                Self.announce(reading, in: &state, id: id)
            }
        }
        state.withLock { state in
            guard now &- state.lastHeartbeat >= Self.heartbeatNanoseconds else { return }
            state.lastHeartbeat = now
            let beat = Date()
            for running in state.running.values {
                for subscriber in running.subscribers.values { subscriber.continuation.yield(.heartbeat(beat)) }
            }
        }
    }

    /// Retires a pid watch whose process exited: out of the kernel's selectors, its streams told and
    /// closed; it stays readable (`exited`) until deleted or expired.
    private func retire(_ id: String, slot: UInt32, pid: UInt32) {
        do {
            try kernel.retireWatch(slot)
        } catch {
            logger.error("retiring a watch in the kernel failed", metadata: ["watch": "\(id)", "error": "\(error)"])
            return
        }
        let last = try? kernel.readWatch(slot, summaries: false)
        let subscribers = state.withLock { state -> [Subscriber] in
            guard state.running[id]?.slot == slot else { return [] }
            if let last { Self.announce(last, in: &state, id: id) }  // what the streams did not carry, before they close
            state.running[id]?.exited = true
            state.running[id]?.watch.exited = true
            return state.running[id].map { Array($0.subscribers.values) } ?? []
        }
        logger.notice("watch's process exited: it matches nothing more", metadata: ["watch": "\(id)", "pid": "\(pid)"])
        for subscriber in subscribers {
            subscriber.continuation.yield(.end(.exited))
            subscriber.continuation.finish()
        }
    }

    /// Ends every watch (the agent shuts down): streams get `end: shutdown`.
    public func shutdown() {
        for id in state.withLock({ Array($0.running.keys) }) { _ = end(id, reason: .shutdown) }
    }

    /// Records the kernel's not-streamed counts of watch `id` (already in `state`) and announces
    /// what is new to its streams, with each stream's own losses.
    static func announce(_ reading: WatchReading, in state: inout State, id: String) {
        guard var running = state.running[id] else { return }
        let rateLimited = reading.rateLimited &- running.seenRateLimited, ringFull = reading.ringBufferFull &- running.seenRingBufferFull
        running.seenRateLimited = reading.rateLimited
        running.seenRingBufferFull = reading.ringBufferFull
        state.totals.dropped[.rateLimited, default: 0] += rateLimited
        state.totals.dropped[.ringBufferFull, default: 0] += ringFull
        for (number, var subscriber) in running.subscribers {
            subscriber.unannounced[.rateLimited, default: 0] += rateLimited
            subscriber.unannounced[.ringBufferFull, default: 0] += ringFull
            for reason in [WatchStreamItem.DropReason.rateLimited, .ringBufferFull, .slowClient] {
                guard let count = subscriber.unannounced[reason], count > 0 else { continue }
                if case .enqueued = subscriber.continuation.yield(.dropped(count: count, reason: reason)) { subscriber.unannounced[reason] = 0 }
            }
            running.subscribers[number] = subscriber
        }
        state.running[id] = running
    }

    /// Ends watch `id`: out of the kernel first, its last drops announced, then its streams closed
    /// (outside the lock: closing runs their termination handlers, which take it). False when no
    /// such watch ran.
    private func end(_ id: String, reason: WatchStreamItem.EndReason) -> Bool {
        guard let slot = state.withLock({ $0.running[id]?.slot }) else { return false }
        let last = try? kernel.readWatch(slot, summaries: false)
        let subscribers = state.withLock { state -> [Subscriber]? in
            guard state.running[id]?.slot == slot else { return nil }
            if let last { Self.announce(last, in: &state, id: id) }
            state.totals.ended[reason, default: 0] += 1
            return state.running.removeValue(forKey: id).map { Array($0.subscribers.values) }
        }
        guard let subscribers else { return false }
        do {
            try kernel.endWatch(slot)
        } catch {
            logger.error("ending a watch in the kernel failed", metadata: ["watch": "\(id)", "error": "\(error)"])
        }
        for subscriber in subscribers {
            subscriber.continuation.yield(.end(reason))
            subscriber.continuation.finish()
        }
        return true
    }
}
