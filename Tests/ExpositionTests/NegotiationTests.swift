import Foundation
import Testing

@testable import Exposition

@Suite struct NegotiationTests {
    @Test(arguments: [
        (nil, ExpositionFormat.text004),
        ("", .text004),
        ("*/*", .text004),
        ("text/plain", .text004),
        ("text/plain;version=0.0.4", .text004),
        ("application/json", .text004),
        // What Prometheus 2.42 sends: OpenMetrics first.
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .openMetrics100),
        ("application/openmetrics-text; version=0.0.1", .openMetrics100),
        ("Application/OpenMetrics-Text; Version=\"1.0.0\"", .openMetrics100),
        ("text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.3", .text004),
        ("application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.2", .text004),
        ("application/openmetrics-text;version=2.0.0", .text004),
        ("application/openmetrics-text;version=1.0.0;q=0.5, text/plain;q=0.5", .openMetrics100),
        (" , ;;, application/openmetrics-text ; q=abc", .openMetrics100),
        // What Prometheus asks with --enable-feature=native-histograms: protobuf first.
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1", .protobufDelimited),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", .text004),
        ("application/vnd.google.protobuf", .text004),
        // What Prometheus 3 sends by default, and with one text protocol preferred.
        ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1", .openMetrics100),
        ("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.9,application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5", .text004),
        ("text/plain;version=1.0.0;escaping=values", .text004),
        ("application/openmetrics-text;version=1.0.0;escaping=dots", .openMetrics100),
        ("text/plain;version=2.0.0;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5", .openMetrics100),
    ] as [(String?, ExpositionFormat)])
    func acceptHeaders(header: String?, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: header) == expected)
    }

    @Test func openMetricsLikeTheGoldenFile() throws {
        let families = [
            MetricFamily(
                name: "demo_failures_total", help: "Help with \"quotes\", a backslash \\ and a\nnewline.", type: .counter,
                samples: [Sample(labels: [Label("path", #"C:\dir"#), Label("comm", "say \"hi\"")], value: 3)]),
            MetricFamily(name: "demo_gauge", help: "A gauge.", type: .gauge, samples: [Sample(value: 0.5), Sample(labels: [Label("kind", "inf")], value: .infinity)]),
            MetricFamily(name: "demo_empty_total", help: "No samples yet.", type: .counter, samples: []),
        ]
        let url = try #require(Bundle.module.url(forResource: "openmetrics-1.0.0.txt", withExtension: nil, subdirectory: "Golden"))
        #expect(String(decoding: OpenMetricsFormat.encode(families), as: UTF8.self) == (try String(contentsOf: url, encoding: .utf8)))
    }
}
