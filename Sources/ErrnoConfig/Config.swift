import ErrnoKernel
import Stacks
import KernelNames

/// Labels a counter may add to its fixed ones: each multiplies its series, so both are opt-in.
public struct OptInLabels: Sendable, Equatable {
    public var pid = false
    public var cgroup = false

    public init(pid: Bool = false, cgroup: Bool = false) {
        self.pid = pid
        self.cgroup = cgroup
    }

    public static let names = ["pid", "cgroup"]
}

/// The agent's configuration: what `config/errno_exporter.yml` may say. Every field has a default,
/// so an empty file is a valid config; `config/errno_exporter.yml` documents each one.
public struct Config: Sendable, Equatable {
    /// The failed-syscall counter (`errno_syscall_failures_total`).
    public struct Syscalls: Sendable, Equatable {
        /// Distinct (syscall, errno, comm) series kept in the kernel map. Failures beyond it are still
        /// counted, under comm="<other>", and `errno_exporter_dropped_events_total{reason="map_full"}`.
        public var maxSeries = KernelLimits.defaultSyscallSeries
        /// errno names not counted at all (by either counter), filtered in the kernel.
        public var excludeErrnos: [String] = []
        /// `labels: [syscall, errno, comm]` plus any of pid, cgroup.
        public var extraLabels = OptInLabels()
        public static let fixedLabels = ["syscall", "errno", "comm"]

        public init() {}
    }

    /// One scrape-time rewrite of the `path` label: every match of `regex` is replaced by
    /// `replacement` (`$1` refers to a group). Rules apply in order; series that collide are summed.
    public struct RewriteRule: Sendable, Equatable {
        public var regex: String
        public var replacement: String

        public init(regex: String, replacement: String) {
            self.regex = regex
            self.replacement = replacement
        }
    }

    /// The failed-path counter (`errno_path_failures_total`).
    public struct Paths: Sendable, Equatable {
        /// Syscalls counted per path; names from `PathSyscalls.pathArgument`.
        public var syscalls = PathSyscalls.openFamily
        /// Distinct (syscall, errno, comm, path) series kept in the kernel map; beyond it, failures
        /// count under path="<other>".
        public var maxSeries = KernelLimits.defaultPathSeries
        public var rewrite: [RewriteRule] = []
        /// `labels: [syscall, path, errno, comm]` plus any of pid, cgroup.
        public var extraLabels = OptInLabels()
        public static let fixedLabels = ["syscall", "path", "errno", "comm"]

        public init() {}
    }

    /// In-kernel filters for both counters. Empty lists filter nothing.
    public struct Filters: Sendable, Equatable {
        /// Only these comms are counted (when not empty).
        public var comms: [String] = []
        /// These comms are never counted.
        public var excludeComms: [String] = []
        /// Only these processes (tgids) are counted (when not empty).
        public var pids: [Int] = []
        /// Only tasks in these cgroup v2 paths, or below them, are counted (when not empty).
        public var cgroups: [String] = []

        public init() {}
    }

    /// A stack-capture trigger: when a path syscall (one of `paths.syscalls`) is called on one of
    /// `paths`, or on a path starting with one of `prefixes`, by `comm` (when set) with the wanted
    /// `result`, and the trigger is armed, the kernel sends a capture — registers, user and kernel
    /// stacks — at most `maxPerMinute` times a minute. Paths are compared as the process passed them,
    /// byte for byte (`path:` and `path_prefix:` take one path or a list).
    public struct Trigger: Sendable, Equatable {
        public enum Result: String, Sendable, CaseIterable {
            case failure, success, any
        }

        public enum Stack: String, Sendable, CaseIterable {
            case user, kernel
        }

        public enum Arming: String, Sendable, CaseIterable {
            /// Captures whenever it matches.
            case always
            /// Captures only while an alert (Alertmanager webhook) has armed it, for `armFor`.
            case onAlert = "on_alert"
        }

        public var name: String
        /// Exact paths.
        public var paths: [String]
        /// Path prefixes.
        public var prefixes: [String]
        public var comm: String?
        public var result = Result.failure
        public var stacks: Set<Stack> = [.user, .kernel]
        /// Captures per minute at most (a burst of this many, refilled over a minute); 0: no limit.
        public var maxPerMinute = 10
        public var armed = Arming.always
        /// Seconds an alert keeps an `on_alert` trigger armed.
        public var armForSeconds = 600
        /// For Node.js (libuv) async fs requests on the trigger's paths: also capture the stack of the
        /// thread that submitted the request (uprobes on libuv, attached only while this is set).
        public var asyncStacks = false

        public init(name: String, paths: [String] = [], prefixes: [String] = []) {
            self.name = name
            self.paths = paths
            self.prefixes = prefixes
        }
    }

