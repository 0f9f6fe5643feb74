import CElfUtils
import Foundation
import Glibc
import Synchronization

/// Fetches, by build ID, the debug files that modules of captured stacks lack — from the debuginfod
/// servers the config names, through libdebuginfod, on a thread of its own: the capture path only
/// asks (`debugFile(for:)`: the file if it is at hand, else a queued request) and never waits for
/// the network. What arrives is announced (`takeArrivals()`) so captures taken before it can be
/// symbolized again. Bounded everywhere a user's binaries could size it: the queue, the build IDs
/// remembered, retries (a miss or a timeout is not asked again for 10 minutes, a failure for 1), the file size and
/// the on-disk cache (`DebuginfodSettings`). Every request's outcome is counted.
public final class DebugInfoFetcher: Sendable {
    /// What became of one request for a debug file.
    public enum Outcome: String, CaseIterable, Sendable {
        /// Downloaded from a server (and checked: an ELF file with the build ID and DWARF).
        case downloaded
        /// Found in the on-disk cache: no network.
        case cached
        /// No server has it.
        case notFound = "not_found"
        /// A server could not be reached or answered with an error.
        case failed
        /// The fetch took longer than the timeout.
        case timedOut = "timed_out"
        /// What arrived is not a debug file of that build ID (removed from the cache).
        case invalid
        /// Not asked: the queue was full.
        case dropped
    }

    /// Counts since start: requests by outcome, the seconds they took, the cache's size and evictions.
    public struct Tally: Sendable {
        public var fetches: [Outcome: UInt64] = [:]
        public var seconds: [Outcome: Double] = [:]
        public var cacheBytes: Int64 = 0
        public var evictions: UInt64 = 0
    }

    /// A debug file that arrived for a build ID.
    public struct Arrival: Sendable, Equatable {
        public var buildID: String
        public var path: String
    }

    private struct State {
        var settings = DebuginfodSettings()
        var queue: [String] = []
        /// Build IDs tried without success, and when they may be tried again.
        var retryAfter: [String: ContinuousClock.Instant] = [:]
        /// Debug files at hand, by build ID.
        var available: [String: String] = [:]
        var arrivals: [Arrival] = []
        var tally = Tally()
        var started = false
        var stopping = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Told each request's outcome with a detail (an error's text), for the log.
    private let report: @Sendable (_ buildID: String, _ outcome: Outcome, _ detail: String) -> Void

    /// Requests waiting at most; more are dropped (counted).
    static let maxQueued = 64
    /// Build IDs remembered (available or to retry later) at most; the oldest are forgotten.
    static let maxRemembered = 4096
    static let retryAfterMiss = Duration.seconds(600)
    static let retryAfterFailure = Duration.seconds(60)

    public init(report: @escaping @Sendable (_ buildID: String, _ outcome: Outcome, _ detail: String) -> Void = { _, _, _ in }) {
        self.report = report
    }

    /// `settings` ready to apply: with servers, the cache directory created (or checked safe) and
    /// resolved. Throws when it is not safe; changes nothing in force.
    public func prepare(_ settings: DebuginfodSettings) throws(DebugInfoCacheProblem) -> DebuginfodSettings {
        var settings = settings
        if settings.isEnabled { settings.cacheDirectory = try Self.prepareCache(settings.cacheDirectory) }
        return settings
    }

    /// Puts prepared `settings` in force (at start and on reload) and trims the cache to its cap.
    public func apply(_ settings: DebuginfodSettings) {
        let held: (bytes: Int64, evicted: Int) = settings.isEnabled ? Self.trimCache(settings.cacheDirectory, maxBytes: settings.cacheMaxBytes, keeping: nil) : (0, 0)
        state.withLock { state in
            if state.settings.urls != settings.urls { state.retryAfter.removeAll() }
            state.settings = settings
            state.tally.cacheBytes = held.bytes
            state.tally.evictions += UInt64(held.evicted)
        }
    }

    /// `prepare` then `apply`.
    public func configure(_ settings: DebuginfodSettings) throws(DebugInfoCacheProblem) {
        apply(try prepare(settings))
    }

