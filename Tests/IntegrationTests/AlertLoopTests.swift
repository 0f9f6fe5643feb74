import FixtureSupport
import Foundation
import Glibc
import Testing

/// Debian's prometheus-alertmanager on a free loopback port, with the given config; alone, or a peer
/// of a cluster (gossip on `cluster.listen`, joining the peers at `cluster.peers`).
final class AlertmanagerServer {
    private let server: LoopbackServer
    var port: Int { server.port }

    let scheme: String
    let curlOptions: String

    /// `webConfig`: an exporter-toolkit web config (TLS, basic auth); `curlOptions` let curl through it.
    init(config: String, cluster: (listen: Int, peers: [Int])? = nil, webConfig: String? = nil, curlOptions: String = "") throws {
        let clusterArguments = cluster.map { cluster in
            ["--cluster.listen-address=127.0.0.1:\(cluster.listen)"] + cluster.peers.map { "--cluster.peer=127.0.0.1:\($0)" }
        } ?? ["--cluster.listen-address="]
        let scheme = webConfig?.contains("tls_server_config") == true ? "https" : "http"
        self.scheme = scheme
        self.curlOptions = curlOptions
        var files = ["alertmanager.yml": config]
        if let webConfig { files["web.yml"] = webConfig }
        server = try LoopbackServer("/usr/bin/prometheus-alertmanager", files: files, scheme: scheme, curlOptions: curlOptions) { directory, port in
            ["--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)",
             "--log.level=warn"] + clusterArguments + (webConfig == nil ? [] : ["--web.config.file=\(directory)/web.yml"])
        }
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Posts an alert through the API (as Prometheus would), with `labels`.
    func post(labels: [String: String]) throws {
        let body = try JSONSerialization.data(withJSONObject: [["labels": labels]])
        let answer = try shell(
            "curl -sf \(curlOptions) -XPOST -H 'Content-Type: application/json' --data-binary @- \(url)/api/v2/alerts", input: String(decoding: body, as: UTF8.self))
        try #require(answer.status == 0, "posting an alert failed: \(answer.output)")
    }

    /// Stops the peer (SIGTERM) and waits for it.
    func kill() { server.stop() }
}

/// The loop users want, with the shipped Prometheus, rules and Alertmanager configs: a trigger's path
/// fails → the rule fires → Alertmanager posts to the agent → the trigger arms → the next failure is
/// captured with its stack. And every expression in the shipped rules and dashboard returns data.
@Suite(.timeLimit(.minutes(5)))
struct AlertLoopTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func shipped(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Alerting rules that stay quiet under the test's traffic, and why; their metric selectors are
    /// checked to return data instead.
    static let quietAlerts = [
        "ErrnoFailureRateRising": "needs an hour of history and a threefold rise",
        "ErrnoExporterDroppingEvents": "the test drops nothing",
        "ErrnoExporterMapAlmostFull": "the maps stay nearly empty",
        "ErrnoExporterReloadFailed": "no reload fails",
        "ErrnoExporterDown": "the agent is up",
    ]

    struct Rule {
        let name: String
        let expression: String
        let isAlert: Bool
    }

    /// Every rule of the shipped rule file (a small reader for its known shape: `- record:`/`- alert:`
    /// followed by `expr:` on one line or as a `|` block).
    static func rules() throws -> [Rule] {
        var rules: [Rule] = []
        let lines = try shipped("config/prometheus/errno_exporter.rules.yml").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("- record:") || line.hasPrefix("- alert:") {
                let name = String(line.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
                let expr = lines[index + 1].trimmingCharacters(in: .whitespaces)
                var expression = String(expr.dropFirst("expr:".count)).trimmingCharacters(in: .whitespaces)
                if expression == "|" {
                    var block: [String] = []
                    var next = index + 2
                    while next < lines.count, lines[next].hasPrefix("          ") {
                        block.append(lines[next].trimmingCharacters(in: .whitespaces))
                        next += 1
                    }
                    expression = block.joined(separator: " ")
                }
                rules.append(Rule(name: name, expression: expression, isAlert: line.hasPrefix("- alert:")))
            }
            index += 1
        }
        return rules
    }

    @Test func anAlertArmsATriggerAndTheNextFailureIsCapturedAndEveryShippedQueryReturnsData() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-alert")
        let comm = uniqueComm("ep_alrt_")
        let watched = "\(directory)/app.conf"
        let agent = try AgentProcess(config: """
            filters:
              comms: [\(comm), deep_nofp]
            triggers:
              - {name: watched, path: \(watched), armed: on_alert, arm_for: 2m, max_per_minute: 0}
            """)
        let alertmanagerConfig = try Self.shipped("config/alertmanager/alertmanager-webhook.yml")
            .replacingOccurrences(of: "http://localhost:9717/", with: "http://\(agent.address)/")
            .replacingOccurrences(of: #"instance = "localhost:9717""#, with: #"instance = "\#(agent.address)""#)
            .replacingOccurrences(of: "group_wait: 10s", with: "group_wait: 1s")
            .replacingOccurrences(of: "group_interval: 30s", with: "group_interval: 1s")
        let alertmanager = try AlertmanagerServer(config: alertmanagerConfig)
        let prometheusConfig = try Self.shipped("config/prometheus/prometheus.yml")
            .replacingOccurrences(of: "scrape_interval: 15s", with: "scrape_interval: 1s")
            .replacingOccurrences(of: "evaluation_interval: 15s", with: "evaluation_interval: 1s")
            .replacingOccurrences(of: "'localhost:9093'", with: "'127.0.0.1:\(alertmanager.port)'")
            .replacingOccurrences(of: "'localhost:9717'", with: "'\(agent.address)'")
        let prometheus = try PrometheusServer(
            config: prometheusConfig, arguments: ["--enable-feature=exemplar-storage"],
            files: ["errno_exporter.rules.yml": try Self.shipped("config/prometheus/errno_exporter.rules.yml")])

        // Prometheus first sees the trigger's counter at 0 (a rate needs the rise).
        _ = try await poll(patience: prometheusPatience) { try await prometheus.query(#"errno_trigger_matches_total{trigger="watched"}"#) } until: { !$0.isEmpty }
        // Failures on the watched path: counted as matches, not captured — the trigger waits for an alert.
        try await offPool { try runLoad(comm: comm, badRead: 5, paths: [PathPlan("openat", 20, watched), PathPlan("openat", 5, "\(directory)/other")]) }
        var scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "watched"]) == 20)

        // Prometheus fires ErrnoTriggerPathFailing, Alertmanager posts it, the agent arms the trigger.
        let deadline = Date().addingTimeInterval(90)
        var armed = false
        while !armed, Date() < deadline {
            try await offPool { usleep(500_000) }
            armed = try await agent.scrape().value("errno_trigger_armed", ["trigger": "watched"]) == 1
        }
        try #require(armed, "the trigger was not armed; agent output:\n\(agent.stderr.text.suffix(2000))")
        // The 20 failures came before the alert (it needs them to fire): none of them was captured.
        #expect(try await agent.scrape().value("errno_stack_captures_total", ["trigger": "watched"]) == 0)
        #expect(try await agent.captures().isEmpty, "nothing is captured before an alert arms the trigger")
        let firing = try await prometheus.query(#"ALERTS{alertname="ErrnoTriggerPathFailing", alertstate="firing"}"#)
        #expect(firing.first?.labels["errno_exporter_trigger"] == "watched")
        let triggers = try await agent.get("/api/v1/triggers")
        #expect(triggers.body.contains(#""armed":true"#) && triggers.body.contains(#""armed_by":"ErrnoTriggerPathFailing"#), "\(triggers.body)")
        #expect(agent.stderr.text.contains("trigger armed by an alert"))

        // The next failure is captured, with its stack.
        try await runFixture(try FixtureProgram.path("deep_nofp"), path: watched)
        let capture = try #require(try await agent.waitForCaptures(trigger: "watched").first)
        #expect(capture.comm == "deep_nofp" && capture.path == watched)
        #expect(Array(capture.symbols.dropFirst().prefix(4)) == TriggerTests.chain, "\(capture.symbols)")
        scrape = try await agent.scrape()
        #expect((scrape.value("errno_trigger_arming_notifications_total", ["trigger": "watched"]) ?? 0) >= 1)
        #expect((scrape.value("errno_exporter_alert_webhook_requests_total", ["code": "200"]) ?? 0) >= 1)

        // Every shipped expression returns data (give Prometheus a few more scrapes of the capture's metrics).
        try await offPool { usleep(3_000_000) }
        // Prometheus stored the capture as the path series' exemplar (scraped as OpenMetrics).
        let now = Date().timeIntervalSince1970
        let exemplars = try await prometheus.api(
            "query_exemplars", ["query": #"errno_path_failures_total{comm="deep_nofp"}"#, "start": "\(now - 600)", "end": "\(now + 60)"])
        let captureIDs = ((exemplars as? [[String: Any]]) ?? []).flatMap { ($0["exemplars"] as? [[String: Any]]) ?? [] }
            .compactMap { ($0["labels"] as? [String: String])?["capture_id"] }
        #expect(captureIDs.contains(capture.id), "exemplars: \(exemplars)")
        for rule in try Self.rules() {
            let result = try await prometheus.query(rule.isAlert ? rule.expression : rule.name)
            if let reason = Self.quietAlerts[rule.name] {
                #expect(result.isEmpty, "\(rule.name) fired although \(reason)")
                for selector in Self.selectors(in: rule.expression) {
                    #expect(!(try await prometheus.query(selector)).isEmpty, "\(rule.name): \(selector) returns no data")
                }
            } else {
                #expect(!result.isEmpty, "\(rule.name): \(rule.expression) returns no data")
            }
        }
        for expression in try DashboardTests.expressions() {
            let query = DashboardTests.concrete(expression)
            #expect(!(try await prometheus.query(query)).isEmpty, "dashboard query returns no data: \(query)")
        }
        #expect(try agent.stop() == 0)
    }

    /// The metric selectors of an expression (`name{…}` or a bare recorded name).
    static func selectors(in expression: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"\b([a-z_:]+(?:errno|up)[a-z0-9_:]*)(\{[^}]*\})?"#)
        let range = NSRange(expression.startIndex..., in: expression)
        return pattern.matches(in: expression, range: range).map { String(expression[Range($0.range, in: expression)!]) }
            .filter { !["errno", "reason", "instance"].contains($0) }
    }
}
