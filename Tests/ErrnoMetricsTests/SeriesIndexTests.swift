import Exposition
import Testing

@testable import ErrnoMetrics

/// When series are created: a key first seen was zero at the previous read, merged series take the
/// earliest of their keys, and a change of labels keeps every key's time.
@Suite struct SeriesIndexTests {
    struct Entry {
        var key: UInt8
        var count: UInt64
        var series: String
    }

    static func read(_ index: inout SeriesIndex, at time: Double, _ entries: [Entry]) -> [String: (value: Double, created: Double?)] {
        let samples = index.samples(entries, readAt: time, key: { [$0.key] }, count: \.count) { [Label("s", $0.series)] }
        return Dictionary(uniqueKeysWithValues: samples.map { ($0.labels[0].value, ($0.value, $0.created)) })
    }

    @Test func aSeriesIsCreatedWhenItsKeyWasLastKnownAbsent() {
        var index = SeriesIndex(countingSince: 50)
        var series = Self.read(&index, at: 100, [Entry(key: 1, count: 2, series: "a")])
        #expect(series["a"]?.created == 50, "found by the first read: zero when counting began")
        series = Self.read(&index, at: 200, [Entry(key: 1, count: 3, series: "a"), Entry(key: 2, count: 1, series: "b")])
        #expect(series["a"]?.created == 50 && series["a"]?.value == 3)
        #expect(series["b"]?.created == 100, "absent from the read at 100")
        // A read that began before the latest one (concurrent scrapes) finds nothing the later missed.
        series = Self.read(&index, at: 150, [Entry(key: 1, count: 3, series: "a")])
        #expect(series["a"]?.created == 50)
        series = Self.read(&index, at: 300, [Entry(key: 1, count: 3, series: "a"), Entry(key: 2, count: 1, series: "b"), Entry(key: 3, count: 7, series: "c")])
        #expect(series["c"]?.created == 200)
    }

    @Test func seriesComeOutInExpositionOrderAsTheyGrow() {
        var index = SeriesIndex(countingSince: 0)
        func order(_ keys: [UInt8], at time: Double) -> [String] {
            index.samples(keys.map { Entry(key: $0, count: 1, series: "p\($0 % 10)/\($0)") }, readAt: time, key: { [$0.key] }, count: \.count) {
                [Label("s", $0.series)]
            }.map { $0.labels[0].value }
        }
        #expect(order([9, 3, 27, 1], at: 1) == ["p1/1", "p3/3", "p7/27", "p9/9"])
        #expect(order([9, 3, 27, 1, 22, 0], at: 2) == ["p0/0", "p1/1", "p2/22", "p3/3", "p7/27", "p9/9"])
        #expect(order([27, 0], at: 3) == ["p0/0", "p7/27"], "only the series read")
        let samples = index.samples([Entry(key: 5, count: 1, series: "b"), Entry(key: 6, count: 1, series: "a")], readAt: 4, key: { [$0.key] }, count: \.count) {
            [Label("s", $0.series)]
        }
        let family = MetricFamily(name: "x_total", help: "x", type: .counter, samples: samples)
        #expect(family.sorted() == family, "already in the order sorted() gives")
    }

    @Test func aFewNewSeriesAmongManyArePlacedWhereASortPutsThem() {
        var index = SeriesIndex(countingSince: 0)
        var generator = SystemRandomNumberGenerator()
        let names = (0..<240).map { String(UInt32.random(in: 0...UInt32.max, using: &generator), radix: 36) + "-\($0)" }
        var read: [Entry] = []
        func order(_ keys: Range<Int>, at time: Double) -> [String] {
            read += keys.map { Entry(key: UInt8($0), count: 1, series: names[$0]) }
            return index.samples(read, readAt: time, key: { [$0.key] }, count: \.count) { [Label("s", $0.series)] }.map { $0.labels[0].value }
        }
        #expect(order(0..<200, at: 1) == names[0..<200].sorted(), "many new ones: sorted")
        #expect(order(200..<203, at: 2) == names[0..<203].sorted(), "a few: each placed by binary search")
        #expect(order(203..<204, at: 3) == names[0..<204].sorted())
        #expect(order(204..<240, at: 4) == names[0..<240].sorted(), "more than a sixteenth: sorted again")
    }

    @Test func rawKeysHashAndCompareByTheirBytes() {
        #expect(RawKey(bytes: [1, 2, 3]) == RawKey(bytes: [1, 2, 3]))
        #expect(RawKey(bytes: [1, 2, 3]) != RawKey(bytes: [1, 2, 4]))
        #expect(RawKey(bytes: [1, 2]) != RawKey(bytes: [1, 2, 0]))
        #expect(RawKey(bytes: []) == RawKey(bytes: []))
        let keys = Set((0..<1000).map { RawKey(bytes: withUnsafeBytes(of: UInt32($0), Array.init) + [UInt8](repeating: 7, count: 300)) })
        #expect(keys.count == 1000)
        #expect(keys.contains(RawKey(bytes: withUnsafeBytes(of: UInt32(999), Array.init) + [UInt8](repeating: 7, count: 300))))
    }

    @Test func newLabelsKeepEachKeysTimeAndAMergedSeriesTakesTheEarliest() {
        var index = SeriesIndex(countingSince: 50)
        _ = Self.read(&index, at: 100, [Entry(key: 1, count: 2, series: "a")])
        _ = Self.read(&index, at: 200, [Entry(key: 1, count: 2, series: "a"), Entry(key: 2, count: 5, series: "b")])
        index.reset()
        // A rewrite now maps both keys to one series: it was zero only when both were.
        let merged = Self.read(&index, at: 300, [Entry(key: 2, count: 5, series: "ab"), Entry(key: 1, count: 2, series: "ab")])
        #expect(merged["ab"]?.value == 7)
        #expect(merged["ab"]?.created == 50)
        index.reset()
        let split = Self.read(&index, at: 400, [Entry(key: 1, count: 2, series: "a"), Entry(key: 2, count: 5, series: "b")])
        #expect(split["a"]?.created == 50 && split["b"]?.created == 100, "a reload never makes a counter look new")
    }
}
