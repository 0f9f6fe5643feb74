import FixtureSupport
import Foundation
import Testing

/// --web.config.file basic auth: every route, htpasswd -B hashes, rotation without restart, and a
/// real Prometheus with basic_auth.
@Suite(.timeLimit(.minutes(5)))
struct BasicAuthTests {
    static func bcrypt(_ user: String, _ password: String) throws -> String {
        let line = try shell("htpasswd -nbB \(user) \(password)").output.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(line.hasPrefix("\(user):$2y$"), "htpasswd: \(line)")
        return String(line.dropFirst(user.count + 1))
    }

    func status(_ agent: AgentProcess, _ path: String, user: String? = nil, password: String? = nil) throws -> (code: String, header: String) {
        let credentials = user.map { "-u '\($0):\(password ?? "")'" } ?? ""
        let output = try shell("curl -s -o /dev/null -D - -w 'CODE %{http_code}' \(credentials) http://\(agent.address)\(path)").output
        return (String(output.split(separator: " ").last ?? ""), output.lowercased())
    }

    @Test func everyRouteNeedsTheRightCredentialsAndRotationNeedsNoRestart() async throws {
        try requireRoot()
        let webConfig = NSTemporaryDirectory() + "errno-web-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: webConfig) }
        try "basic_auth_users:\n  alice: '\(try Self.bcrypt("alice", "s3cret"))'\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(arguments: ["--web.config.file=\(webConfig)"])
        for path in ["/metrics", "/", "/-/healthy", "/-/ready", "/api/v1/captures", "/api/v1/triggers"] {
            let anonymous = try status(agent, path)
            #expect(anonymous.code == "401", "\(path) without credentials")
            #expect(anonymous.header.contains("www-authenticate: basic"))
            #expect(try status(agent, path, user: "alice", password: "wrong").code == "401")
            #expect(try status(agent, path, user: "mallory", password: "s3cret").code == "401")
            #expect(try status(agent, path, user: "alice", password: "s3cret").code == "200", "\(path) with alice's password")
        }
        // The Alertmanager webhook too: an unauthenticated notification is refused before it is read.
        let webhook = try shell("curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' http://\(agent.address)/api/v1/alerts")
        #expect(webhook.output == "401")
        // Rotate: a new password takes effect without a restart; the old one stops working.
        try "basic_auth_users:\n  alice: '\(try Self.bcrypt("alice", "n3w"))'\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        #expect(try status(agent, "/metrics", user: "alice", password: "n3w").code == "200")
        #expect(try status(agent, "/metrics", user: "alice", password: "s3cret").code == "401")
        // A broken edit keeps the last good config in force.
        try "basic_auth_users:\n  alice: plaintext\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        #expect(try status(agent, "/metrics", user: "alice", password: "n3w").code == "200")
        #expect(agent.stderr.text.contains("web config reload failed; the previous one stays in force"))
        #expect(try agent.stop() == 0)
    }

    @Test func aPrometheusWithBasicAuthScrapesAndOneWithoutIsRefused() async throws {
        try requireRoot()
        let webConfig = NSTemporaryDirectory() + "errno-web-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: webConfig) }
        try "basic_auth_users:\n  prom: '\(try Self.bcrypt("prom", "scrape-me"))'\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        // A comm filter keeps the scrape small whatever else the machine (or a parallel test) does.
        let agent = try AgentProcess(config: "filters:\n  comms: [\(uniqueComm("ba_prom_"))]\n", arguments: ["--web.config.file=\(webConfig)"])
        // A 5 s interval (and timeout) for the authorized one: each scrape checks a bcrypt hash, and a
        // 2-core machine loaded by the rest of the suite (browsers, nodes, agents) can be slow to answer.
        let authorized = try PrometheusServer(target: agent.address, interval: "5s", jobExtras: "    basic_auth:\n      username: prom\n      password: scrape-me\n")
        let anonymous = try PrometheusServer(target: agent.address, interval: "3s")
        let (authorizedUp, anonymousScrapes) = try await poll(patience: prometheusPatience) {
            (
                try await authorized.query(#"max_over_time(up{job="errno"}[5m])"#).first?.value ?? 0,
                try await anonymous.query(#"count_over_time(up{job="errno"}[5m])"#).first?.value ?? 0
            )
        } until: { $0.0 >= 1 && $0.1 >= 3 }
        let targets = "\(await authorized.targets()) / \(await anonymous.targets())"
        #expect(authorizedUp == 1, "with basic_auth the scrapes succeed; targets: \(targets)")
        #expect(anonymousScrapes >= 3, "targets: \(targets)")
        #expect(try await anonymous.query(#"max_over_time(up{job="errno"}[5m])"#).first?.value == 0, "without, every scrape is refused")
        #expect(try agent.stop() == 0)
    }

    @Test func aBrokenWebConfigIsAClearStartupError() throws {
        try requireRoot()
        let webConfig = NSTemporaryDirectory() + "errno-web-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: webConfig) }
        try "tls_server_config:\n  cert_file: x.pem\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(arguments: ["--web.config.file=\(webConfig)"], waitForListening: false)
        let (status, output) = try agent.waitForExit()
        #expect(status == 1)
        #expect(output.contains("\(webConfig):2:14: tls_server_config.cert_file: cannot read \(NSTemporaryDirectory())x.pem"), "\(output)")
        #expect(output.contains("\(webConfig):2:3: tls_server_config: key_file is required"), "\(output)")
    }
}
