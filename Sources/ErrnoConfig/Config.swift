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
        public var maxSeries = 10240
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
        public var maxSeries = 10000
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

    public var syscalls = Syscalls()
    public var paths = Paths()
    public var filters = Filters()

    public init() {}

    /// Bounds that validation enforces.
    public static let maxSeriesRange = 1...1_000_000
}
