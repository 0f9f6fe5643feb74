import CErrnoBPF
import Synchronization

/// The triggers in the kernel's maps, by id: ids stay with their trigger's name across reloads (a
/// removed trigger's id is reused last, so a capture already in the ring buffer keeps its name), and
/// the arming window written for each `on_alert` trigger. Read from the capture thread (names of a
/// trigger set), written under `KernelHandle`'s lock.
final class TriggerTable: Sendable {
    private struct State {
        var byID: [UInt32: TriggerPlan.Entry] = [:]
        var idOfName: [String: UInt32] = [:]
        var nextID: UInt32 = 0
        var windows: [String: ArmingWindow] = [:]
    }

    /// What a `replace` changed: ids freed, and each trigger of the new plan with its id and its
    /// previous entry (nil when new).
    struct Change {
        var removed: [UInt32] = []
        var kept: [(id: UInt32, entry: TriggerPlan.Entry, old: TriggerPlan.Entry?)] = []
    }

    private let state = Mutex(State())

    /// Makes `plan` the triggers in force; windows of removed triggers go with them.
    func replace(_ plan: TriggerPlan) -> Change {
        state.withLock { state in
            var change = Change()
            let names = Set(plan.entries.map(\.name))
            for (name, id) in state.idOfName where !names.contains(name) {
                change.removed.append(id)
                state.idOfName[name] = nil
                state.byID[id] = nil
                state.windows[name] = nil
            }
            for entry in plan.entries {
                let id = state.idOfName[entry.name] ?? Self.allocate(&state)
                state.idOfName[entry.name] = id
                change.kept.append((id, entry, state.byID[id]))
                state.byID[id] = entry
            }
            return change
        }
    }

    /// The next free id after the last one handed out.
    private static func allocate(_ state: inout State) -> UInt32 {
        let used = Set(state.idOfName.values)
        for step in 0..<UInt32(MAX_TRIGGERS) {
            let id = (state.nextID + step) % UInt32(MAX_TRIGGERS)
            if !used.contains(id) {
                state.nextID = (id + 1) % UInt32(MAX_TRIGGERS)
                return id
            }
        }
        preconditionFailure("more than MAX_TRIGGERS triggers passed validation")
    }

    var ids: [String: UInt32] { state.withLock { $0.idOfName } }

    func entry(named name: String) -> (UInt32, TriggerPlan.Entry)? {
        state.withLock { state in state.idOfName[name].flatMap { id in state.byID[id].map { (id, $0) } } }
    }

    func window(_ name: String) -> ArmingWindow? { state.withLock { $0.windows[name] } }

    func record(_ window: ArmingWindow, for name: String) { state.withLock { $0.windows[name] = window } }

    /// The names of the triggers in a kernel trigger set, by id.
    func names(in set: UInt64) -> [String] {
        state.withLock { state in
            (0..<UInt32(MAX_TRIGGERS)).filter { set >> UInt64($0) & 1 == 1 }.compactMap { state.byID[$0]?.name }
        }
    }
}
