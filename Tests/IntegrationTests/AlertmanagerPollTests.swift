import FixtureSupport
import Foundation
import Glibc
import Testing

/// Fleet mode with real parts: a two-peer Alertmanager cluster running the shipped config, one
/// Prometheus running the shipped rules and sending to both peers, three agents polling both peers.
/// An alert for one agent arms only it; the agents go on arming from the second peer when the first
/// dies; a fleet-wide alert arms all of them; an agent started after an alert fired arms it at once.
@Suite(.timeLimit(.minutes(5)))
struct AlertmanagerPollTests {
    /// An agent with its own trigger path (failures there fire the alert for its `instance` only).
    struct Node {
        let name: String
        let watched: String
        let agent: AgentProcess
    }

    static func agentConfig(comm: String, watched: String, peers: [AlertmanagerServer]) -> String {
        """
        filters:
          comms: [\(comm)]
        triggers:
          - {name: watched, path: \(watched), armed: on_alert, arm_for: 2m, max_per_minute: 0}
        alerts:
          alertmanager_urls: [\(peers.map { "'\($0.url)'" }.joined(separator: ", "))]
          poll_interval: 1s
        """
    }

    static func isArmed(_ agent: AgentProcess) async throws -> Bool {
        try await agent.scrape().value("errno_trigger_armed", ["trigger": "watched"]) == 1
    }

