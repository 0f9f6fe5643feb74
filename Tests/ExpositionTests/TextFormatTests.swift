import Foundation
import Testing

@testable import Exposition

@Suite struct TextFormatTests {
    static func golden(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func encodesEscapesAndValuesLikeTheGoldenFile() throws {
        let families = [
            MetricFamily(
                name: "demo_failures_total", help: "Help with a backslash \\ and a\nnewline.", type: .counter,
                samples: [
                    Sample(labels: [Label("path", #"C:\dir"#), Label("comm", "say \"hi\"")], value: 3),
                    Sample(labels: [Label("path", "line1\nline2"), Label("comm", "ünïcødé")], value: 12_345_678_901),
                ]),
            MetricFamily(
                name: "demo_gauge", help: "Values of every kind.", type: .gauge,
                samples: [
                    Sample(labels: [Label("kind", "fraction")], value: 0.25),
                    Sample(labels: [Label("kind", "tiny")], value: 1e-05),
                    Sample(labels: [Label("kind", "nan")], value: .nan),
                    Sample(labels: [Label("kind", "inf")], value: .infinity),
                    Sample(labels: [Label("kind", "neg_inf")], value: -.infinity),
                    Sample(labels: [Label("kind", "negative")], value: -7),
                ]),
            MetricFamily(name: "demo_empty_total", help: "No samples yet.", type: .counter, samples: []),
            MetricFamily(name: "demo_unlabeled", help: "Plain.", type: .gauge, samples: [Sample(value: 42)]),
        ]
        #expect(String(decoding: TextFormat.encode(families), as: UTF8.self) == (try Self.golden("text-0.0.4.txt")))
    }

    @Test func samplesAreSortedByLabelValues() {
        let family = MetricFamily(
            name: "x_total", help: "h", type: .counter,
            samples: [
                Sample(labels: [Label("a", "b"), Label("c", "2")], value: 1),
                Sample(labels: [Label("a", "a"), Label("c", "9")], value: 1),
                Sample(labels: [Label("a", "b"), Label("c", "1")], value: 1),
            ])
        #expect(family.sorted().samples.map { $0.labels.map(\.value) } == [["a", "9"], ["b", "1"], ["b", "2"]])
    }

    @Test func integralValuesPrintExactly() {
        #expect(TextFormat.formatValue(0) == "0")
        #expect(TextFormat.formatValue(9_007_199_254_740_991) == "9007199254740991")
        #expect(TextFormat.formatValue(1e300) == "1e+300")
        #expect(TextFormat.formatValue(0.1) == "0.1")
    }

    struct Failing: Collector {
        struct Boom: Error {}
        func collect() throws -> [MetricFamily] { throw Boom() }
    }

    struct Fixed: Collector {
        let families: [MetricFamily]
        func collect() throws -> [MetricFamily] { families }
    }

    @Test func gathererSortsFamiliesAddsDurationAndSurvivesAFailingCollector() {
        let gatherer = Gatherer(
            collectors: [
                Fixed(families: [MetricFamily(name: "b_total", help: "b", type: .counter, samples: [Sample(value: 1)])]),
                Failing(),
                Fixed(families: [MetricFamily(name: "a", help: "a", type: .gauge, samples: [Sample(value: 2)])]),
            ],
            durationMetricName: "x_scrape_duration_seconds", countingSince: 1_700_000_000)
        let (families, errors) = gatherer.gather()
        #expect(families.map(\.name) == ["a", "b_total", "x_scrape_duration_seconds"])
        #expect(errors.count == 1)
        let duration = families.last?.samples.first?.value ?? -1
        #expect(duration >= 0 && duration < 5)
    }

    @Test func processStatFieldsSurviveACommWithParenthesesAndSpaces() throws {
        let stat = "1234 (evil ) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 1 0 5000 1000000 250 18446744073709551615"
        let fields = try #require(ProcessCollector.statFields(stat))
        #expect(fields[0] == "S")
        #expect(fields[11] == "150")  // utime
        #expect(fields[19] == "5000")  // starttime
        #expect(fields[21] == "250")  // rss
    }

    @Test func processCollectorReportsThisProcess() throws {
        let families = try ProcessCollector().collect()
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0.samples.first?.value ?? -1) })
        #expect((byName["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect((byName["process_open_fds"] ?? 0) >= 3)
        #expect((byName["process_start_time_seconds"] ?? 0) > 1_600_000_000)
        #expect(byName["process_cpu_seconds_total"] != nil)
        #expect(byName["process_max_fds"] != nil)
    }

    @Test func exemplarsAppearInOpenMetricsOnly() {
        var sample = Sample(labels: [Label("path", "/etc/nodey.conf")], value: 3)
        sample.exemplar = Exemplar(labels: [Label("capture_id", "12")], value: 1, timestamp: 1_764_000_000.25)
        let family = MetricFamily(name: "errno_path_failures_total", help: "h", type: .counter, samples: [sample])
        let openMetrics = String(decoding: OpenMetricsFormat.encode([family]), as: UTF8.self)
        #expect(openMetrics.contains(#"errno_path_failures_total{path="/etc/nodey.conf"} 3 # {capture_id="12"} 1 1764000000.250"#), "\(openMetrics)")
        let text = String(decoding: TextFormat.encode([family]), as: UTF8.self)
        #expect(!text.contains("#  {") && !text.contains("capture_id"))
    }
}
