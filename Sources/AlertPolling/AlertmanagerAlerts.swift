import Captures
import Foundation

/// The body of Alertmanager's `GET /api/v2/alerts`, as far as arming needs it, read with bounds:
/// an oversized, malformed or outsized answer is refused whole (`AlertmanagerResponseError`).
enum AlertmanagerAlerts {
    /// One alert (Alertmanager's `gettableAlert`).
    private struct Alert: Decodable {
        struct Status: Decodable {
            let state: String
        }

        let labels: [String: String]
        let fingerprint: String?
        let status: Status?
    }

    /// Larger bodies are refused (10,000 alerts of a few hundred bytes fit).
    static let maxBytes = 8 << 20
    static let maxAlerts = 10_000
    static let maxLabels = 64
    static let maxLabelBytes = 4096

    /// The active alerts of a response body; suppressed and unprocessed ones are left out.
    static func decode(_ body: some Collection<UInt8>) throws(AlertmanagerResponseError) -> [FiringAlert] {
        guard body.count <= maxBytes else { throw AlertmanagerResponseError("the answer is over \(maxBytes) bytes") }
        let alerts: [Alert]
        do {
            alerts = try JSONDecoder().decode([Alert].self, from: Data(body))
        } catch {
            throw AlertmanagerResponseError("not a list of Alertmanager alerts (API v2): \(String("\(error)".prefix(300)))")
        }
        guard alerts.count <= maxAlerts else { throw AlertmanagerResponseError("\(alerts.count) alerts; at most \(maxAlerts) are read") }
        for alert in alerts {
            guard alert.labels.count <= maxLabels else { throw AlertmanagerResponseError("an alert with \(alert.labels.count) labels; at most \(maxLabels)") }
            guard alert.labels.allSatisfy({ $0.key.utf8.count <= maxLabelBytes && $0.value.utf8.count <= maxLabelBytes }),
                  (alert.fingerprint?.utf8.count ?? 0) <= maxLabelBytes
            else { throw AlertmanagerResponseError("a label or fingerprint over \(maxLabelBytes) bytes") }
        }
        return alerts.filter { ($0.status?.state ?? "active") == "active" }
            .map { FiringAlert(firing: true, labels: $0.labels, fingerprint: $0.fingerprint) }
    }
}

/// An Alertmanager answer the agent refuses.
struct AlertmanagerResponseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
