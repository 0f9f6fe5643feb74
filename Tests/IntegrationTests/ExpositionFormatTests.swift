import FixtureSupport
import Foundation
import Testing

/// /metrics in every format a scraper asks for: same values in each, gzip when asked.
@Suite(.timeLimit(.minutes(5)))
struct ExpositionFormatTests {
    @Test func textOpenMetricsAndGzipCarryTheSameValues() async throws {
        try requireRoot()
        let comm = uniqueComm("ex_fmt_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        try runLoad(comm: comm, badRead: 21, paths: [PathPlan("openat", 4, "/nonexistent/errno-formats \"q\"")])

        let text = try await agent.get("/metrics")
        #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let openMetrics = try await agent.get("/metrics", headers: ["Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"])
        #expect(openMetrics.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(openMetrics.body.hasSuffix("# EOF\n"))
        #expect(openMetrics.body.contains("# TYPE errno_syscall_failures counter\n"))

        let textScrape = try Scrape(text: text.body)
        let omScrape = try Scrape(text: openMetrics.body.replacingOccurrences(of: "# EOF\n", with: ""))
        let failure = ["syscall": "read", "errno": "EBADF", "comm": comm]
        let path = ["syscall": "openat", "path": "/nonexistent/errno-formats \"q\"", "errno": "ENOENT", "comm": comm]
        for scrape in [textScrape, omScrape] {
            #expect(scrape.value("errno_syscall_failures_total", failure) == 21)
            #expect(scrape.value("errno_path_failures_total", path) == 4)
        }

        // curl decompresses what it asked for in gzip; the header says it was compressed.
        let gzip = try shell("curl -s --compressed -D - http://\(agent.address)/metrics")
        #expect(gzip.output.lowercased().contains("content-encoding: gzip"))
        let body = String(gzip.output[gzip.output.range(of: "\r\n\r\n")!.upperBound...])
        #expect(try Scrape(text: body).value("errno_syscall_failures_total", failure) == 21)
        let plain = try shell("curl -s -D - -H 'Accept-Encoding: gzip;q=0' http://\(agent.address)/metrics")
        #expect(!plain.output.lowercased().contains("content-encoding"))
        #expect(try agent.stop() == 0)
    }
}

/// The protobuf exposition, checked by protoc and by a Prometheus that asks for it.
@Suite(.timeLimit(.minutes(5)))
struct ProtobufExpositionTests {
    static let protoRoot = "/usr/share/gocode/src/github.com/prometheus/client_model"

    /// Splits a length-delimited stream into its messages.
    static func messages(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            var length = 0, shift = 0
            while true {
                let byte = bytes[index]
                index += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            try #require(index + length <= bytes.count, "truncated message")
            messages.append(Array(bytes[index..<index + length]))
            index += length
        }
        return messages
    }

    @Test func everyMessageDecodesWithProtoc() async throws {
        try requireRoot()
        let comm = uniqueComm("ex_pb_")
        let watched = "/nonexistent/errno-pb-\(UUID().uuidString.prefix(8))"
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\ntriggers:\n  - {name: pb, path: \(watched), stacks: []}\n")
        try runLoad(comm: comm, badRead: 13, paths: [PathPlan("openat", 2, watched)])
        let capture = try #require(try await agent.waitForCaptures(trigger: "pb").first)
        let file = NSTemporaryDirectory() + "errno-pb-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
        let fetch = try shell("curl -s -o \(file) -w '%{content_type}' -H 'Accept: \(accept)' http://\(agent.address)/metrics")
        #expect(fetch.output == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
        let messages = try Self.messages(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        #expect(messages.count >= 10)
        var decoded = ""
        for message in messages {
            try Data(message).write(to: URL(fileURLWithPath: file))
            let decode = try shell(
                "protoc --decode io.prometheus.client.MetricFamily -I\(Self.protoRoot) -I/usr/include io/prometheus/client/metrics.proto < \(file)")
            #expect(decode.status == 0, "\(decode.output)")
            decoded += decode.output
        }
        #expect(decoded.contains("name: \"errno_syscall_failures_total\""))
        #expect(decoded.contains("value: \"\(comm)\""))
        #expect(decoded.contains("counter {\n    value: 13\n  }"))
        // The path series with a capture carries it as the counter's exemplar, as in OpenMetrics.
        #expect(decoded.contains("exemplar {\n      label {\n        name: \"capture_id\"\n        value: \"\(capture.id)\"\n      }"), "\(decoded)")
        #expect(try agent.stop() == 0)
    }

    @Test func aPrometheusThatAsksForProtobufGetsTheSameValues() async throws {
        try requireRoot()
        let comm = uniqueComm("ex_pbp_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        try runLoad(comm: comm, badRead: 17, paths: [PathPlan("openat", 3, "/nonexistent/errno-protobuf")])
        let prometheus = try PrometheusServer(target: agent.address, arguments: ["--enable-feature=native-histograms"])
        var results: [(labels: [String: String], value: Double)] = []
        let deadline = Date().addingTimeInterval(prometheusPatience)
        while Date() < deadline {
            results = try await prometheus.query(#"{__name__=~"errno_.*_failures_total",comm="\#(comm)"}"#)
            if results.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let text = try await agent.scrape()
        #expect(results.count == 3, "read and openat in the syscall counter, openat in the path counter")
        for result in results {
            var labels = result.labels
            let name = labels.removeValue(forKey: "__name__") ?? ""
            labels.removeValue(forKey: "job")
            labels.removeValue(forKey: "instance")
            #expect(text.value(name, labels) == result.value, "\(name) \(labels)")
        }
        let up = try await prometheus.query(#"up{job="errno"}"#)
        #expect(up.first?.value == 1)
        #expect(try agent.stop() == 0)
    }
}
