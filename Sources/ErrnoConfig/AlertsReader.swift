import Foundation
import SystemSupport
import Yams

/// Reads the `alerts:` section: the Alertmanager peers to poll, how often, which alerts are this
/// node's, and TLS and credentials as Prometheus' `alertmanager_config` writes them.
enum AlertsReader {
    static let keys = [
        "alertmanager_urls", "poll_interval", "timeout", "instances", "fleet_wide", "matchers", "tls_config", "basic_auth", "authorization",
    ]

    /// `configFile`: relative file names (CA, certificates, secrets) are relative to its directory.
    static func read(_ node: Node, _ path: String, _ reader: NodeReader, configFile: String) -> Config.Alerts {
        var alerts = Config.Alerts()
        var timeoutSet = false
        let directory = URL(fileURLWithPath: configFile).deletingLastPathComponent()
        func file(_ value: Node, _ path: String) -> String? {
            guard let name = reader.string(value, path: path) else { return nil }
            let resolved = name.hasPrefix("/") ? name : directory.appendingPathComponent(name).path
            guard FileManager.default.isReadableFile(atPath: resolved) else {
                reader.fail(value, path, "cannot read \(resolved)")
                return nil
            }
            return resolved
        }
        reader.mapping(node, path: path, keys: keys) { key, value, path in
            switch key {
            case "alertmanager_urls":
                alerts.alertmanagerURLs = reader.strings(value, path: path) { urlProblem($0) }
                if alerts.alertmanagerURLs.count > Config.Alerts.maxPeers {
                    reader.fail(value, path, "at most \(Config.Alerts.maxPeers) peers")
                }
                if Set(alerts.alertmanagerURLs).count < alerts.alertmanagerURLs.count { reader.fail(value, path, "a peer is listed twice") }
            case "poll_interval", "timeout":
                guard let text = reader.string(value, path: path) else { return }
                guard let seconds = DurationText.seconds(text), Config.Alerts.pollIntervalRange.contains(seconds) else {
                    return reader.fail(value, path, "expected a duration from 1s to 1h, like 5s or 1m")
                }
                if key == "timeout" {
                    alerts.timeoutSeconds = seconds
                    timeoutSet = true
                } else {
                    alerts.pollIntervalSeconds = seconds
                }
            case "instances":
                alerts.instances = reader.strings(value, path: path) { $0.isEmpty || $0.utf8.count > 1024 ? "an instance is 1 to 1024 bytes" : nil }
            case "fleet_wide":
                if let flag = reader.boolean(value, path: path) { alerts.fleetWide = flag }
            case "matchers":
                alerts.matchers = reader.list(value, path: path) { item, path -> AlertMatcher? in
                    guard let text = reader.string(item, path: path) else { return nil }
                    do {
                        return try AlertMatcher(parsing: text)
                    } catch {
                        reader.fail(item, path, "\(error)")
                        return nil
                    }
                }
            case "tls_config":
                reader.mapping(value, path: path, keys: ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]) { key, value, path in
                    switch key {
                    case "ca_file": alerts.tls.caFile = file(value, path)
                    case "cert_file": alerts.tls.certFile = file(value, path)
                    case "key_file": alerts.tls.keyFile = file(value, path)
                    default: alerts.tls.insecureSkipVerify = reader.boolean(value, path: path) ?? false
                    }
                }
                if (alerts.tls.certFile == nil) != (alerts.tls.keyFile == nil) {
                    reader.fail(value, path, "cert_file and key_file go together (a client certificate and its key)")
                }
            case "basic_auth":
                var username: String?, password: Config.Alerts.Secret?
                reader.mapping(value, path: path, keys: ["username", "password", "password_file"]) { key, value, path in
                    switch key {
                    case "username": username = reader.string(value, path: path)
                    case "password": password = reader.string(value, path: path).map { .inline($0) }
                    default: password = file(value, path).map { .file($0) }
                    }
                }
                guard let username, !username.contains(":"), let password else {
                    return reader.fail(value, path, "needs a username (without ':') and one of password, password_file")
                }
                alerts.credentials = .basic(username: username, password: password)
            default:
                var type = "Bearer", credentials: Config.Alerts.Secret?
                reader.mapping(value, path: path, keys: ["type", "credentials", "credentials_file"]) { key, value, path in
                    switch key {
                    case "type": type = reader.string(value, path: path) ?? type
                    case "credentials": credentials = reader.string(value, path: path).map { .inline($0) }
                    default: credentials = file(value, path).map { .file($0) }
                    }
                }
                guard let credentials, !type.isEmpty, !type.contains(where: { $0.isWhitespace }) else {
                    return reader.fail(value, path, "needs one of credentials, credentials_file (and a type without spaces, Bearer by default)")
                }
                alerts.credentials = .authorization(type: type, credentials: credentials)
            }
        }
        if case .mapping(let mapping) = node, Set(mapping.compactMap(\.key.string)).isSuperset(of: ["basic_auth", "authorization"]) {
            reader.fail(node, path, "basic_auth and authorization are exclusive")
        }
        if !timeoutSet { alerts.timeoutSeconds = min(alerts.pollIntervalSeconds, 10) }
        if alerts.timeoutSeconds > alerts.pollIntervalSeconds {
            reader.fail(node, "\(path).timeout", "the timeout (\(alerts.timeoutSeconds)s) must not exceed poll_interval (\(alerts.pollIntervalSeconds)s)")
        }
        return alerts
    }

    /// Nil for an `http://` or `https://` URL with a host and nothing a request would mangle; `what`
    /// names the service in the message.
    static func urlProblem(_ text: String, what: String = "Alertmanager") -> String? {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty
        else { return "\"\(text)\" is not an http:// or https:// URL with a host" }
        if url.user != nil || url.password != nil {
            return what == "Alertmanager" ? "credentials do not go in the URL; use basic_auth or authorization" : "credentials do not go in the URL"
        }
        if url.query != nil || url.fragment != nil || text.contains(" ") { return "a\(what.first == "A" ? "n" : "") \(what) URL has no query, fragment or space (a path prefix is fine)" }
        return nil
    }
}
