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
