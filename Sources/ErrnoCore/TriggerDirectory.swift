import Synchronization

/// The triggers in force, by kernel id: read by the capture consumer (to name a capture's
/// triggers) and the API, written by `ErrnoProgram` when a config is applied.
public final class TriggerDirectory: Sendable {
    private let byID = Mutex<[UInt32: TriggerPlan.Entry]>([:])

    public init() {}

    public var entries: [UInt32: TriggerPlan.Entry] { byID.withLock { $0 } }

    func replace(_ entries: [UInt32: TriggerPlan.Entry]) {
        byID.withLock { $0 = entries }
    }

    /// The names of the triggers in a kernel trigger set, by id.
    public func names(in set: UInt64) -> [String] {
        byID.withLock { entries in
            (0..<UInt32(64)).filter { set >> UInt64($0) & 1 == 1 }.compactMap { entries[$0]?.name }
        }
    }
}
