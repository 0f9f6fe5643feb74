import Synchronization
import Testing

@testable import ErrnoAgent

/// The trims after scrapes: one at once, one when the scrape has settled, shared by a burst.
@Suite struct HeapTrimmerTests {
    /// The later trims a `HeapTrimmer` scheduled, run when the test says.
    final class Scheduled: Sendable {
        private let work = Mutex<[@Sendable () -> Void]>([])
        var count: Int { work.withLock { $0.count } }
        func add(_: Duration, _ item: @escaping @Sendable () -> Void) { work.withLock { $0.append(item) } }
        func runAll() { for item in work.withLock({ items in defer { items = [] }; return items }) { item() } }
    }

    static func countingTrims() -> (trimmer: HeapTrimmer, trims: CallCount, scheduled: Scheduled) {
        let trims = CallCount(), scheduled = Scheduled()
        return (HeapTrimmer(trim: { trims.add() }, schedule: { scheduled.add($0, $1) }), trims, scheduled)
    }

    /// A scrape trims at once, and once more when the later trim runs: then nothing is due.
    @Test func aScrapeTrimsAtOnceAndOnceMoreLater() {
        let (trimmer, trims, scheduled) = Self.countingTrims()
        trimmer.scrapeAnswered()
        #expect(trims.value == 1 && scheduled.count == 1)
        scheduled.runAll()
        #expect(trims.value == 2 && scheduled.count == 0)
    }

    /// Scrapes while the later trim is due each trim at once and share it; having seen them, it
    /// runs once more (after the last of them), then nothing is due.
    @Test func scrapesWhileALaterTrimIsDueShareItAndItRunsOnceMore() {
        let (trimmer, trims, scheduled) = Self.countingTrims()
        for _ in 0..<5 { trimmer.scrapeAnswered() }
        #expect(trims.value == 5 && scheduled.count == 1)
        scheduled.runAll()
        #expect(trims.value == 6 && scheduled.count == 1)
        scheduled.runAll()
        #expect(trims.value == 7 && scheduled.count == 0)
    }

    /// Once the later trim has run, the next scrape schedules another.
    @Test func aScrapeAfterTheLaterTrimSchedulesAnother() {
        let (trimmer, trims, scheduled) = Self.countingTrims()
        trimmer.scrapeAnswered()
        scheduled.runAll()
        trimmer.scrapeAnswered()
        #expect(scheduled.count == 1)
        scheduled.runAll()
        #expect(trims.value == 4)
    }

    /// The agent's own schedule runs the later trim by itself, `settle` after the scrape.
    @Test func theDispatchTimerRunsTheLaterTrim() async {
        let trims = CallCount()
        let trimmer = HeapTrimmer(settle: .milliseconds(20), trim: { trims.add() })
        trimmer.scrapeAnswered()
        #expect(await trims.waitFor(2) == 2)
    }
}
