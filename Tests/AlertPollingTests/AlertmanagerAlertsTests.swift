import Captures
import ErrnoConfig
import Foundation
import Testing

@testable import AlertPolling

/// Alertmanager's API v2 answers, read with bounds; the request the poller sends.
@Suite struct AlertmanagerAlertsTests {
    static let answer = """
        [{"annotations":{"summary":"s"},"endsAt":"2026-11-30T09:00:00.000Z","fingerprint":"2d4b","receivers":[{"name":"null"}],
          "startsAt":"2026-11-30T08:00:00.000Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
          "updatedAt":"2026-11-30T08:00:01.000Z","generatorURL":"http://prom/graph","labels":{"alertname":"A","errno_exporter_trigger":"nodey"}},
         {"fingerprint":"9f","labels":{"alertname":"B"},"status":{"inhibitedBy":[],"silencedBy":["s1"],"state":"suppressed"}}]
        """

    @Test func activeAlertsAreReadAndSuppressedOnesLeftOut() throws {
        let alerts = try AlertmanagerAlerts.decode(Array(Self.answer.utf8))
        #expect(alerts == [FiringAlert(firing: true, labels: ["alertname": "A", "errno_exporter_trigger": "nodey"], fingerprint: "2d4b")])
    }

    @Test func hostileAnswersAreRefusedWhole() {
        let manyLabels = "[{\"labels\":{" + (0..<65).map { "\"l\($0)\":\"v\"" }.joined(separator: ",") + "}}]"
        let longValue = "[{\"labels\":{\"a\":\"" + String(repeating: "x", count: 4097) + "\"}}]"
        let manyAlerts = "[" + Array(repeating: "{\"labels\":{}}", count: 10_001).joined(separator: ",") + "]"
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        for body in ["{}", "[{\"labels\":{\"a\":1}}]", "not json", manyLabels, longValue, manyAlerts, deep] {
            #expect(throws: AlertmanagerResponseError.self) { try AlertmanagerAlerts.decode(Array(body.utf8)) }
        }
        #expect(throws: AlertmanagerResponseError.self) { try AlertmanagerAlerts.decode([UInt8](repeating: 32, count: AlertmanagerAlerts.maxBytes + 1)) }
    }

    @Test func theRequestAsksForFiringTriggerAlertsWithTheConfiguredMatchers() throws {
        let url = AlertmanagerPeers.alertsURL("https://am-1:9093/prefix/", matchers: [try AlertMatcher(parsing: #"cluster=~"eu|us""#)])
        #expect(url == "https://am-1:9093/prefix/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false"
            + "&filter=errno_exporter_trigger%3D~%22.%2B%22&filter=cluster%3D~%22eu%7Cus%22")
    }

    @Test func credentialsBecomeTheAuthorizationHeaderAndFilesAreReadAtEachPoll() async throws {
        var settings = Config.Alerts()
        settings.credentials = .basic(username: "agent", password: .inline("s3cret"))
        let basic = try AlertmanagerPeers(settings)
        #expect(try basic.authorization() == "Basic YWdlbnQ6czNjcmV0")
        await basic.shutdown()
        let file = NSTemporaryDirectory() + "errno-token-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "first\n".write(toFile: file, atomically: true, encoding: .utf8)
        settings.credentials = .authorization(type: "Bearer", credentials: .file(file))
        let peers = try AlertmanagerPeers(settings)
        #expect(try peers.authorization() == "Bearer first")
        try "second".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try peers.authorization() == "Bearer second")
        try FileManager.default.removeItem(atPath: file)
        #expect(throws: PollFailure.self) { try peers.authorization() }
        await peers.shutdown()
    }
}
