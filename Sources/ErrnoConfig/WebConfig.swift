import Foundation
import Yams

/// `--web.config.file`, in the Prometheus exporter-toolkit format. This build reads
/// `basic_auth_users`; TLS is refused with a clear message rather than silently ignored.
public struct WebConfig: Sendable, Equatable {
    /// User name → bcrypt hash (`$2a$`, `$2b$` or `$2y$`, as `htpasswd -B` writes).
    public var basicAuthUsers: [String: String] = [:]

    public init() {}
}

/// Parses web config files strictly, with the same located errors as `ConfigLoader`.
public enum WebConfigLoader {
    public static func load(path: String) throws -> WebConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: path, line: 0, column: 0, keyPath: "", message: "cannot read the web config file: \(error.localizedDescription)")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> WebConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(issues: [ConfigLoader.syntaxIssue(error, file: file)])
        }
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
                    reader.fail(value, path, "TLS is not supported by this build yet: terminate TLS in front of the agent, or remove tls_server_config")
                default:
                    reader.fail(value, path, "not supported by this build (basic_auth_users is)")
                }
            }
        }
        if !reader.issues.isEmpty { throw ConfigError(issues: reader.issues) }
        return config
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost, then 53 characters of salt and hash.
    static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"), bytes[6] == UInt8(ascii: "$") else { return false }
        return bytes[4...5].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
