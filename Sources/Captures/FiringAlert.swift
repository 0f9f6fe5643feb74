/// An alert as far as arming triggers needs it (from Alertmanager's webhook, or its API).
public struct FiringAlert: Sendable, Equatable {
    /// False for a resolved alert: it arms nothing (its window runs out).
    public var firing: Bool
    public var labels: [String: String]
    public var fingerprint: String?

    public init(firing: Bool, labels: [String: String], fingerprint: String?) {
        self.firing = firing
        self.labels = labels
        self.fingerprint = fingerprint
    }

    /// The label naming the trigger(s) an alert arms (comma-separated for several).
    public static let triggerLabel = "errno_exporter_trigger"

    /// What tells this alert from others: its labels (what Alertmanager's fingerprint hashes; the
    /// fingerprint itself comes from a peer and is only shown, never trusted to tell alerts apart).
    public var identity: String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key.count):\($0.key)=\($0.value.count):\($0.value)" }.joined(separator: ",")
    }
}
