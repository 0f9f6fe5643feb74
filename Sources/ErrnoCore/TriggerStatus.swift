import BPFKit
import CErrnoBPF
import ErrnoConfig

/// A trigger as `/api/v1/triggers` and the landing page show it: its config, whether it is armed,
/// and its counts.
public struct TriggerStatus: Sendable, Encodable {
    public var name: String
    public var paths: [String]
    public var pathPrefixes: [String]
    public var comm: String?
    public var result: String
    public var stacks: [String]
    public var maxPerMinute: Int
    public var arming: String
    /// Whether a match now would be captured (rate limit aside).
    public var armed: Bool
    public var matches: UInt64
    public var captures: UInt64
    public var rateLimited: UInt64
    public var ringBufferFull: UInt64

    enum CodingKeys: String, CodingKey {
        case name, paths, pathPrefixes = "path_prefixes", comm, result, stacks, maxPerMinute = "max_per_minute", arming = "armed_mode"
        case armed, matches, captures, rateLimited = "rate_limited", ringBufferFull = "ring_buffer_full"
    }

    init(_ entry: TriggerPlan.Entry, counts: (UInt32) -> UInt64) {
        let trigger = entry.config
        name = trigger.name
        paths = trigger.paths
        pathPrefixes = trigger.prefixes
        comm = trigger.comm
        result = trigger.result.rawValue
        stacks = Config.Trigger.Stack.allCases.filter { trigger.stacks.contains($0) }.map(\.rawValue)
        maxPerMinute = trigger.maxPerMinute
        arming = trigger.armed.rawValue
        armed = trigger.armed == .always
        matches = counts(TRIGGER_MATCHES.rawValue)
        captures = counts(TRIGGER_CAPTURES.rawValue)
        rateLimited = counts(TRIGGER_RATE_LIMITED.rawValue)
        ringBufferFull = counts(TRIGGER_RING_BUFFER_FULL.rawValue)
    }
}

extension ErrnoProgram {
    func triggerStatuses() throws -> [TriggerStatus] {
        var counts: [UInt32: UInt64] = [:]
        for entry in try triggerCounts.readAll() { counts[entry.key(as: UInt32.self)] = entry.value }
        let stride = UInt32(TRIGGER_COUNTER_COUNT.rawValue)
        return triggers.entries.sorted { $0.value.name < $1.value.name }.map { id, entry in
            TriggerStatus(entry) { counts[id * stride + $0] ?? 0 }
        }
    }
}