    public var tally: Tally { state.withLock { $0.tally } }

    /// The debug file of `buildID` (lowercase hex) when it is at hand — fetched before, or in the
    /// on-disk cache; else nil, and a fetch is queued unless one was tried lately. Never blocks on
    /// the network. Nil at once when no server is configured.
    public func debugFile(for buildID: String) -> String? {
        let (settings, known, retry) = state.withLock { ($0.settings, $0.available[buildID], $0.retryAfter[buildID]) }
        guard settings.isEnabled, BuildID.isHex(buildID) else { return nil }
        if let known {
            Self.touch(known)
            return known
        }
        if let retry, ContinuousClock.now < retry { return nil }
        if let cached = Self.cachedFile(buildID, in: settings.cacheDirectory) {
            record(buildID, .cached, seconds: 0, path: cached, announce: false)
            return cached
        }
        let queued = state.withLock { state -> Bool? in
            guard !state.queue.contains(buildID) else { return nil }
            guard state.queue.count < Self.maxQueued else {
                // Counted once per retry period, not at every frame that asks.
                state.tally.fetches[.dropped, default: 0] += 1
                state.retryAfter[buildID] = .now + Self.retryAfterFailure
                return false
            }
            state.queue.append(buildID)
            // Asked once per retry period, whatever happens next.
            state.retryAfter[buildID] = .now + Self.retryAfterFailure
            return true
        }
        if queued == true { wake.signal() }
        return nil
    }

    /// The debug file of `buildID` is gone from the cache (evicted, cleaned): asked for again when needed.
    public func forget(_ buildID: String) {
        state.withLock { state in
            state.available[buildID] = nil
            state.retryAfter[buildID] = nil
        }
    }

    /// The debug file of `buildID` turned out unusable: removed, counted as invalid, not retried soon.
    public func reject(_ buildID: String, reason: String) {
        let directory = state.withLock { state in
            state.available[buildID] = nil
            return state.settings.cacheDirectory
        }
        Self.removeCacheEntry(buildID, in: directory)
        record(buildID, .invalid, seconds: 0, path: nil, announce: false, detail: reason)
    }

    /// Debug files that arrived since the last call.
    public func takeArrivals() -> [Arrival] {
        state.withLock { state in
            defer { state.arrivals.removeAll() }
            return state.arrivals
        }
    }

