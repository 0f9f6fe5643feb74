import CMalloc
import Dispatch
import Synchronization

/// Hands the heap's free pages back to the system after scrapes (`malloc_trim`), twice: at once,
/// for what gathering and encoding freed, and once more `settle` later, for what is freed only once
/// the response has been written to the socket (NIO's write path, the request's own state), which
/// would otherwise stay resident until the next scrape. Scrapes while a later trim is due share it,
/// and it runs once more `settle` after the last of them: every scrape is followed by a trim at least
/// `settle` after it.
///
/// Measured at 10,000 path series, 2 s after 100 scrapes (Linux 6.18): without the later trim the
/// heap kept 1.7 MiB more in two runs of three (anonymous RSS 9.5 against 7.7 MiB); with it, 7.7 MiB
/// in all three.
final class HeapTrimmer: Sendable {
    /// How long after a scrape the second trim runs: past the write of a 100,000-series body.
    static let defaultSettle: Duration = .milliseconds(500)

    /// Runs work after a delay.
    typealias Schedule = @Sendable (_ delay: Duration, _ work: @escaping @Sendable () -> Void) -> Void

    private let settle: Duration
    private let trim: @Sendable () -> Void
    private let schedule: Schedule
    /// Whether a later trim is due, and how many scrapes were answered (to see any since it was
    /// scheduled).
    private let state = Mutex((laterTrimDue: false, scrapes: UInt64(0)))

    /// `trim`: what a trim does; `schedule`: how the later one is run (tests count and run them).
    init(
        settle: Duration = HeapTrimmer.defaultSettle, trim: @escaping @Sendable () -> Void = { _ = errno_release_free_memory() },
        schedule: @escaping Schedule = HeapTrimmer.onDispatchTimer
    ) {
        self.settle = settle
        self.trim = trim
        self.schedule = schedule
    }

    /// A scrape was answered (every concurrent one done): trims now, and `settle` later unless a
    /// later trim is already due.
    func scrapeAnswered() {
        trim()
        let scheduleAfter = state.withLock { state -> UInt64? in
            state.scrapes &+= 1
            guard !state.laterTrimDue else { return nil }
            state.laterTrimDue = true
            return state.scrapes
        }
        if let scheduleAfter { trimLater(seenScrapes: scheduleAfter) }
    }

    /// Trims `settle` from now, and again `settle` after that when scrapes came meanwhile.
    private func trimLater(seenScrapes seen: UInt64) {
        schedule(settle) { [self] in
            trim()
            let scrapesSince = state.withLock { state -> UInt64? in
                guard state.scrapes != seen else {
                    state.laterTrimDue = false
                    return nil
                }
                return state.scrapes
            }
            if let scrapesSince { trimLater(seenScrapes: scrapesSince) }
        }
    }

    /// On a Dispatch timer, not in a Swift task: a cooperative pool busy with scrapes must not hold
    /// the later trim up.
    static func onDispatchTimer(_ delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let nanoseconds = Int(delay / .nanoseconds(1))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: work)
    }
}