    /// Captures kept in memory and what each copies from the kernel.
    public struct Captures: Sendable, Equatable {
        /// Captures kept for the API and landing page (a ring: the oldest goes first).
        public var keep = 256
        /// Bytes of user stack copied per capture (from the stack pointer up), for unwinding.
        /// Fixed at start: a change needs a restart.
        public var userStackBytes = KernelLimits.defaultUserStackBytes

        public init() {}

        /// Bytes of the kernel's capture ring buffer (a power of two; 0: sized for 16 captures, at
        /// least 1 MiB: a reader thread drains it at once). Bursts beyond it are dropped and counted. Fixed
        /// at start.
        public var bufferBytes = 0

        public static let keepRange = 1...100_000
        public static let userStackBytesRange = KernelLimits.userStackBytes
        public static let bufferBytesRange = 0...(1 << 30)
    }

    /// Alerts pulled from Alertmanager (fleet mode): the peers polled, how often, which alerts are
    /// this node's, and how to reach the peers (as Prometheus' `alertmanager_config` says it).
    public struct Alerts: Sendable, Equatable {
        /// TLS towards the peers: `tls_config` as Prometheus has it (the server name is the URL's host).
        public struct TLS: Sendable, Equatable {
            public var caFile: String?
            public var certFile: String?
            public var keyFile: String?
            public var insecureSkipVerify = false

            public init() {}
        }

        /// Credentials sent to the peers: `basic_auth` or `authorization` (files are read at each poll).
        public enum Credentials: Sendable, Equatable {
            case basic(username: String, password: Secret)
            case authorization(type: String, credentials: Secret)
        }

        /// A secret written in the config or kept in a file beside it.
        public enum Secret: Sendable, Equatable {
            case inline(String)
            case file(String)
        }

        /// Every peer of the Alertmanager cluster (peers do not replicate alerts), with any path prefix.
        public var alertmanagerURLs: [String] = []
        public var pollIntervalSeconds = 5
        /// Per request; at most the poll interval.
        public var timeoutSeconds = 5
        /// `instance` label values that mean this node; empty: derived from the listen addresses and
        /// the host name (see `AlertIdentity`).
        public var instances: [String] = []
        /// Whether alerts without an `instance` label (fleet-wide) arm triggers here.
        public var fleetWide = true
        /// Further matchers every alert must satisfy (Alertmanager's syntax, also sent as `filter`).
        public var matchers: [AlertMatcher] = []
        public var tls = TLS()
        public var credentials: Credentials?

        public init() {}

        /// Seconds a poll interval (and a timeout) may be.
        public static let pollIntervalRange = 1...3600
        /// Alertmanager peers a config may list.
        public static let maxPeers = 16
    }

    /// Debug information for native frames: the debuginfod servers that serve debug files by build
    /// ID, and the on-disk cache of what they sent.
    public struct Symbolization: Sendable, Equatable {
        /// Servers asked for missing debug files; not set: those in `DEBUGINFOD_URLS` when the agent
        /// started, if any; empty, or none at all: nothing is ever fetched.
        public var debuginfodURLs: [String]?
        public var cacheDirectory = DebuginfodSettings.defaultCacheDirectory
        public var cacheMaxBytes = DebuginfodSettings.defaultCacheMaxBytes
        public var timeoutSeconds = DebuginfodSettings.defaultTimeoutSeconds

        public init() {}

        /// What the fetcher is told: the servers configured, else the inherited ones.
        public var debuginfod: DebuginfodSettings {
            DebuginfodSettings(
                urls: debuginfodURLs ?? DebuginfodEnvironment.inheritedURLs, cacheDirectory: cacheDirectory,
                cacheMaxBytes: cacheMaxBytes, timeoutSeconds: timeoutSeconds)
        }

        public static let maxServers = 16
        public static let cacheMaxBytesRange: ClosedRange<Int64> = (1 << 20)...(1 << 40)
        public static let timeoutRange = 1...600
    }

    public var syscalls = Syscalls()
    public var paths = Paths()
    public var filters = Filters()
    public var triggers: [Trigger] = []
    public var captures = Captures()
    public var alerts = Alerts()
    public var symbolization = Symbolization()

    public init() {}

    /// Bounds that validation enforces.
    public static let maxSeriesRange = 1...1_000_000
    /// Triggers a config may have (a set of them is one 64-bit word in the kernel).
    public static let maxTriggers = KernelLimits.maxTriggers
    /// Exact paths, and prefixes, of all triggers together (the kernel maps' capacity).
    public static let maxTriggerPaths = KernelLimits.maxTriggerPaths
    /// Longest trigger path: the kernel compares at most this many bytes of a path.
    public static let maxTriggerPathBytes = KernelLimits.pathBytes
}
