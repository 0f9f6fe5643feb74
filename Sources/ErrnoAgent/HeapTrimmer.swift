import CMalloc
import Dispatch
import Synchronization

/// Hands the heap's free pages back to the system after scrapes (`malloc_trim`), twice: at once,
/// for what gathering and encoding freed, and once more `settle` later, for what is freed only once
/// the response has been written to the socket (NIO's write path, the request's own state), which
/// would otherwise stay resident until the next scrape. Scrapes within `settle` of one another share
/// one later trim.
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
    private let laterTrimPending = Atomic(false)

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
        guard laterTrimPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        schedule(settle) { [self] in
            laterTrimPending.store(false, ordering: .releasing)
            trim()
        }
    }

    /// On a Dispatch timer, not in a Swift task: a cooperative pool busy with scrapes must not hold
    /// the later trim up.
    static func onDispatchTimer(_ delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let nanoseconds = Int(delay / .nanoseconds(1))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: work)
    }
}
