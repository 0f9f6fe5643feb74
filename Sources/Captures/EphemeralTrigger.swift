import ErrnoConfig
import Foundation

/// A trigger created through the investigations API (`POST /api/v1/triggers`): live at once, kept
/// across reloads, gone when its time runs out or it is deleted. With a pid it is armed for that
/// process only. Its captures are ordinary captures.
public struct EphemeralTrigger: Sendable {
    public var request: EphemeralTriggerRequest
    public var created: Date
    public var until: Date
    /// CLOCK_MONOTONIC deadline (what expiry and the kernel's arming window compare with).
    public var untilMonotonicNanoseconds: UInt64
    /// Who asked (the basic-auth user, or `anonymous`), for the audit log.
    public var createdBy: String

    public init(request: EphemeralTriggerRequest, created: Date, untilMonotonicNanoseconds: UInt64, createdBy: String) {
        self.request = request
        self.created = created
        until = created.addingTimeInterval(Double(request.durationSeconds))
        self.untilMonotonicNanoseconds = untilMonotonicNanoseconds
        self.createdBy = createdBy
    }

    public var name: String { request.trigger.name }
    public var trigger: Config.Trigger { request.trigger }
}

/// Why an ephemeral trigger could not be created or removed (each a 4xx the API explains).
public enum EphemeralTriggerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configured trigger has that name (409: configured triggers change by reload only).
    case configured(String)
    /// An ephemeral trigger has that name already (409).
    case exists(String)
    /// No trigger of that name (404).
    case unknown(String)
    /// The limit of ephemeral triggers is reached (429).
    case tooMany(limit: Int)
    /// With the config's, more triggers or paths than the kernel holds (422).
    case noRoom(String)

    public var description: String {
        switch self {
        case .configured(let name): "\"\(name)\" is a configured trigger: change it in the config file and reload"
        case .exists(let name): "an ephemeral trigger \"\(name)\" exists already"
        case .unknown(let name): "no trigger \"\(name)\""
        case .tooMany(let limit): "\(limit) ephemeral triggers exist already (--web.investigations.max-triggers)"
        case .noRoom(let reason): reason
        }
    }
}

/// Creates and removes ephemeral triggers: the agent's reloader, which applies them together with
/// the config's.
public protocol EphemeralTriggerControl: Sendable {
    /// Creates the trigger and puts it in force; throws `EphemeralTriggerError` (nothing changed).
    func addEphemeral(_ request: EphemeralTriggerRequest, by user: String) throws -> EphemeralTrigger
    /// Removes an ephemeral trigger; throws `EphemeralTriggerError`.
    func removeEphemeral(_ name: String, by user: String) throws
}