    /// Starts the fetch thread (once).
    public func start() {
        guard state.withLock({ state in
            defer { state.started = true }
            return !state.started
        }) else { return }
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let next = state.withLock { state -> (String, DebuginfodSettings)?? in
                    if state.stopping { return .none }
                    return .some(state.queue.isEmpty ? nil : (state.queue.removeFirst(), state.settings))
                }
                guard let next else { break }
                if let (buildID, settings) = next, settings.isEnabled { fetch(buildID, settings) }
            }
            finished.signal()
        }
        thread.name = "debuginfod"
        thread.start()
    }

    /// Stops the fetch thread, cancelling a transfer in flight, and waits for it.
    public func stop() {
        let wasRunning = state.withLock { state in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        guard wasRunning else { return }
        wake.signal()
        finished.wait()
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// One fetch, on the fetch thread.
    private func fetch(_ buildID: String, _ settings: DebuginfodSettings) {
        let started = ContinuousClock.now
        func seconds() -> Double {
            let elapsed = (ContinuousClock.now - started).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        }
        if let cached = Self.cachedFile(buildID, in: settings.cacheDirectory) {
            return record(buildID, .cached, seconds: seconds(), path: cached, announce: true)
        }
        DebuginfodEnvironment.apply(settings)
        guard let client = celfutils_debuginfod_begin() else {
            let why = celfutils_debuginfod_load_error().map { String(cString: $0) } ?? "debuginfod_begin failed"
            return record(buildID, .failed, seconds: seconds(), path: nil, detail: why)
        }
        defer { celfutils_debuginfod_end(client) }
        celfutils_debuginfod_set_user_data(client, Unmanaged.passUnretained(self).toOpaque())
        // Called while a transfer runs: a non-zero answer cancels it (shutdown).
        celfutils_debuginfod_set_progressfn(client) { client, _, _ in
            guard let me = celfutils_debuginfod_get_user_data(client) else { return 0 }
            return Unmanaged<DebugInfoFetcher>.fromOpaque(me).takeUnretainedValue().isStopping ? 1 : 0
        }
        let bytes = BuildID.bytes(hex: buildID)
        var path: UnsafeMutablePointer<CChar>?
        let result = bytes.withUnsafeBufferPointer { celfutils_debuginfod_find_debuginfo(client, $0.baseAddress, Int32($0.count), &path) }
        defer { free(path) }
        guard result >= 0, let path else {
            // libdebuginfod leaves an empty file for a miss (and for a transfer cancelled at shutdown):
            // removed, so users' binaries cannot pile up entries; `retryAfter` remembers the miss.
            Self.removeMissEntry(buildID, in: settings.cacheDirectory)
            if isStopping { return }
            let code = -result
            let outcome: Outcome = code == ENOENT ? .notFound : code == ETIME || code == ETIMEDOUT ? .timedOut : .failed
            return record(buildID, outcome, seconds: seconds(), path: nil, detail: String(cString: strerror(code)))
        }
        close(result)
        let file = String(cString: path)
        // libdebuginfod dates the file as the server did: used now, for eviction.
        Self.touch(file)
        if let problem = Self.problem(debugFile: file, buildID: bytes) {
            Self.removeCacheEntry(buildID, in: settings.cacheDirectory)
            return record(buildID, .invalid, seconds: seconds(), path: nil, detail: problem)
        }
        record(buildID, .downloaded, seconds: seconds(), path: file, announce: true)
        let (bytesHeld, evicted) = Self.trimCache(settings.cacheDirectory, maxBytes: settings.cacheMaxBytes, keeping: buildID)
        state.withLock { state in
            state.tally.cacheBytes = bytesHeld
            state.tally.evictions += UInt64(evicted)
            for removed in state.available.filter({ $0.key != buildID && !FileManager.default.fileExists(atPath: $0.value) }) {
                state.available[removed.key] = nil
            }
        }
    }

    /// Why the file at `path` is not a debug file of `buildID`, or nil.
    static func problem(debugFile path: String, buildID: [UInt8]) -> String? {
        do {
            let image = try ElfImage(path: path, searchDebugFiles: false, owners: [geteuid()])
            if image.buildID != buildID { return "its build ID is \(image.buildID.map(BuildID.hex) ?? "missing")" }
            return image.hasDebugInfoSection ? nil : "it has no .debug_info"
        } catch {
            return "\(error)"
        }
    }

    private func record(_ buildID: String, _ outcome: Outcome, seconds: Double, path: String?, announce: Bool = false, detail: String = "") {
        state.withLock { state in
            state.tally.fetches[outcome, default: 0] += 1
            state.tally.seconds[outcome, default: 0] += seconds
            if let path {
                state.available[buildID] = path
                state.retryAfter[buildID] = nil
                if announce { state.arrivals.append(Arrival(buildID: buildID, path: path)) }
            } else if outcome != .dropped {
                state.retryAfter[buildID] = .now + (outcome == .failed ? Self.retryAfterFailure : Self.retryAfterMiss)
            }
            if state.retryAfter.count > Self.maxRemembered {
                let now = ContinuousClock.now
                state.retryAfter = state.retryAfter.filter { $0.value > now }
                while state.retryAfter.count > Self.maxRemembered, let oldest = state.retryAfter.min(by: { $0.value < $1.value })?.key {
                    state.retryAfter[oldest] = nil
                }
            }
            if state.available.count > Self.maxRemembered, let any = state.available.keys.first(where: { $0 != buildID }) { state.available[any] = nil }
            if state.arrivals.count > Self.maxQueued { state.arrivals.removeFirst(state.arrivals.count - Self.maxQueued) }
        }
        report(buildID, outcome, detail)
    }
}