    /// The `ts=` of the first log line containing `marker`.
    static func logTime(_ log: String, _ marker: String) -> Date? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(marker) }),
              let stamp = line.split(separator: " ").first(where: { $0.hasPrefix("ts=") })?.dropFirst(3)
        else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return parser.date(from: String(stamp))
    }

    /// Polls `condition` until it holds or `seconds` (scaled) pass (see `poll`); the time it first held.
    static func waitUntil(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Date? {
        try await poll(patience: seconds * testTimeScale, every: .milliseconds(200)) { try await condition() ? Date() : nil } until: { $0 != nil }
    }

    @Test func aTwoPeerClusterArmsExactlyTheAgentsItsAlertsAreFor() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-fleet")
        let comm = uniqueComm("ep_fleet_")
        let shipped = try AlertLoopTests.shipped("config/alertmanager/alertmanager.yml")
        let gossip = [try freeLoopbackPort(), try freeLoopbackPort()]
        let first = try AlertmanagerServer(config: shipped, cluster: (gossip[0], [gossip[1]]))
        let second = try AlertmanagerServer(config: shipped, cluster: (gossip[1], [gossip[0]]))
        let peers = [first, second]
        let nodes = try ["a", "b", "c"].map { name in
            let watched = "\(directory)/\(name).conf"
            return Node(name: name, watched: watched, agent: try AgentProcess(config: Self.agentConfig(comm: comm, watched: watched, peers: peers)))
        }
        let prometheusConfig = try AlertLoopTests.shipped("config/prometheus/prometheus.yml")
            .replacingOccurrences(of: "scrape_interval: 15s", with: "scrape_interval: 1s")
            .replacingOccurrences(of: "evaluation_interval: 15s", with: "evaluation_interval: 1s")
            .replacingOccurrences(of: "['localhost:9093']", with: "[\(peers.map { "'127.0.0.1:\($0.port)'" }.joined(separator: ", "))]")
            .replacingOccurrences(of: "['localhost:9717']", with: "[\(nodes.map { "'\($0.agent.address)'" }.joined(separator: ", "))]")
        let prometheus = try PrometheusServer(
            config: prometheusConfig, files: ["errno_exporter.rules.yml": try AlertLoopTests.shipped("config/prometheus/errno_exporter.rules.yml")])
        var timeline: [String] = []
        let start = Date()
        func mark(_ event: String) { timeline.append(String(format: "%6.1fs  ", Date().timeIntervalSince(start)) + event) }

        // Prometheus sees every agent's trigger counter at 0 first (a rate needs the rise).
        let scraped = try await Self.waitUntil(prometheusPatience) {
            try await prometheus.query(#"errno_trigger_matches_total{trigger="watched"}"#).count == 3
        }
        try #require(scraped != nil, "Prometheus never scraped the three agents")
        for node in nodes { #expect(try await !Self.isArmed(node.agent), "\(node.name) starts disarmed") }

        // B's path fails: the rule fires for B's instance, Prometheus sends it to both peers, B arms.
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 3, b.watched)]) }
        mark("b's path failed 3 times")
        let bArmed = try await Self.waitUntil(60) { try await Self.isArmed(b.agent) }
        try #require(bArmed != nil, "b was not armed; its output:\n\(b.agent.stderr.text.suffix(2000))")
        mark("b armed")
        // Prometheus sends the alert to both peers one after the other, so the poll that armed B may
        // have found it on one peer only; every poll re-extends the arming, and says who reported it.
        var bTriggers = ""
        let viaBoth = try await Self.waitUntil(20) {
            bTriggers = try await b.agent.get("/api/v1/triggers").body
            return bTriggers.contains(#""armed_via":"poll \#(first.url),\#(second.url)""#)
        }
        #expect(viaBoth != nil, "Prometheus sent it to both peers: \(bTriggers)")
        #expect(bTriggers.contains(#""armed_by":"ErrnoTriggerPathFailing"#), "\(bTriggers)")
        try await offPool { usleep(UInt32(3_000_000 * testTimeScale)) }  // three more polls
        for node in [a, c] {
            let scrape = try await node.agent.scrape()
            #expect(scrape.value("errno_trigger_armed", ["trigger": "watched"]) == 0, "b's alert must not arm \(node.name)")
            #expect(scrape.value("errno_exporter_alertmanager_alerts", ["node": "other"]) == 1, "\(node.name) sees b's alert as another node's")
        }

        // The first peer dies; C's path fails; the alert reaches only the second peer, and C arms from it.
        first.kill()
        mark("first Alertmanager peer killed")
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 3, c.watched)]) }
        mark("c's path failed 3 times")
        let cArmed = try await Self.waitUntil(60) { try await Self.isArmed(c.agent) }
        try #require(cArmed != nil, "c was not armed from the second peer; its output:\n\(c.agent.stderr.text.suffix(2000))")
        mark("c armed")
        let cTriggers = try await c.agent.get("/api/v1/triggers").body
        #expect(cTriggers.contains(#""armed_via":"poll \#(second.url)""#), "\(cTriggers)")
        #expect(try await !Self.isArmed(a.agent), "c's alert must not arm a")
        let cScrape = try await c.agent.scrape()
        #expect(cScrape.value("errno_exporter_alertmanager_peer_up", ["peer": first.url]) == 0)
        #expect(cScrape.value("errno_exporter_alertmanager_peer_up", ["peer": second.url]) == 1)
        #expect((cScrape.value("errno_exporter_alertmanager_polls_total", ["peer": first.url, "outcome": "error"]) ?? 0) >= 1)
        #expect(c.agent.stderr.text.contains("Alertmanager peer not polled; the other peers still are"))

        // A fleet-wide alert (no instance label), known to the second peer only, arms every agent.
        try second.post(labels: ["alertname": "FleetWideInvestigation", "errno_exporter_trigger": "watched", "comm": comm])
        mark("fleet-wide alert posted to the second peer")
        let aArmed = try await Self.waitUntil(30) { try await Self.isArmed(a.agent) }
        try #require(aArmed != nil, "a was not armed by the fleet-wide alert; its output:\n\(a.agent.stderr.text.suffix(2000))")
        mark("a armed")
        let aTriggers = try await a.agent.get("/api/v1/triggers").body
        #expect(aTriggers.contains(#""armed_by":"FleetWideInvestigation"#) && aTriggers.contains(#""armed_for":{"comm":"\#(comm)"}"#), "\(aTriggers)")
        for node in nodes { #expect(try await Self.isArmed(node.agent), "\(node.name) is armed") }

        // An agent started after the alert fired arms it at its first poll.
        let lateWatched = "\(directory)/d.conf"
        let late = try AgentProcess(config: Self.agentConfig(comm: comm, watched: lateWatched, peers: peers))
        mark("d started")
        let dArmed = try await Self.waitUntil(30) { try await Self.isArmed(late) }
        try #require(dArmed != nil, "d did not arm the alert already firing; its output:\n\(late.stderr.text.suffix(2000))")
        mark("d armed")
        // By the agent's own clock (the test's may lag on a loaded machine): armed at its first poll.
        let listening = try #require(Self.logTime(late.stderr.text, "msg=listening"))
        let armedAt = try #require(Self.logTime(late.stderr.text, "msg=\"trigger armed by an alert\""))
        #expect(armedAt.timeIntervalSince(listening) < 2 * testTimeScale, "armed \(armedAt.timeIntervalSince(listening))s after listening")
        let counted = try await Self.waitUntil(10) {
            try await late.scrape().value("errno_exporter_alertmanager_new_alerts_total", ["outcome": "armed"]) == 1
        }
        #expect(counted != nil, "the alert counts as new once")

        // An armed agent captures its path's next failure, with the alert's comm.
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 1, a.watched)]) }
        let capture = try #require(try await a.agent.waitForCaptures(trigger: "watched").first)
        #expect(capture.comm == comm && capture.path == a.watched)
        mark("a captured its path's next failure")
        print("fleet timeline:\n" + timeline.joined(separator: "\n"))

        for node in nodes { #expect(try node.agent.stop() == 0) }
        #expect(try late.stop() == 0)
    }
}

