import Foundation
import Yams

/// `--web.config.file`, in the Prometheus exporter-toolkit format: `tls_server_config` and
/// `basic_auth_users`. File names are relative to the web config file's directory.
public struct WebConfig: Sendable, Equatable {
    /// `tls_server_config`: serve HTTPS only.
    public struct TLS: Sendable, Equatable {
        /// How client certificates are handled (exporter-toolkit's names).
        public enum ClientAuth: String, Sendable, CaseIterable {
            case none = "NoClientCert"
            case verifyIfGiven = "VerifyClientCertIfGiven"
            case requireAndVerify = "RequireAndVerifyClientCert"
        }

        /// Oldest TLS version accepted.
        public enum Version: String, Sendable, CaseIterable {
            case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"
        }

        public var certFile = ""
        public var keyFile = ""
        public var clientAuth = ClientAuth.none
        public var clientCAFile: String?
        public var minVersion = Version.tls12

        public init() {}
    }

    public var tls: TLS?
    /// User name → bcrypt hash (`$2a$`, `$2b$` or `$2y$`, as `htpasswd -B` writes).
    public var basicAuthUsers: [String: String] = [:]

    public init() {}
}

/// Parses web config files strictly, with the same located errors as `ConfigLoader`.
public enum WebConfigLoader {
    public static func load(path: String) throws -> WebConfig {
        try parse(try ConfigLoader.read(path, what: "web config file"), file: path)
    }

    public static func parse(_ text: String, file: String) throws -> WebConfig {
        let root = try ConfigLoader.compose(text, file: file)
        let reader = NodeReader(file: file)
        var config = WebConfig()
        if let root, !reader.isNull(root) {
            reader.mapping(root, path: "", keys: ["basic_auth_users", "tls_server_config", "http_server_config"]) { key, value, path in
                switch key {
                case "basic_auth_users":
                    guard case let .mapping(users) = value else {
                        if !reader.isNull(value) { reader.fail(value, path, "expected a mapping of user names to bcrypt hashes") }
                        return
                    }
                    for (userNode, hashNode) in users {
                        guard let user = reader.string(userNode, path: path), let hash = reader.string(hashNode, path: "\(path).\(user)") else { continue }
                        if user.isEmpty || user.contains(":") {
                            reader.fail(userNode, "\(path).\(user)", "a user name is not empty and has no ':'")
                        } else if !isBcrypt(hash) {
                            reader.fail(hashNode, "\(path).\(user)", "expected a bcrypt hash ($2y$…, as `htpasswd -nbB user password` prints), not a password")
                        } else {
                            config.basicAuthUsers[user] = hash
                        }
                    }
                case "tls_server_config":
                    config.tls = readTLS(value, path, reader, directory: (file as NSString).deletingLastPathComponent)
                default:
                    reader.fail(value, path, "not supported by this build (basic_auth_users is)")
                }
            }
        }
        if !reader.issues.isEmpty { throw ConfigError(issues: reader.issues) }
        return config
    }

    private static func readTLS(_ node: Node, _ path: String, _ reader: NodeReader, directory: String) -> WebConfig.TLS? {
        var tls = WebConfig.TLS()
        var seen: Set<String> = []
        let resolve = { (name: String) in name.hasPrefix("/") || directory.isEmpty ? name : directory + "/" + name }
        reader.mapping(node, path: path, keys: ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"]) { key, value, path in
            guard let text = reader.string(value, path: path) else { return }
            seen.insert(key)
            switch key {
            case "cert_file", "key_file", "client_ca_file":
                let file = resolve(text)
                guard FileManager.default.isReadableFile(atPath: file) else {
                    reader.fail(value, path, "cannot read \(file)")
                    return
                }
                if key == "cert_file" { tls.certFile = file } else if key == "key_file" { tls.keyFile = file } else { tls.clientCAFile = file }
            case "client_auth_type":
                guard let auth = WebConfig.TLS.ClientAuth(rawValue: text) else {
                    let known = WebConfig.TLS.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")
                    reader.fail(value, path, "\"\(text)\" is not supported; use one of \(known)")
                    return
                }
                tls.clientAuth = auth
            default:
                guard let version = WebConfig.TLS.Version(rawValue: text) else {
                    reader.fail(value, path, "\"\(text)\" is not a TLS version; use TLS10, TLS11, TLS12 or TLS13")
                    return
                }
                tls.minVersion = version
            }
        }
        for required in ["cert_file", "key_file"] where !seen.contains(required) {
            reader.fail(node, path, "\(required) is required")
        }
        if tls.clientAuth != .none, tls.clientCAFile == nil, seen.contains("client_auth_type") {
            reader.fail(node, path, "client_auth_type \(tls.clientAuth.rawValue) needs client_ca_file")
        }
        return tls
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost, then 53 characters of salt and hash.
    static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"), bytes[6] == UInt8(ascii: "$") else { return false }
        return bytes[4...5].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
