import Testing

@testable import ErrnoAgent

/// The trims after scrapes: one at once, one when the scrape has settled, shared by a burst.
@Suite struct HeapTrimmerTests {
    static func countingTrims(settle: Duration) -> (trimmer: HeapTrimmer, trims: CallCount) {
        let trims = CallCount()
        return (HeapTrimmer(settle: settle) { trims.add() }, trims)
    }

    /// A scrape trims at once, and once more after `settle`: then no more.
    @Test func aScrapeTrimsAtOnceAndOnceMoreWhenItHasSettled() async {
        let (trimmer, trims) = Self.countingTrims(settle: .milliseconds(50))
        trimmer.scrapeAnswered()
        #expect(trims.value == 1)
        #expect(await trims.waitFor(2) == 2)
        try? await Task.sleep(for: .milliseconds(200))
        #expect(trims.value == 2)
    }

    /// Scrapes within `settle` of the first each trim at once and share one later trim.
    @Test func scrapesWithinTheSettlingTimeShareOneLaterTrim() async {
        let (trimmer, trims) = Self.countingTrims(settle: .milliseconds(300))
        for _ in 0..<5 { trimmer.scrapeAnswered() }
        #expect(trims.value == 5)
        #expect(await trims.waitFor(6) == 6)
        try? await Task.sleep(for: .milliseconds(600))
        #expect(trims.value == 6)
    }

    /// Once the later trim has run, the next scrape schedules another.
    @Test func aScrapeAfterTheLaterTrimSchedulesAnother() async {
        let (trimmer, trims) = Self.countingTrims(settle: .milliseconds(20))
        trimmer.scrapeAnswered()
        #expect(await trims.waitFor(2) == 2)
        trimmer.scrapeAnswered()
        #expect(trims.value == 3)
        #expect(await trims.waitFor(4) == 4)
    }
}