/// Hostile peers (Tests/Fixtures/hostile_alertmanager.py): oversized, deeply nested, mistyped, failing
/// and trickling answers are refused or time out and are counted; scrapes stay fast; the one good
/// alert among bad ones still arms. The peers arrive by a reload.
@Suite(.timeLimit(.minutes(5)))
struct HostileAlertmanagerTests {
    @Test func hostileAnswersAreRefusedCountedAndNeverBlockTheAgent() async throws {
        try requireRoot()
        let port = try freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let script = URL(fileURLWithPath: FixtureProgram.source).deletingLastPathComponent().appendingPathComponent("hostile_alertmanager.py").path
        server.arguments = [script, "\(port)"]
        try server.run()
        defer {
            // SIGKILL: children of the test process inherit its blocked SIGTERM, and Python keeps it blocked.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let peers = ["huge", "deep", "types", "status", "slow", "mixed"].map { "http://127.0.0.1:\(port)/\($0)" }
        // Counting only its own comm: the other tests' floods of distinct failing paths would make
        // every scrape of a machine-wide agent slow, whatever the peers do.
        let triggers = "filters:\n  comms: [\(uniqueComm("am_hostile_"))]\ntriggers:\n  - {name: watched, path: /nonexistent/errno-hostile-am, armed: on_alert}\n"
        let agent = try AgentProcess(config: triggers, arguments: ["--web.enable-lifecycle"])
        #expect(try await agent.scrape().matching("errno_exporter_alertmanager_polls_total", [:]).isEmpty, "no peers, no polling")
        // A reload brings the peers in.
        try (triggers + """
            alerts:
              alertmanager_urls: [\(peers.map { "'\($0)'" }.joined(separator: ", "))]
              poll_interval: 2s
            """).write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        // A poll records every peer, then arms, then counts new alerts: wait for its last step.
        let armed = try await AlertmanagerPollTests.waitUntil(30) {
            let scrape = try await agent.scrape()
            return scrape.value("errno_exporter_alertmanager_polls_total", ["peer": peers[4], "outcome": "error"]) ?? 0 >= 1
                && scrape.value("errno_exporter_alertmanager_new_alerts_total", ["outcome": "armed"]) == 1
        }
        try #require(armed != nil, "the trickling peer was never given up on; output:\n\(agent.stderr.text.suffix(2000))")
        // Scrapes are built at once while a poll waits on the trickling peer (always: it holds every
        // poll for the whole timeout, 2 s). A scrape that waited on polls would take a second on
        // average; the median of five, 300 ms apart, stays clear of one busy moment on a loaded host.
        var durations: [Double] = []
        var scrape = try await agent.scrape()
        for round in 0..<5 {
            if round > 0 {
                try await offPool { usleep(300_000) }
                scrape = try await agent.scrape()
            }
            durations.append(try #require(scrape.value("errno_exporter_scrape_duration_seconds")))
        }
        #expect(durations.sorted()[2] < 0.5 * testTimeScale, "scrape durations: \(durations)")
        for peer in peers[0...2] {
            #expect((scrape.value("errno_exporter_alertmanager_polls_total", ["peer": peer, "outcome": "refused"]) ?? 0) >= 1, "\(peer)")
            #expect(scrape.value("errno_exporter_alertmanager_peer_up", ["peer": peer]) == 0)
        }
        #expect((scrape.value("errno_exporter_alertmanager_polls_total", ["peer": peers[3], "outcome": "error"]) ?? 0) >= 1)
        #expect(scrape.value("errno_exporter_alertmanager_peer_up", ["peer": peers[5]]) == 1)
        #expect(scrape.value("errno_trigger_armed", ["trigger": "watched"]) == 1, "the good alert arms")
        #expect(scrape.value("errno_exporter_alertmanager_new_alerts_total", ["outcome": "armed"]) == 1)
        #expect(scrape.value("errno_exporter_alertmanager_new_alerts_total", ["outcome": "unknown_trigger"]) == 1)
        #expect(scrape.value("errno_exporter_alertmanager_new_alerts_total", ["outcome": "invalid"]) == 1)
        #expect(scrape.value("errno_exporter_alertmanager_alerts", ["node": "other"]) == 1)
        #expect(agent.stderr.text.contains("is not a comm"))
        #expect(try agent.stop() == 0)
    }
}

/// Peers behind TLS with client certificates and basic auth, as Prometheus' alertmanager_config
/// reaches them: the right credentials poll and arm, wrong ones are counted errors with the reason.
@Suite(.timeLimit(.minutes(5)))
struct AlertmanagerTLSPollTests {
    @Test func tlsClientCertificatesAndBasicAuthReachThePeer() async throws {
        try requireRoot()
        let pki = try TLSTests.PKI()
        let webConfig = """
            tls_server_config:
              cert_file: \(pki.path("server.pem"))
              key_file: \(pki.path("server.key"))
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(pki.path("ca.pem"))
            basic_auth_users:
              agent: '\(try BasicAuthTests.bcrypt("agent", "am-s3cret"))'
            """
        let client = "--cacert \(pki.path("ca.pem")) --cert \(pki.path("client.pem")) --key \(pki.path("client.key")) -u agent:am-s3cret"
        let peer = try AlertmanagerServer(
            config: try AlertLoopTests.shipped("config/alertmanager/alertmanager.yml"), webConfig: webConfig, curlOptions: client)
        try peer.post(labels: ["alertname": "Investigate", "errno_exporter_trigger": "watched"])
        try "am-s3cret\n".write(toFile: pki.path("am.password"), atomically: true, encoding: .utf8)
        try "wrong\n".write(toFile: pki.path("wrong.password"), atomically: true, encoding: .utf8)
        func agent(password: String) throws -> AgentProcess {
            try AgentProcess(config: """
                triggers:
                  - {name: watched, path: /nonexistent/errno-tls-am, armed: on_alert}
                alerts:
                  alertmanager_urls: ['\(peer.url)']
                  poll_interval: 1s
                  tls_config: {ca_file: \(pki.path("ca.pem")), cert_file: \(pki.path("client.pem")), key_file: \(pki.path("client.key"))}
                  basic_auth: {username: agent, password_file: \(pki.path(password))}
                """)
        }
        let right = try agent(password: "am.password"), wrong = try agent(password: "wrong.password")
        let armed = try await AlertmanagerPollTests.waitUntil(30) { try await AlertmanagerPollTests.isArmed(right) }
        try #require(armed != nil, "not armed over TLS; output:\n\(right.stderr.text.suffix(2000))")
        #expect(try await right.scrape().value("errno_exporter_alertmanager_peer_up", ["peer": peer.url]) == 1)
        let refused = try await AlertmanagerPollTests.waitUntil(30) {
            try await wrong.scrape().value("errno_exporter_alertmanager_polls_total", ["peer": peer.url, "outcome": "error"]) ?? 0 >= 1
        }
        #expect(refused != nil)
        #expect(try await !AlertmanagerPollTests.isArmed(wrong))
        #expect(wrong.stderr.text.contains("HTTP 401"), "\(wrong.stderr.text.suffix(1000))")
        #expect(try right.stop() == 0 && wrong.stop() == 0)
    }
}
