import ErrnoConfig
import Exposition
import Foundation
import Logging
import Synchronization

/// An Alertmanager webhook notification (payload version 4), as far as arming triggers needs it.
public struct AlertNotification: Sendable, Decodable {
    /// One alert of the notification's group.
    public struct Alert: Sendable, Decodable {
        public let status: String
        public let labels: [String: String]
        public let fingerprint: String?
    }

    public let version: String
    public let status: String
    public let alerts: [Alert]

    /// Larger bodies are refused before parsing (a group of a few hundred alerts is well below).
    public static let maxBytes = 1 << 20
    /// The label naming the trigger(s) an alert arms (comma-separated for several).
    public static let triggerLabel = "errno_exporter_trigger"

    /// Parses a body; every malformed one is a `WebhookError` saying what is wrong.
    public static func decode(_ body: [UInt8]) throws -> AlertNotification {
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
public struct WebhookError: Error, Sendable, CustomStringConvertible {
    public enum Status: Int, Sendable {
        case badRequest = 400
        case tooLarge = 413
        case unsupportedMediaType = 415
        case unprocessable = 422
    }

    public let status: Status
    public let description: String

    public init(_ status: Status, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// Arms triggers from Alertmanager notifications: every firing alert labelled
/// `errno_exporter_trigger=NAME` arms NAME for its `arm_for`, extended (never shortened) by repeated
/// notifications; resolved alerts leave the window to run out. Optional `comm` and `pid` alert labels
/// narrow what the arming captures. A notification is checked whole before anything changes.
public final class AlertReceiver: Collector, Sendable {
    /// What one notification did.
    public struct Outcome: Sendable, Encodable {
        public struct Armed: Sendable, Encodable {
            let trigger: String
            let until: String
            let alert: String
        }

        public var armed: [Armed] = []
        /// Named triggers that are armed always: nothing to do.
        public var alwaysArmed: [String] = []
        /// Alerts without the trigger label, and resolved alerts.
        public var ignored = 0

        enum CodingKeys: String, CodingKey {
            case armed, alwaysArmed = "always_armed", ignored
        }
    }

    private let metrics: FailureMetrics
    private let logger: Logger
    private let requests = Mutex<[Int: UInt64]>([:])

    public init(metrics: FailureMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    /// Handles one request; counts it by the status it gets.
    public func receive(body: [UInt8], contentType: String?) throws -> Outcome {
        do {
            guard let contentType, contentType.lowercased().hasPrefix("application/json") else {
                throw WebhookError(.unsupportedMediaType, "Content-Type must be application/json (Alertmanager's webhook), got \(contentType ?? "none")")
            }
            let outcome = try arm(AlertNotification.decode(body))
            requests.withLock { $0[200, default: 0] += 1 }
            return outcome
        } catch let error as WebhookError {
            refused(error)
            throw error
        }
    }

    /// Counts and logs a refused notification (also one refused before its body was read).
    public func refused(_ error: WebhookError) {
        requests.withLock { $0[error.status.rawValue, default: 0] += 1 }
        logger.warning("alert notification refused; nothing was armed", metadata: ["status": "\(error.status.rawValue)", "error": "\(error)"])
    }

    private func arm(_ notification: AlertNotification) throws -> Outcome {
        let triggers = Dictionary(metrics.triggerConfigs().map { ($0.name, $0) }) { first, _ in first }
        var outcome = Outcome()
        var plans: [(String, Arming)] = []
        var unknown: Set<String> = []
        let now = Date(), monotonic = Self.monotonicNanoseconds()
        for alert in notification.alerts {
            guard alert.status == "firing", let named = alert.labels[AlertNotification.triggerLabel] else {
                outcome.ignored += 1
                continue
            }
            let comm = alert.labels["comm"].flatMap { $0.isEmpty ? nil : $0 }
            if let comm, !(1...15).contains(comm.utf8.count) {
                throw WebhookError(.unprocessable, "alert label comm=\"\(comm)\" is not a comm (1 to 15 bytes)")
            }
            var pid: UInt32?
            if let text = alert.labels["pid"], !text.isEmpty {
                guard let value = UInt32(text), (1...4_194_304).contains(value) else {
                    throw WebhookError(.unprocessable, "alert label pid=\"\(text)\" is not a process id")
                }
                pid = value
            }
            for name in named.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let trigger = triggers[name] else {
                    unknown.insert(name)
                    continue
                }
                guard trigger.armed == .onAlert else {
                    outcome.alwaysArmed.append(name)
                    continue
                }
                let seconds = Double(trigger.armForSeconds)
                plans.append((name, Arming(
                    untilMonotonicNanoseconds: monotonic + UInt64(trigger.armForSeconds) * 1_000_000_000,
                    until: now.addingTimeInterval(seconds), alert: alert.labels["alertname"] ?? "", fingerprint: alert.fingerprint,
                    comm: comm, pid: pid)))
            }
        }
        guard unknown.isEmpty else {
            throw WebhookError(.unprocessable, "no trigger named \(unknown.sorted().joined(separator: ", ")) (nothing was armed); triggers: \(triggers.keys.sorted().joined(separator: ", "))")
        }
        for (name, arming) in plans {
            let armed = try metrics.arm(name, arming)
            logger.info(
                "trigger armed by an alert",
                metadata: ["trigger": "\(name)", "until": "\(Capture.timestamp(armed.until))", "alert": "\(armed.alert)",
                           "comm": "\(armed.comm ?? "any")", "pid": "\(armed.pid.map(String.init) ?? "any")"])
            outcome.armed.append(.init(trigger: name, until: Capture.timestamp(armed.until), alert: armed.alert))
        }
        return outcome
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    public func collect() throws -> [MetricFamily] {
        let counts = requests.withLock { $0 }
        return [MetricFamily(
            name: "errno_exporter_alert_webhook_requests_total",
            help: "Alertmanager notifications received on /api/v1/alerts, by the HTTP status they got (4xx: refused, nothing changed).",
            type: .counter,
            samples: [200, 400, 413, 415, 422].map { Sample(labels: [Label("code", String($0))], value: Double(counts[$0] ?? 0)) })]
    }
}
