import Synchronization

/// The most recent captures, newest first, bounded (`captures.keep`): the oldest goes first.
public final class CaptureStore: Sendable {
    private struct State {
        var ring: [Capture] = []
        var next = 0
        var nextID: UInt64 = 1
        var capacity: Int
    }

    private let state: Mutex<State>

    public init(capacity: Int) {
        state = Mutex(State(capacity: max(capacity, 1)))
    }

    /// Stores `capture` under a new id (returned).
    @discardableResult
    public func add(_ capture: Capture) -> Capture {
        state.withLock { state in
            var stored = capture
            stored.id = state.nextID
            state.nextID += 1
            if state.ring.count < state.capacity {
                state.ring.append(stored)
            } else {
                state.ring[state.next] = stored
                state.next = (state.next + 1) % state.capacity
            }
            return stored
        }
    }

    /// Puts `updated` captures in place of the stored ones with their ids (those still kept).
    public func replace(_ updated: [Capture]) {
        guard !updated.isEmpty else { return }
        let byID = Dictionary(updated.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        state.withLock { state in
            for index in state.ring.indices { if let new = byID[state.ring[index].id] { state.ring[index] = new } }
        }
    }

    /// Changes the capacity (a reload); keeps the newest captures that fit.
    public func resize(_ capacity: Int) {
        state.withLock { state in
            let newest = Self.newestFirst(state)
            state.capacity = max(capacity, 1)
            state.ring = Array(newest.prefix(state.capacity).reversed())
            state.next = 0
        }
    }

    public var isEmpty: Bool { state.withLock { $0.ring.isEmpty } }

    /// Newest first; only those of `trigger` when given; at most `limit`.
    public func list(trigger: String? = nil, limit: Int = .max) -> [Capture] {
        let all = state.withLock { Self.newestFirst($0) }
        return Array(all.lazy.filter { trigger == nil || $0.triggers.contains(trigger!) }.prefix(limit))
    }

    public func capture(id: UInt64) -> Capture? {
        state.withLock { state in state.ring.first { $0.id == id } }
    }

    private static func newestFirst(_ state: State) -> [Capture] {
        guard state.ring.count == state.capacity else { return state.ring.reversed() }
        return (state.ring[state.next...] + state.ring[..<state.next]).reversed()
    }
}
