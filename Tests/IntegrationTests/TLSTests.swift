import FixtureSupport
import Foundation
import Testing

/// tls_server_config: HTTPS only, client certificates, certificate rotation without restart, and a
/// real Prometheus with tls_config. Certificates come from openssl, made fresh per test.
@Suite(.timeLimit(.minutes(5)))
struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, in a scratch directory.
    final class PKI {
        let directory: String

        init() throws {
            directory = NSTemporaryDirectory() + "errno-pki-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=errno-test-ca")
            try issue("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1")
            try issue("client", subject: "/CN=prometheus", extensions: "extendedKeyUsage=clientAuth")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func run(_ command: String) throws {
            let result = try shell("cd \(directory) && \(command) 2>&1")
            try #require(result.status == 0, "\(command): \(result.output)")
        }

        /// A key and a certificate signed by the CA.
        func issue(_ name: String, subject: String, extensions: String) throws {
            try run("openssl req -newkey rsa:2048 -nodes -keyout \(name).key -out \(name).csr -subj \(subject)")
            try run("printf '\(extensions)\\n' > \(name).ext && openssl x509 -req -in \(name).csr -CA ca.pem -CAkey ca.key -CAcreateserial -out \(name).pem -days 2 -extfile \(name).ext")
        }

        func path(_ file: String) -> String { "\(directory)/\(file)" }
    }

    func curl(_ arguments: String) throws -> String {
        try shell("curl -s -o /dev/null -w '%{http_code}' --max-time 10 \(arguments)").output
    }

    @Test func httpsOnlyWithClientCertificatesAndRotationWithoutRestart() async throws {
        try requireRoot()
        let pki = try PKI()
        let webConfig = pki.path("web.yml")
        try """
            tls_server_config:
              cert_file: server.pem
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.pem
            """.write(toFile: webConfig, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(arguments: ["--web.config.file=\(webConfig)"])
        let client = "--cacert \(pki.path("ca.pem")) --cert \(pki.path("client.pem")) --key \(pki.path("client.key"))"
        #expect(try curl("\(client) https://\(agent.address)/metrics") == "200")
        #expect(try curl("--cacert \(pki.path("ca.pem")) https://\(agent.address)/metrics") == "000", "no client certificate: handshake refused")
        #expect(try curl("http://\(agent.address)/metrics") == "000", "plain HTTP is refused when TLS is on")
        #expect(try curl("-k \(client) https://\(agent.address)/-/healthy") == "200")

        // Rotate the server certificate in place: the next handshake presents the new one.
        let serialBefore = try shell("echo | openssl s_client -connect \(agent.address) -cert \(pki.path("client.pem")) -key \(pki.path("client.key")) 2>/dev/null | openssl x509 -noout -serial").output
        try pki.issue("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1")
        let serialAfter = try shell("echo | openssl s_client -connect \(agent.address) -cert \(pki.path("client.pem")) -key \(pki.path("client.key")) 2>/dev/null | openssl x509 -noout -serial").output
        #expect(serialBefore.hasPrefix("serial="))
        #expect(serialAfter.hasPrefix("serial=") && serialAfter != serialBefore, "\(serialBefore) → \(serialAfter)")
        #expect(try curl("\(client) https://\(agent.address)/metrics") == "200")
        #expect(try agent.stop() == 0)
    }

    @Test func aPrometheusWithTLSAndBasicAuthScrapes() async throws {
        try requireRoot()
        let pki = try PKI()
        let hash = try shell("htpasswd -nbB prom pw").output.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("prom:".count)
        let webConfig = pki.path("web.yml")
        try "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prom: '\(hash)'\n"
            .write(toFile: webConfig, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(config: "filters:\n  comms: [\(uniqueComm("tls_prom_"))]\n", arguments: ["--web.config.file=\(webConfig)"])
        let prometheus = try PrometheusServer(
            target: agent.address,
            jobExtras: "    scheme: https\n    tls_config:\n      ca_file: \(pki.path("ca.pem"))\n    basic_auth:\n      username: prom\n      password: pw\n")
        let up = try await poll(patience: prometheusPatience) {
            try await prometheus.query(#"max_over_time(up{job="errno"}[5m])"#).first?.value ?? 0
        } until: { $0 >= 1 }
        #expect(up == 1, "a Prometheus with tls_config and basic_auth scrapes")
        #expect(try curl("--cacert \(pki.path("ca.pem")) -u prom:wrong https://\(agent.address)/metrics") == "401")
        #expect(try agent.stop() == 0)
    }
}
