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
    /// For `on_alert`: the window an alert opened (RFC 3339), the alert, and what it narrowed to.
    public var armedUntil: String?
    public var armedBy: String?
    public var armedFor: ArmedFor?
    public var armForSeconds: Int
    /// Firing notifications that armed it.
    public var notifications: UInt64
    public var matches: UInt64
    public var captures: UInt64
    public var rateLimited: UInt64
    public var ringBufferFull: UInt64

    enum CodingKeys: String, CodingKey {
        case name, paths, pathPrefixes = "path_prefixes", comm, result, stacks, maxPerMinute = "max_per_minute", arming = "armed_mode"
        case armed, armedUntil = "armed_until", armedBy = "armed_by", armedFor = "armed_for", armForSeconds = "arm_for_seconds", notifications
        case matches, captures, rateLimited = "rate_limited", ringBufferFull = "ring_buffer_full"
    }

    /// The comm and pid an alert narrowed the arming to.
    public struct ArmedFor: Sendable, Encodable {
        public let comm: String?
        public let pid: UInt32?
    }

    init(_ entry: TriggerPlan.Entry, arming: Arming?, notifications: UInt64, counts: (UInt32) -> UInt64) {
        let trigger = entry.config
        name = trigger.name
        paths = trigger.paths
        pathPrefixes = trigger.prefixes
        comm = trigger.comm
        result = trigger.result.rawValue
        stacks = Config.Trigger.Stack.allCases.filter { trigger.stacks.contains($0) }.map(\.rawValue)
        maxPerMinute = trigger.maxPerMinute
        self.arming = trigger.armed.rawValue
        armForSeconds = trigger.armForSeconds
        self.notifications = notifications
        if trigger.armed == .always {
            armed = true
        } else {
            armed = arming.map { $0.untilMonotonicNanoseconds > AlertReceiver.monotonicNanoseconds() } ?? false
            armedUntil = arming.map { Capture.timestamp($0.until) }
            armedBy = arming.map { $0.alert + ($0.fingerprint.map { " (\($0))" } ?? "") }
            armedFor = arming.flatMap { $0.comm != nil || $0.pid != nil ? ArmedFor(comm: $0.comm, pid: $0.pid) : nil }
        }
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
            TriggerStatus(entry, arming: triggers.arming(entry.name), notifications: triggers.notifications(entry.name)) { counts[id * stride + $0] ?? 0 }
        }
    }
}
