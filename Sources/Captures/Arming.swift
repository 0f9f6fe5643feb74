import ErrnoKernel
import Foundation

/// An alert's arming of an `on_alert` trigger: the window the kernel checks, and for people the
/// deadline on the wall clock and the alert that opened it.
public struct Arming: Sendable, Equatable {
    public var window: ArmingWindow
    public var until: Date
    /// The alert's `alertname` and fingerprint.
    public var alert: String
    public var fingerprint: String?

    public init(window: ArmingWindow, until: Date, alert: String, fingerprint: String?) {
        self.window = window
        self.until = until
        self.alert = alert
        self.fingerprint = fingerprint
    }
}
