import ErrnoConfig
import ErrnoKernel

/// A trigger as `/api/v1/triggers` and the landing page show it: its config, whether it is armed,
/// by what, and its counts.
public struct TriggerStatus: Sendable {
    public var config: Config.Trigger
    /// For `on_alert`: the alert's arming, current or past.
    public var arming: Arming?
    /// Whether a match now would be captured (rate limit aside).
    public var armed: Bool
    /// Firing notifications that armed it.
    public var notifications: UInt64
    public var counts: TriggerCounts
    /// Set for a trigger created through the investigations API.
    public var ephemeral: EphemeralTrigger?

    public var name: String { config.name }

    /// A just-created ephemeral trigger's status when the kernel's counts cannot be read: armed, all zero.
    public init(newEphemeral trigger: EphemeralTrigger) {
        self.init(config: trigger.trigger, arming: nil, armed: true, notifications: 0, counts: TriggerCounts(), ephemeral: trigger)
    }

    init(config: Config.Trigger, arming: Arming?, armed: Bool, notifications: UInt64, counts: TriggerCounts, ephemeral: EphemeralTrigger? = nil) {
        self.config = config
        self.arming = arming
        self.armed = armed
        self.notifications = notifications
        self.counts = counts
        self.ephemeral = ephemeral
    }
}
