import Captures
import Foundation

/// The body of Alertmanager's `GET /api/v2/alerts`, as far as arming needs it, read with bounds:
/// an oversized, malformed or outsized answer is refused whole (`AlertmanagerResponseError`).
enum AlertmanagerAlerts {
    /// Larger bodies are refused (5,000 alerts of several hundred bytes fit).
    static let maxBytes = 4 << 20
    static let maxAlerts = 5_000
    static let maxLabels = 64
    static let maxLabelBytes = 4096

    /// The active alerts of a response body; suppressed and unprocessed ones are left out.
    static func decode(_ body: some Collection<UInt8>) throws(AlertmanagerResponseError) -> [FiringAlert] {
        guard body.count <= maxBytes else { throw AlertmanagerResponseError("the answer is over \(maxBytes) bytes") }
        let alerts: [AlertmanagerAlertsElement]
        do {
            alerts = try JSONDecoder().decode(BoundedList.self, from: Data(body)).alerts
        } catch let error as AlertmanagerResponseError {
            throw error
        } catch {
            throw AlertmanagerResponseError("not a list of Alertmanager alerts (API v2): \(String("\(error)".prefix(300)))")
        }
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

/// The answer's list, decoded alert by alert and refused past `AlertmanagerAlerts.maxAlerts` (no
/// more alerts are built than that).
private struct BoundedList: Decodable {
    var alerts: [AlertmanagerAlertsElement] = []

    init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        while !list.isAtEnd {
            guard alerts.count < AlertmanagerAlerts.maxAlerts else {
                throw AlertmanagerResponseError("over \(AlertmanagerAlerts.maxAlerts) alerts; at most that many are read")
            }
            alerts.append(try list.decode(AlertmanagerAlertsElement.self))
        }
    }
}

/// An Alertmanager answer the agent refuses.
struct AlertmanagerResponseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One alert of the answer (Alertmanager's `gettableAlert`), as far as arming needs it.
private struct AlertmanagerAlertsElement: Decodable {
    struct Status: Decodable {
        let state: String
    }

    let labels: [String: String]
    let fingerprint: String?
    let status: Status?
}
