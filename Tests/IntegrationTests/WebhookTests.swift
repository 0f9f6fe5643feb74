import FixtureSupport
import Foundation
import Testing

/// /api/v1/alerts on its own: what arms a trigger, what narrows it, and hostile payloads that must
/// change nothing.
@Suite(.timeLimit(.minutes(5)))
struct WebhookTests {
    static func notification(_ alerts: String, version: String = "4") -> String {
        #"{"version":"\#(version)","groupKey":"{}:{}","status":"firing","receiver":"errno","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[\#(alerts)]}"#
    }

    static func alert(_ labels: [String: String], status: String = "firing") -> String {
        let text = labels.map { #""\#($0.key)":"\#($0.value)""# }.joined(separator: ",")
        return #"{"status":"\#(status)","labels":{\#(text)},"annotations":{},"startsAt":"2026-11-27T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"abc123"}"#
    }

    /// POSTs `body` with curl (any bytes, any size), returning the status code.
    static func post(_ agent: AgentProcess, file: String, contentType: String = "application/json") async throws -> Int {
        let address = agent.address
        let result = try await offPool {
            try shell("curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: \(contentType)' --data-binary @\(file) http://\(address)/api/v1/alerts")
        }
        return Int(result.output) ?? 0
    }

    static func post(_ agent: AgentProcess, _ body: String, contentType: String = "application/json") async throws -> Int {
        let file = NSTemporaryDirectory() + "errno-webhook-\(UUID().uuidString.prefix(8)).json"
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await post(agent, file: file, contentType: contentType)
    }

    static func armed(_ agent: AgentProcess, _ trigger: String) async throws -> Double? {
        try await agent.scrape().value("errno_trigger_armed", ["trigger": trigger])
    }

    @Test func hostilePayloadsGet4xxAndChangeNothing() async throws {
        try requireRoot()
        let agent = try AgentProcess(config: "triggers:\n  - {name: guarded, path: /tmp/errno-guarded, armed: on_alert}\n")
        let valid = Self.alert(["alertname": "A", "errno_exporter_trigger": "guarded"])
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let cases: [(String, String, String, Int)] = [
            ("malformed JSON", #"{"version":"4","alerts":[{"#, "application/json", 400),
            ("not an object", "[1,2,3]", "application/json", 400),
            ("deep nesting", deep, "application/json", 400),
            ("deep nesting inside alerts", Self.notification(deep), "application/json", 400),
            ("wrong version", Self.notification(valid, version: "3"), "application/json", 400),
            ("labels of the wrong type", #"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"errno_exporter_trigger":7}}]}"#, "application/json", 400),
            ("alerts not a list", #"{"version":"4","status":"firing","alerts":{"a":1}}"#, "application/json", 400),
            ("an unknown status", Self.notification(Self.alert(["errno_exporter_trigger": "guarded"], status: "pending")), "application/json", 400),
            ("an unknown trigger, beside a known one", Self.notification(valid + "," + Self.alert(["errno_exporter_trigger": "nosuch"])), "application/json", 422),
            ("a bad pid label", Self.notification(Self.alert(["errno_exporter_trigger": "guarded", "pid": "-3"])), "application/json", 422),
            ("a bad comm label", Self.notification(Self.alert(["errno_exporter_trigger": "guarded", "comm": "a-comm-far-too-long"])), "application/json", 422),
            ("the wrong content type", Self.notification(valid), "text/plain", 415),
            ("invalid UTF-8", "{\"version\":\"4\",\"status\":\"\u{FFFD}\",\"alerts\":[]}".replacingOccurrences(of: "\u{FFFD}", with: "\\udc00"), "application/json", 400),
        ]
        for (what, body, contentType, expected) in cases {
            #expect(try await Self.post(agent, body, contentType: contentType) == expected, "\(what)")
        }
        // A 10 MB body is refused without being read whole.
        let big = NSTemporaryDirectory() + "errno-webhook-big-\(UUID().uuidString.prefix(8)).json"
        FileManager.default.createFile(atPath: big, contents: Data(repeating: UInt8(ascii: " "), count: 10 << 20))
        defer { try? FileManager.default.removeItem(atPath: big) }
        #expect(try await Self.post(agent, file: big) == 413)
        // Nothing was armed, the agent still serves, and every refusal is counted.
        #expect(try await Self.armed(agent, "guarded") == 0)
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_arming_notifications_total", ["trigger": "guarded"]) == 0)
        let refused = ["400", "413", "415", "422"].compactMap { scrape.value("errno_exporter_alert_webhook_requests_total", ["code": $0]) }.reduce(0, +)
        #expect(refused == Double(cases.count + 1))
        #expect(try await agent.get("/-/healthy").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func anAlertArmsForArmForAndItsCommLabelNarrowsTheCapture() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-hook")
        let agent = try AgentProcess(config: """
            triggers:
              - {name: narrow, path: \(directory)/x, armed: on_alert, arm_for: 1h, max_per_minute: 0}
              - {name: steady, path: \(directory)/y, max_per_minute: 0}
            """)
        #expect(try await Self.armed(agent, "narrow") == 0)
        // Alerts without the label, and resolved ones, are ignored; a label naming an always-armed trigger is fine.
        #expect(try await Self.post(agent, Self.notification(Self.alert(["alertname": "Other"]))) == 200)
        #expect(try await Self.post(agent, Self.notification(Self.alert(["errno_exporter_trigger": "narrow"], status: "resolved"))) == 200)
        #expect(try await Self.post(agent, Self.notification(Self.alert(["errno_exporter_trigger": "steady"]))) == 200)
        #expect(try await Self.armed(agent, "narrow") == 0)
        let armedAt = Date()
        #expect(try await Self.post(agent, Self.notification(Self.alert(["alertname": "Hot", "errno_exporter_trigger": "narrow", "comm": "deep_fp"]))) == 200)
        #expect(try await Self.armed(agent, "narrow") == 1)
        let status = try await agent.get("/api/v1/triggers")
        #expect(status.body.contains(#""armed_for":{"comm":"deep_fp"}"#) && status.body.contains(#""armed_by":"Hot (abc123)""#), "\(status.body)")
        // Only deep_fp's open is captured: deep_nofp's matches but is outside the alert's narrowing.
        try await runFixture(try FixtureProgram.path("deep_nofp"), path: "\(directory)/x")
        try await runFixture(try FixtureProgram.path("deep_fp"), path: "\(directory)/x")
        let captures = try await agent.waitForCaptures(trigger: "narrow")
        #expect(captures.map(\.comm) == ["deep_fp"])
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "narrow"]) == 2)
        #expect(scrape.value("errno_trigger_arming_notifications_total", ["trigger": "narrow"]) == 1)
        // The window is arm_for long: an hour from the notification.
        let until = try #require(status.body.range(of: #""armed_until":""#).map { String(status.body[$0.upperBound...].prefix(26)) })
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let deadline = try #require(formatter.date(from: until + "Z"))
        #expect(abs(deadline.timeIntervalSince(armedAt) - 3600) < 30)
        #expect(try agent.stop() == 0)
    }
}
