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

    /// The `_created` value of a series in an OpenMetrics body.
    static func created(_ body: String, _ name: String, containing needle: String) -> Double? {
        body.split(separator: "\n").first { ($0.hasPrefix(name + "_created{") || $0.hasPrefix(name + "_created ")) && (needle.isEmpty || $0.contains(needle)) }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func everyCounterSeriesSaysWhenItWasCreated() async throws {
        try requireRoot()
        let comm = uniqueComm("ex_ct_")
        let first = "/nonexistent/errno-created-first", later = "/nonexistent/errno-created-later"
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        let startedBy = Date().timeIntervalSince1970  // the agent attached before it listened
        try runLoad(comm: comm, badRead: 2, paths: [PathPlan("openat", 3, first)])
        let accept = ["Accept": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;q=0.3"]
        let before = Date().timeIntervalSince1970
        let openMetrics = try await agent.get("/metrics", headers: accept)
        let after = Date().timeIntervalSince1970
        #expect(openMetrics.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8", "Prometheus 3's Accept")
        // Found by the first scrape: zero when the kernel began counting, before the agent listened.
        let firstCreated = try #require(Self.created(openMetrics.body, "errno_path_failures", containing: first), "\(openMetrics.body)")
        #expect(firstCreated <= startedBy && firstCreated > startedBy - 60)
        #expect(Self.created(openMetrics.body, "errno_syscall_failures", containing: comm) == firstCreated)
        // The process's CPU counter began with the process, before the kernel's counting.
        let cpuCreated = try #require(Self.created(openMetrics.body, "process_cpu_seconds", containing: ""))
        #expect(cpuCreated <= firstCreated)

        // A path that first fails after that scrape was zero when that scrape read the kernel.
        try runLoad(comm: comm, paths: [PathPlan("openat", 1, later)])
        let second = try await agent.get("/metrics", headers: accept)
        let laterCreated = try #require(Self.created(second.body, "errno_path_failures", containing: later), "\(second.body)")
        #expect(laterCreated >= before && laterCreated <= after, "created at the previous read: \(laterCreated) not in \(before)...\(after)")
        #expect(Self.created(second.body, "errno_path_failures", containing: first) == firstCreated, "a series keeps its created time")

        // A strict OpenMetrics parser (PyPI's prometheus-client) reads every sample, `_created` included.
        let file = NSTemporaryDirectory() + "errno-om-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try second.body.write(toFile: file, atomically: true, encoding: .utf8)
        let parse = try shell(#"""
            python3 -c 'import sys
            from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
            for family in parse(open(sys.argv[1]).read()):
                for sample in family.samples:
                    if sample.name.endswith("_created"): print(family.type, sample.name, sample.labels.get("path", ""), repr(sample.value))' \#(file)
            """#)
        #expect(parse.status == 0, "\(parse.output)")
        #expect(parse.output.contains("counter errno_path_failures_created \(later) \(laterCreated)"), "\(parse.output)")

        // Protobuf carries the same time in Counter.created_timestamp (upstream's field 3).
        let fetch = try shell("curl -s -o \(file) -H 'Accept: \(ProtobufExpositionTests.accept)' http://\(agent.address)/metrics")
        #expect(fetch.status == 0)
        let decoded = try ProtobufExpositionTests.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        let laterSeries = try #require(decoded.range(of: "value: \"\(later)\"").map { String(decoded[$0.upperBound...].prefix(400)) }, "\(decoded)")
        #expect(laterSeries.contains("created_timestamp {\n      seconds: \(Int(laterCreated.rounded(.down)))\n"), "\(laterSeries)")
        #expect(try agent.stop() == 0)
    }
}

/// The protobuf exposition, checked by protoc and by a Prometheus that asks for it.
@Suite(.timeLimit(.minutes(5)))
struct ProtobufExpositionTests {
    static let protoRoot = "/usr/share/gocode/src/github.com/prometheus/client_model"
    static let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"

    /// Debian's metrics.proto predates `Counter.created_timestamp`: a copy with upstream's field 3
    /// added, so protoc names it.
    static func protoRootWithCreatedTimestamp() throws -> String {
        let root = NSTemporaryDirectory() + "errno-proto-\(UUID().uuidString.prefix(8))"
        let directory = root + "/io/prometheus/client"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let debian = try String(contentsOfFile: protoRoot + "/io/prometheus/client/metrics.proto", encoding: .utf8)
        let counter = "message Counter {\n"
        try #require(debian.contains(counter) && !debian.contains("created_timestamp"))
        try debian.replacingOccurrences(of: counter, with: counter + "  optional google.protobuf.Timestamp created_timestamp = 3;\n")
            .write(toFile: directory + "/metrics.proto", atomically: true, encoding: .utf8)
        return root
    }

    /// Every message of a length-delimited stream, as protoc decodes it.
    static func decode(_ stream: [UInt8]) throws -> String {
        let root = try protoRootWithCreatedTimestamp()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = root + "/message"
        var decoded = ""
        for message in try messages(stream) {
            try Data(message).write(to: URL(fileURLWithPath: file))
            let decode = try shell("protoc --decode io.prometheus.client.MetricFamily -I\(root) -I/usr/include io/prometheus/client/metrics.proto < \(file)")
            try #require(decode.status == 0, "\(decode.output)")
            decoded += decode.output
        }
        return decoded
    }

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
        let fetch = try shell("curl -s -o \(file) -w '%{content_type}' -H 'Accept: \(Self.accept)' http://\(agent.address)/metrics")
        #expect(fetch.output == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
        let stream = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(try Self.messages(stream).count >= 10)
        // Debian's own metrics.proto (no created_timestamp) still decodes every message.
        for message in try Self.messages(stream) {
            try Data(message).write(to: URL(fileURLWithPath: file))
            let decode = try shell("protoc --decode io.prometheus.client.MetricFamily -I\(Self.protoRoot) -I/usr/include io/prometheus/client/metrics.proto < \(file)")
            #expect(decode.status == 0, "\(decode.output)")
        }
        let decoded = try Self.decode(stream)
        #expect(decoded.contains("name: \"errno_syscall_failures_total\""))
        #expect(decoded.contains("value: \"\(comm)\""))
        #expect(decoded.contains("counter {\n    value: 13\n    created_timestamp {\n"), "\(decoded.prefix(2000))")
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
        let results = try await poll(patience: prometheusPatience) {
            try await prometheus.query(#"{__name__=~"errno_.*_failures_total",comm="\#(comm)"}"#)
        } until: { $0.count >= 3 }
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
