import CErrnoBPF
import KernelNames

/// The triggers as the kernel's maps hold them: flags, rate-limit timing, comm, paths.
/// Ids are not assigned here: `KernelHandle` keeps each trigger's id stable across reloads.
public struct TriggerPlan: Sendable, Equatable {
    /// One trigger.
    public struct Entry: Sendable, Equatable {
        public let spec: TriggerSpec
        let flags: UInt32
        let intervalNanoseconds: UInt64
        let burstNanoseconds: UInt64

        public var name: String { spec.name }

        init(_ trigger: TriggerSpec) {
            spec = trigger
            var flags: UInt32 = 0
            if trigger.onFailure { flags |= TRIGGER_ON_FAILURE.rawValue }
            if trigger.onSuccess { flags |= TRIGGER_ON_SUCCESS.rawValue }
            if trigger.userStack { flags |= TRIGGER_USER_STACK.rawValue }
            if trigger.kernelStack { flags |= TRIGGER_KERNEL_STACK.rawValue }
            if trigger.comm != nil { flags |= TRIGGER_COMM.rawValue }
            if trigger.asyncStacks { flags |= TRIGGER_ASYNC_STACKS.rawValue }
            self.flags = flags
            if trigger.maxPerMinute > 0 {
                intervalNanoseconds = 60_000_000_000 / UInt64(trigger.maxPerMinute)
                burstNanoseconds = intervalNanoseconds * UInt64(trigger.maxPerMinute - 1)
            } else {
                intervalNanoseconds = 0
                burstNanoseconds = 0
            }
        }

        /// The `trigger_settings` entry: always armed, or — for `on_alert` — as `window` says (disarmed without one).
        func kernelSettings(window: ArmingWindow? = nil) -> trigger_settings {
            var settings = trigger_settings()
            settings.comm_words = spec.comm.map(KernelSettings.commWords) ?? (0, 0)
            settings.flags = flags
            settings.capture_interval_ns = intervalNanoseconds
            settings.burst_ns = burstNanoseconds
            if spec.alwaysArmed {
                settings.armed_until_ns = .max
            } else if let window {
                settings.armed_until_ns = window.untilMonotonicNanoseconds
                settings.armed_comm_words = window.comm.map(KernelSettings.commWords) ?? (0, 0)
                settings.armed_pid = window.pid ?? 0
            }
            return settings
        }

        /// Whether a change from `old` to this needs the rate limiter restarted.
        func changesRate(from old: Entry) -> Bool {
            old.intervalNanoseconds != intervalNanoseconds || old.burstNanoseconds != burstNanoseconds
        }
    }

    public let entries: [Entry]

    public init(_ triggers: [TriggerSpec]) {
        entries = triggers.map(Entry.init)
    }

    /// Whether some trigger links pool-thread syscalls to their submitters (libuv uprobes).
    public var wantsAsyncStacks: Bool { entries.contains { $0.spec.asyncStacks } }

    /// Comms of the async triggers; nil when one of them takes any comm.
    var asyncComms: Set<String>? {
        var comms: Set<String> = []
        for entry in entries where entry.spec.asyncStacks {
            guard let comm = entry.spec.comm else { return nil }
            comms.insert(comm)
        }
        return comms
    }

    /// Whether successful syscalls must be looked at.
    var wantsSuccesses: Bool { entries.contains { $0.flags & TRIGGER_ON_SUCCESS.rawValue != 0 } }

    /// `trigger_exact_paths`: fingerprint (from `seed`) → entry (the set of ids and the NUL-padded
    /// path). Throws in the (2⁻⁶⁴-unlikely) case of two paths sharing a fingerprint.
    func exactPaths(ids: [String: UInt32], seed: UInt64) throws -> [UInt64: ExactPath] {
        var sets: [PathBuffer: UInt64] = [:]
        for entry in entries {
            guard let id = ids[entry.name] else { continue }
            for path in entry.spec.paths { sets[PathBuffer(Array(path.utf8)), default: 0] |= 1 << UInt64(id) }
        }
        var exact: [UInt64: ExactPath] = [:]
        for (path, set) in sets {
            let fingerprint = path.fingerprint(seed: seed)
            guard exact[fingerprint] == nil else {
                throw StartupError("two trigger paths share a fingerprint (\(LabelValue.encode(path.bytes))): rename one")
            }
            exact[fingerprint] = ExactPath(path: path, ids: set)
        }
        return exact
    }

    /// `trigger_path_prefixes`: key → set of ids, each prefix's set including the triggers of its own
    /// shorter prefixes (the trie answers with the longest match only).
    func prefixes(ids: [String: UInt32]) -> [PathBuffer: UInt64] {
        var own: [[UInt8]: UInt64] = [:]
        for entry in entries {
            guard let id = ids[entry.name] else { continue }
            for prefix in entry.spec.prefixes { own[Array(prefix.utf8), default: 0] |= 1 << UInt64(id) }
        }
        var sets: [PathBuffer: UInt64] = [:]
        for (prefix, set) in own {
            var combined = set
            for length in 1..<max(prefix.count, 1) { combined |= own[Array(prefix[0..<length])] ?? 0 }
            sets[PathBuffer(prefix)] = combined
        }
        return sets
    }
}
