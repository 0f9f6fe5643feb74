/// The agent's configuration: what `config/errno_exporter.yml` may say. Every field has a default,
/// so an empty file is a valid config; `config/errno_exporter.yml` documents each one.
public struct Config: Sendable, Equatable {
    /// The failed-syscall counter (`errno_syscall_failures_total`).
    public struct Syscalls: Sendable, Equatable {
        /// Distinct (syscall, errno, comm) series kept in the kernel map. Failures beyond it are still
        /// counted, under comm="<other>", and `errno_exporter_dropped_events_total{reason="map_full"}`.
        public var maxSeries: Int = 10240

        public init() {}
    }

    public var syscalls = Syscalls()

    public init() {}

    /// Bounds that validation enforces.
    public static let maxSeriesRange = 1...1_000_000
}
