import ErrnoConfig
import Foundation
import Testing

@testable import AlertPolling
import Captures
@testable import ErrnoServer
import KernelNames
@testable import Exposition

/// Hostile input for every parser that takes it from outside: no crash, no hang, and each answer
/// is one of the documented outcomes.
@Suite struct FuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func configParser() throws {
        let shipped = try Data(contentsOf: Self.root.appendingPathComponent("config/errno_exporter.yml"))
        let corpus = [Array(shipped)] + [
            "syscalls:\n  max_series: 5\n  exclude_errnos: [EAGAIN]\n  labels: [syscall, errno, comm, pid]\n",
            "paths:\n  syscalls: [openat, newfstatat]\n  rewrite:\n    - regex: '^/proc/[0-9]+/'\n      replacement: '/proc/<pid>/'\n",
            "filters:\n  comms: [node]\n  exclude_comms: [cron]\n  pids: [1]\n  cgroups: [/system.slice]\n",
            "a: &x [1, 2]\nb: *x\n",
        ].map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let seed = fuzzer.seed
        let runs = try fuzzer.run(corpus: corpus) { input in
            let text = String(decoding: input, as: UTF8.self)
            do {
                _ = try ConfigLoader.parse(text, file: "f.yml")
            } catch let error as ConfigError {
                #expect(!error.issues.isEmpty)
                // YAML breaks lines at \n, \r, NEL, LS and PS (counted as scalars, not Characters).
                let lines = 1 + text.unicodeScalars.filter { ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }.count
                for issue in error.issues {
                    #expect(issue.line >= 0 && issue.line <= lines + 1, "line \(issue.line) of \(lines) (seed \(seed))")
                    #expect(!issue.message.isEmpty)
                }
            }
        }
        #expect(runs > 100)
    }

    @Test func acceptHeaderNegotiation() {
        let corpus = [
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;q=0.3",
            "text/plain", "*/*;q=0", "",
        ].map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: corpus) { input in
            let format = ExpositionFormat.negotiate(accept: String(decoding: input, as: UTF8.self))
            #expect([.text004, .openMetrics100, .protobufDelimited].contains(format))
        }
        #expect(runs > 100)
    }

    /// Alertmanager webhook bodies: a valid notification or a WebhookError with a 4xx status — never
    /// a crash or a hang, however deep, large or ill-typed the JSON.
    @Test func alertWebhookDecoder() {
        let valid = #"{"version":"4","groupKey":"{}:{}","status":"firing","receiver":"errno","groupLabels":{},"commonLabels":{},"#
            + #""commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"A","errno_exporter_trigger":"t","pid":"12"},"#
            + #""annotations":{},"startsAt":"2026-11-27T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"f"}]}"#
        let corpus = [valid, #"{"version":"4","status":"resolved","alerts":[]}"#, "[[[[[[[[[[]]]]]]]]]]", #"{"alerts":[{"labels":{"a":1}}]}"#, "\u{0}"]
            .map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: corpus) { input in
            do {
                let notification = try AlertNotification.decode(input)
                #expect(notification.version == "4")
                #expect(notification.alerts.allSatisfy { ["firing", "resolved"].contains($0.status) })
            } catch let error as WebhookError {
                #expect((400..<500).contains(error.status.rawValue))
                #expect(!error.description.isEmpty)
            } catch {
                Issue.record("an error that is not a WebhookError: \(error)")
            }
        }
        #expect(runs > 100)
    }

    /// Alertmanager's API answers (fleet mode) are as hostile as webhook bodies: every input is read
    /// within bounds or refused with a reason.
    @Test func alertmanagerAnswerDecoder() {
        let valid = #"[{"annotations":{},"endsAt":"2026-11-30T09:00:00Z","fingerprint":"2d4b","receivers":[{"name":"null"}],"#
            + #""startsAt":"2026-11-30T08:00:00Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-11-30T08:00:01Z","#
            + #""labels":{"alertname":"A","errno_exporter_trigger":"t","instance":"h:9717","comm":"node"}}]"#
        let corpus = [valid, "[]", #"[{"labels":{},"status":{"state":"suppressed"}}]"#, "[[[[[[[[]]]]]]]]", #"[{"labels":{"a":1}}]"#, "\u{0}"]
            .map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: corpus) { input in
            do {
                let alerts = try AlertmanagerAlerts.decode(input)
                #expect(alerts.count <= AlertmanagerAlerts.maxAlerts)
                #expect(alerts.allSatisfy { $0.firing && $0.labels.count <= AlertmanagerAlerts.maxLabels })
            } catch let error as AlertmanagerResponseError {
                #expect(!error.description.isEmpty)
            } catch {
                Issue.record("an error that is not an AlertmanagerResponseError: \(error)")
            }
        }
        #expect(runs > 100)
    }

    /// Any bytes → a label value (always valid UTF-8) → the text and OpenMetrics formats → parsed back.
    @Test func labelMappingAndEscapingRoundTrip() {
        let corpus = [Array("/etc/nodey.conf".utf8), [0x61, 0x0A, 0x22, 0x5C, 0xFF], Array("<other>".utf8), []]
        var fuzzer = Fuzzer()
        let seed = fuzzer.seed
        let runs = fuzzer.run(corpus: corpus) { input in
            let value = LabelValue.encode(input)
            let family = MetricFamily(name: "f_total", help: "h", type: .counter, samples: [Sample(labels: [Label("path", value)], value: 1)])
            for encoded in [TextFormat.encode([family]), OpenMetricsFormat.encode([family])] {
                let text = String(decoding: encoded, as: UTF8.self)
                let line = text.split(separator: "\n").first { $0.hasPrefix("f_total{") }.map(String.init) ?? ""
                #expect(Self.unescapeLabel(line) == value, "seed \(seed): \(input)")
            }
        }
        #expect(runs > 100)
    }

    /// The value of the single label of `f_total{path="…"} 1`, unescaped byte by byte as Prometheus
    /// does (not by Character: a combining mark would fuse with a `\\` or `"` into one grapheme).
    static func unescapeLabel(_ line: String) -> String? {
        let bytes = Array(line.utf8), prefix = Array("f_total{path=\"".utf8), suffix = Array("\"} 1".utf8)
        guard bytes.starts(with: prefix), bytes.count >= prefix.count + suffix.count, Array(bytes.suffix(suffix.count)) == suffix else { return nil }
        var value: [UInt8] = []
        var escaped = false
        for byte in bytes[prefix.count..<(bytes.count - suffix.count)] {
            if escaped {
                switch byte {
                case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(byte)
                default: return nil
                }
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n") {
                return nil  // an unescaped quote or newline inside a value
            } else {
                value.append(byte)
            }
        }
        return escaped ? nil : String(decoding: value, as: UTF8.self)
    }
}
