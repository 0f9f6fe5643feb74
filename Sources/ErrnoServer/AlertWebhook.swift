import Captures
import Exposition
import Foundation
import Logging
import Synchronization

/// An Alertmanager webhook notification (payload version 4), as far as arming triggers needs it.
struct AlertNotification: Sendable, Decodable {
    /// One alert of the notification's group.
    struct Alert: Sendable, Decodable {
        let status: String
        let labels: [String: String]
        let fingerprint: String?
    }

    let version: String
    let status: String
    let alerts: [Alert]

    /// Larger bodies are refused before parsing (a group of a few hundred alerts is well below).
    static let maxBytes = 1 << 20

    /// Parses a body; every malformed one is a `WebhookError` saying what is wrong.
    static func decode(_ body: [UInt8]) throws -> AlertNotification {
        guard body.count <= maxBytes else { throw WebhookError(.tooLarge, "the body is \(body.count) bytes; at most \(maxBytes) are accepted") }
        let notification: AlertNotification
        do {
            notification = try JSONDecoder().decode(AlertNotification.self, from: Data(body))
        } catch let error as DecodingError {
            throw WebhookError(.badRequest, "not an Alertmanager webhook payload: \(Self.describe(error))")
        } catch {
            throw WebhookError(.badRequest, "not valid JSON: \(error)")
        }
        guard notification.version == "4" else {
            throw WebhookError(.badRequest, "payload version \"\(notification.version)\"; errno_exporter reads version 4 (Alertmanager 0.x)")
        }
        for alert in notification.alerts where !["firing", "resolved"].contains(alert.status) {
            throw WebhookError(.badRequest, "alert status \"\(alert.status)\" is neither firing nor resolved")
        }
        return notification
    }

    /// The alerts as the trigger directory arms them.
    var firingAlerts: [FiringAlert] {
        alerts.map { FiringAlert(firing: $0.status == "firing", labels: $0.labels, fingerprint: $0.fingerprint) }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .keyNotFound(_, context), let .dataCorrupted(context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? context.debugDescription : "\(path.hasPrefix(".") ? String(path.dropFirst()) : path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// A webhook request the agent refuses, with the HTTP status that says why.
struct WebhookError: Error, Sendable, CustomStringConvertible {
    enum Status: Int, Sendable, CaseIterable {
        case badRequest = 400
        case tooLarge = 413
        case unsupportedMediaType = 415
        case unprocessable = 422
    }

    let status: Status
    let description: String

    init(_ status: Status, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// `POST /api/v1/alerts`: Alertmanager's webhook. Checks a notification whole (content type, size,
/// shape, labels, trigger names) before anything is armed, arms through the trigger directory, and
/// counts requests by the status they got.
public final class AlertWebhook: Collector, Sendable {
    private let triggers: TriggerDirectory
    private let logger: Logger
    private let requests = Mutex<[Int: UInt64]>([:])

    public init(triggers: TriggerDirectory, logger: Logger) {
        self.triggers = triggers
        self.logger = logger
    }

    /// Handles one request; counts it by the status it gets.
    func receive(body: [UInt8], contentType: String?) throws -> ArmingOutcome {
        do {
            guard let contentType, contentType.lowercased().hasPrefix("application/json") else {
                throw WebhookError(.unsupportedMediaType, "Content-Type must be application/json (Alertmanager's webhook), got \(contentType ?? "none")")
            }
            let notification = try AlertNotification.decode(body)
            let outcome: ArmingOutcome
            do {
                outcome = try triggers.arm(notification.firingAlerts, logger: logger)
            } catch let error as ArmingError {
                throw WebhookError(.unprocessable, error.description)
            }
            requests.withLock { $0[200, default: 0] += 1 }
            return outcome
        } catch let error as WebhookError {
            refused(error)
            throw error
        }
    }

    /// Counts and logs a refused notification (also one refused before its body was read).
    func refused(_ error: WebhookError) {
        requests.withLock { $0[error.status.rawValue, default: 0] += 1 }
        logger.warning("alert notification refused; nothing was armed", metadata: ["status": "\(error.status.rawValue)", "error": "\(error)"])
    }

    public func collect() throws -> [MetricFamily] {
        let counts = requests.withLock { $0 }
        return [MetricFamily(
            name: "errno_exporter_alert_webhook_requests_total",
            help: "Alertmanager notifications received on /api/v1/alerts, by the HTTP status they got (4xx: refused, nothing changed).",
            type: .counter,
            samples: ([200] + WebhookError.Status.allCases.map(\.rawValue)).map {
                Sample(labels: [Label("code", String($0))], value: Double(counts[$0] ?? 0))
            })]
    }
}
