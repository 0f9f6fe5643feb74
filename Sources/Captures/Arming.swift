import ErrnoKernel
import Foundation

/// An alert's arming of an `on_alert` trigger: the window the kernel checks, and for people the
/// deadline on the wall clock, the alert that opened it and how the alert arrived.
public struct Arming: Sendable, Equatable {
    public var window: ArmingWindow
    public var until: Date
    /// The alert's `alertname` and fingerprint.
    public var alert: String
    public var fingerprint: String?
    public var source: ArmingSource

    public init(window: ArmingWindow, until: Date, alert: String, fingerprint: String?, source: ArmingSource) {
        self.window = window
        self.until = until
        self.alert = alert
        self.fingerprint = fingerprint
        self.source = source
    }
}

/// How an alert reached the agent: Alertmanager's webhook, or a poll of one of its peers.
public enum ArmingSource: Sendable, Equatable, CustomStringConvertible {
    case webhook
    /// The peers (URLs) that listed the alert.
    case poll(peers: [String])
    /// An ephemeral trigger with a pid, created through the investigations API.
    case investigation

    /// `webhook`, or `poll` and the peers.
    public var description: String {
        switch self {
        case .webhook: "webhook"
        case .poll(let peers): "poll " + peers.joined(separator: ",")
        case .investigation: "investigation"
        }
    }
}
