import Foundation

/// Alerts that cannot arm what they name (an unknown trigger, a label that is not a comm or pid):
/// nothing was armed.
public struct ArmingError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// What one batch of alerts did.
public struct ArmingOutcome: Sendable {
    /// A trigger armed, until when, by which alert.
    public struct Armed: Sendable {
        public let trigger: String
        public let until: Date
        public let alert: String
    }

    public var armed: [Armed] = []
    /// Named triggers that are armed always: nothing to do.
    public var alwaysArmed: [String] = []
    /// Alerts without the trigger label, and resolved alerts.
    public var ignored = 0
}

/// What one poll of Alertmanager did with the alerts it saw for the first time (alerts seen again
/// only extend their armings).
public struct PollArmingOutcome: Sendable {
    /// What a new alert did (the `outcome` label of `errno_exporter_alertmanager_new_alerts_total`).
    public enum Result: String, Sendable, CaseIterable {
        /// Armed at least one `on_alert` trigger.
        case armed
        /// Named only triggers that are armed always.
        case alwaysArmed = "always_armed"
        /// Named a trigger this agent does not have.
        case unknownTrigger = "unknown_trigger"
        /// A `comm` or `pid` label that is not one.
        case invalid
    }

    /// New alerts by what they did.
    public var new: [Result: Int] = [:]
}
