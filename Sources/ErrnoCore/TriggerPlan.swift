import CErrnoBPF
import ErrnoConfig

/// The config's triggers as the kernel's maps hold them: flags, rate-limit timing, comm, paths.
/// Ids are not assigned here: `ErrnoProgram` keeps each trigger's id stable across reloads.
public struct TriggerPlan: Sendable, Equatable {
    /// One trigger.
    public struct Entry: Sendable, Equatable {
        public let config: Config.Trigger
        let flags: UInt32
        let intervalNanoseconds: UInt64
        let burstNanoseconds: UInt64

        public var name: String { config.name }

        init(_ trigger: Config.Trigger) {
            config = trigger
            var flags: UInt32 = 0
            if trigger.result != .success { flags |= TRIGGER_ON_FAILURE.rawValue }
            if trigger.result != .failure { flags |= TRIGGER_ON_SUCCESS.rawValue }
            if trigger.stacks.contains(.user) { flags |= TRIGGER_USER_STACK.rawValue }
            if trigger.stacks.contains(.kernel) { flags |= TRIGGER_KERNEL_STACK.rawValue }
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

        /// The `trigger_settings` entry: always armed, or — for `on_alert` — as `arming` says (disarmed without one).
        func kernelSettings(arming: Arming? = nil) -> trigger_settings {
            let comm = config.comm.map(KernelSettings.commKey) ?? (0, 0)
            var settings = trigger_settings()
            settings.comm_words = comm
            settings.flags = flags
            settings.capture_interval_ns = intervalNanoseconds
            settings.burst_ns = burstNanoseconds
            if config.armed == .always {
                settings.armed_until_ns = .max
            } else if let arming {
                settings.armed_until_ns = arming.untilMonotonicNanoseconds
                settings.armed_comm_words = arming.comm.map(KernelSettings.commKey) ?? (0, 0)
                settings.armed_pid = arming.pid ?? 0
            }
            return settings
        }

        /// Whether a change from `old` to this needs the rate limiter restarted.
        func changesRate(from old: Entry) -> Bool {
            old.intervalNanoseconds != intervalNanoseconds || old.burstNanoseconds != burstNanoseconds
        }
    }

    public let entries: [Entry]

    public init(_ triggers: [Config.Trigger]) {
        entries = triggers.map(Entry.init)
    }

    /// Whether some trigger links pool-thread syscalls to their submitters (libuv uprobes).
    public var wantsAsyncStacks: Bool { entries.contains { $0.config.asyncStacks } }

    /// Comms of the async triggers; nil when one of them takes any comm.
    var asyncComms: Set<String>? {
        var comms: Set<String> = []
        for entry in entries where entry.config.asyncStacks {
            guard let comm = entry.config.comm else { return nil }
            comms.insert(comm)
        }
        return comms
    }

    /// Whether successful syscalls must be looked at.
    var wantsSuccesses: Bool { entries.contains { $0.flags & TRIGGER_ON_SUCCESS.rawValue != 0 } }

    /// `trigger_exact_paths`: fingerprint (key bytes) → trigger_exact_entry bytes (the set of ids and
    /// the NUL-padded path). Throws in the (2⁻⁶⁴-unlikely) case of two paths sharing a fingerprint.
    func exactPaths(ids: [String: UInt32]) throws -> [[UInt8]: [UInt8]] {
        var sets: [[UInt8]: UInt64] = [:]
        for entry in entries {
            guard let id = ids[entry.name] else { continue }
            for path in entry.config.paths { sets[Self.pathKey(path), default: 0] |= 1 << UInt64(id) }
        }
        var entries: [[UInt8]: [UInt8]] = [:]
        for (path, set) in sets {
            let key = withUnsafeBytes(of: Self.fingerprint(path).littleEndian) { Array($0) }
            guard entries[key] == nil else {
                throw StartupError("two trigger paths share a fingerprint (\(LabelValue.encode(path.prefix { $0 != 0 }))): rename one")
            }
            entries[key] = withUnsafeBytes(of: set.littleEndian) { Array($0) } + path
        }
        return entries
    }

    /// The kernel's path_fingerprint (errno_exporter.h) of a NUL-padded path buffer.
    static func fingerprint(_ buffer: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for start in stride(from: 0, to: buffer.count, by: 8) {
            let word = buffer[start..<start + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            hash = (hash ^ word) &* 0x100_0000_01b3
            hash ^= hash >> 29
            if buffer[start..<start + 8].contains(0) { break }
        }
        return hash
    }

    /// `trigger_path_prefixes`: trigger_prefix_key bytes → set of ids, each prefix's set including
    /// the triggers of its own shorter prefixes (the trie answers with the longest match only).
    func prefixes(ids: [String: UInt32]) -> [[UInt8]: UInt64] {
        var own: [[UInt8]: UInt64] = [:]
        for entry in entries {
            guard let id = ids[entry.name] else { continue }
            for prefix in entry.config.prefixes { own[Array(prefix.utf8), default: 0] |= 1 << UInt64(id) }
        }
        var sets: [[UInt8]: UInt64] = [:]
        for (prefix, set) in own {
            var combined = set
            for length in 1..<max(prefix.count, 1) { combined |= own[Array(prefix[0..<length])] ?? 0 }
            var key = withUnsafeBytes(of: UInt32(prefix.count * 8).littleEndian) { Array($0) }
            key += Self.pathKey(bytes: prefix)
            sets[key] = combined
        }
        return sets
    }

    /// A path as the kernel's path buffer holds it: the bytes, NUL-padded to PATH_BUFFER_LEN.
    static func pathKey(_ path: String) -> [UInt8] { pathKey(bytes: Array(path.utf8)) }

    static func pathKey(bytes path: [UInt8]) -> [UInt8] {
        var bytes = Array(path.prefix(Int(PATH_BUFFER_LEN) - 1))
        bytes += [UInt8](repeating: 0, count: Int(PATH_BUFFER_LEN) - bytes.count)
        return bytes
    }
}
