import Testing

@testable import ErrnoConfig

@Suite struct WebConfigTests {
    static let hash = "$2y$05$Dm4f5lh3cy5Cc1mWvZ1bMuVx0pQw5u2rq0Hc7X0bI8R2Jm5s1k7aG"

    func issues(_ yaml: String) -> [String] {
        do {
            _ = try WebConfigLoader.parse(yaml, file: "w.yml")
            return []
        } catch let error as ConfigError {
            return error.issues.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func readsBcryptUsers() throws {
        let config = try WebConfigLoader.parse("basic_auth_users:\n  alice: '\(Self.hash)'\n", file: "w.yml")
        #expect(config.basicAuthUsers == ["alice": Self.hash])
        #expect(try WebConfigLoader.parse("", file: "w.yml") == WebConfig())
    }

    @Test func refusesWhatItCannotHonour() {
        #expect(issues("basic_auth_users:\n  alice: secret\n") == [
            "w.yml:2:10: basic_auth_users.alice: expected a bcrypt hash ($2y$…, as `htpasswd -nbB user password` prints), not a password",
        ])
        #expect(issues("tls_server_config:\n  cert_file: /nonexistent/a.pem\n") == [
            "w.yml:2:14: tls_server_config.cert_file: cannot read /nonexistent/a.pem",
            "w.yml:2:3: tls_server_config: key_file is required",
        ])
        #expect(issues("tls_server_config:\n  cert_file: /etc/hostname\n  key_file: /etc/hostname\n  client_auth_type: RequireAnyClientCert\n") == [
            "w.yml:4:21: tls_server_config.client_auth_type: \"RequireAnyClientCert\" is not supported; use one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert",
        ])
        #expect(issues("tls_server_config:\n  cert_file: /etc/hostname\n  key_file: /etc/hostname\n  client_auth_type: RequireAndVerifyClientCert\n") == [
            "w.yml:2:3: tls_server_config: client_auth_type RequireAndVerifyClientCert needs client_ca_file",
        ])
        #expect(issues("tls_server_config:\n  cert_file: /etc/hostname\n  key_file: /etc/hostname\n  min_version: SSL3\n") == [
            #"w.yml:4:16: tls_server_config.min_version: "SSL3" is not a TLS version; use TLS10, TLS11, TLS12 or TLS13"#,
        ])
        #expect(issues("basic_auth_user: {}\n") == [#"w.yml:1:1: basic_auth_user: unknown key; did you mean "basic_auth_users"?"#])
        #expect(issues("basic_auth_users: [alice]\n") == ["w.yml:1:19: basic_auth_users: expected a mapping of user names to bcrypt hashes"])
    }
}
