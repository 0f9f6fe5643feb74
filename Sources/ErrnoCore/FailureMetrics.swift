import BPFKit
import CErrnoBPF
import ErrnoConfig
import Exposition
import Foundation
import KernelNames
import Synchronization

/// Reads the BPF maps at scrape time and turns them into `errno_syscall_failures_total`,
/// `errno_path_failures_total` and the self-metrics about the kernel side (map pressure, dropped
/// and truncated events). Owns the program; every map access is serialized here.
public final class FailureMetrics: Collector {
    struct State {
        let program: ErrnoProgram
        var rewriter: PathRewriter
        var syscallLabels: OptInLabels
        var pathLabels: OptInLabels
        let cgroups = CgroupNames()
        var syscallSeries = SeriesIndex()
        var pathSeries = SeriesIndex()
    }

    private let state: Mutex<State>
    private let syscalls: SyscallNames
    /// Stack captures, for the path counter's exemplars (OpenMetrics).
    private let captures: CaptureStore?

    /// `settings` and `rewriter` are what `program` was configured with.
    public init(
        program: sending ErrnoProgram, settings: KernelSettings, rewriter: PathRewriter, syscalls: SyscallNames = SyscallNames(),
        captures: CaptureStore? = nil
    ) {
        state = Mutex(State(program: program, rewriter: rewriter, syscallLabels: settings.syscallLabels, pathLabels: settings.pathLabels))
        self.syscalls = syscalls
        self.captures = captures
    }

    /// Attaches async-stack uprobes to libuv binaries of processes started since the last call.
    public func refreshAsyncProbes() {
        state.withLock { $0.program.refreshAsyncProbes() }
    }

    /// The config of every trigger in force.
    public func triggerConfigs() -> [Config.Trigger] {
        state.withLock { state in state.program.triggers.entries.values.map(\.config) }
    }

    /// Arms the `on_alert` trigger `name`, extending (never shortening) a window already open.
    /// Returns the arming in force.
    func arm(_ name: String, _ arming: Arming) throws -> Arming {
        try state.withLock { state in
            let program = state.program
            var effective = arming
            if let current = program.triggers.arming(name), current.untilMonotonicNanoseconds > arming.untilMonotonicNanoseconds {
                effective.untilMonotonicNanoseconds = current.untilMonotonicNanoseconds
                effective.until = current.until
            }
            guard try program.arm(name, effective) else { throw WebhookError(.unprocessable, "no trigger named \(name)") }
            return effective
        }
    }

    /// Every trigger in force with its counts, by name (serialized with scrapes and reloads).
    public func triggerStatuses() throws -> [TriggerStatus] {
        try state.withLock { state in try state.program.triggerStatuses() }
    }

    /// Whether the program is attached (for /-/ready).
    public var isAttached: Bool { state.withLock { $0.program.isAttached } }

    /// Applies new settings and rewrite rules to the running program (no detach, no counter reset).
    public func reconfigure(_ settings: KernelSettings, rewriter: PathRewriter) throws {
        try state.withLock { state in
            try state.program.apply(settings)
            state.rewriter = rewriter
            state.syscallLabels = settings.syscallLabels
            state.pathLabels = settings.pathLabels
            state.syscallSeries.reset()
            state.pathSeries.reset()
        }
    }

    /// Maps of `event_counts` slots to the reason label of `errno_exporter_dropped_events_total`.
    static let dropReasons: [(counter: event_counter, label: String)] = [
        (EVENT_MAP_FULL, "map_full"),
        (EVENT_OVERFLOW_FULL, "overflow_full"),
        (EVENT_PATH_MAP_FULL, "path_map_full"),
        (EVENT_PATH_OVERFLOW_FULL, "path_overflow_full"),
        (EVENT_ASYNC_REQUESTS_FULL, "async_requests_full"),
    ]

    public func collect() throws -> [MetricFamily] {
        try state.withLock { state in
            let program = state.program
            state.cgroups.beginScrape()
            let failures = try program.failures.readAll()
            let overflow = try program.overflow.readAll()
            let pathFailures = try program.pathFailures.readAll()
            let pathOverflow = try program.pathOverflow.readAll()
            var events: [UInt32: UInt64] = [:]
            for entry in try program.events.readAll() { events[entry.key(as: UInt32.self)] = entry.value }
            let misses = try program.counter.recursionMisses()
            let triggerFamilies = try triggerFamilies(program)
            let maps: [(CounterMapReader, Int)] = [
                (program.failures, failures.count), (program.overflow, overflow.count),
                (program.pathFailures, pathFailures.count), (program.pathOverflow, pathOverflow.count),
            ]
            return [
                failureFamily(failures: failures, overflow: overflow, state: &state),
                pathFamily(failures: pathFailures, overflow: pathOverflow, state: &state),
                MetricFamily(
                    name: "errno_exporter_dropped_events_total",
                    help: "Events that did not get their own series, were not counted or not captured, by reason (map_full, path_map_full: folded into \"<other>\"; overflow_full, path_overflow_full, program_recursion: not counted; rate_limited, ring_buffer_full: trigger matches not captured).",
                    type: .counter,
                    samples: Self.dropReasons.map { Sample(labels: [Label("reason", $0.label)], value: Double(events[$0.counter.rawValue] ?? 0)) }
                        + [
                            Sample(labels: [Label("reason", "program_recursion")], value: Double(misses)),
                            Sample(labels: [Label("reason", "rate_limited")], value: triggerFamilies.rateLimited),
                            Sample(labels: [Label("reason", "ring_buffer_full")], value: Double(events[EVENT_RING_BUFFER_FULL.rawValue] ?? 0)),
                        ]),
                triggerFamilies.matches,
                triggerFamilies.captures,
                triggerFamilies.armed,
                triggerFamilies.notifications,
                MetricFamily(
                    name: "errno_exporter_path_series_folded_total",
                    help: "Distinct (syscall, path, errno, comm) series folded into path=\"<other>\" because the path map was full (each counted once while among the last 16384 folded).",
                    type: .counter, samples: [Sample(value: Double(events[EVENT_PATH_SERIES_FOLDED.rawValue] ?? 0))]),
                MetricFamily(
                    name: "errno_exporter_path_truncations_total",
                    help: "Failed path syscalls whose path was longer than the kernel buffer: counted with the first 255 bytes and a \\<truncated> suffix.",
                    type: .counter, samples: [Sample(value: Double(events[EVENT_PATH_TRUNCATED.rawValue] ?? 0))]),
                MetricFamily(
                    name: "errno_exporter_path_faults_total",
                    help: "Failed path syscalls whose path pointer could not be read: counted as path=\"<unreadable>\".",
                    type: .counter, samples: [Sample(value: Double(events[EVENT_PATH_UNREADABLE.rawValue] ?? 0))]),
                MetricFamily(
                    name: "errno_exporter_bpf_map_entries", help: "Entries in each BPF hash map.", type: .gauge,
                    samples: maps.map { Sample(labels: [Label("map", $0.0.map.name)], value: Double($0.1)) }
                        + program.asyncMaps.map { Sample(labels: [Label("map", $0.name)], value: Double($0.entryCount())) }),
                MetricFamily(
                    name: "errno_exporter_bpf_map_max_entries", help: "Capacity of each BPF hash map.", type: .gauge,
                    samples: maps.map { Sample(labels: [Label("map", $0.0.map.name)], value: Double($0.0.map.maxEntries)) }
                        + program.asyncMaps.map { Sample(labels: [Label("map", $0.name)], value: Double($0.maxEntries)) }),
                MetricFamily(
                    name: "errno_exporter_async_uprobes", help: "Uprobes attached to libuv binaries for async_stacks triggers (0 when no trigger has async_stacks).",
                    type: .gauge, samples: [Sample(value: Double(program.asyncProbes.uprobeCount))]),
                MetricFamily(
                    name: "errno_exporter_async_requests_expired_total",
                    help: "Async fs requests on trigger paths whose submission was captured but that no pool thread started within 30 s (cancelled): swept.",
                    type: .counter, samples: [Sample(value: Double(program.asyncProbes.expiredRequests))]),
                MetricFamily(
                    name: "errno_exporter_async_binaries_skipped_total",
                    help: "libuv binaries async_stacks could not probe, by reason (symbols_missing, attach_failed): their captures carry no submitting stack.",
                    type: .counter,
                    samples: ["attach_failed", "symbols_missing"].map { Sample(labels: [Label("reason", $0)], value: Double(program.asyncProbes.skips[$0] ?? 0)) }),
            ]
        }
    }

    /// `errno_trigger_matches_total` and `errno_stack_captures_total` by trigger name, and the
    /// rate-limited matches of all triggers (a drop reason).
    private func triggerFamilies(_ program: ErrnoProgram) throws -> (matches: MetricFamily, captures: MetricFamily, armed: MetricFamily, notifications: MetricFamily, rateLimited: Double) {
        let statuses = try program.triggerStatuses()
        func samples(_ count: KeyPath<TriggerStatus, UInt64>) -> [Sample] {
            statuses.map { Sample(labels: [Label("trigger", $0.name)], value: Double($0[keyPath: count])) }
        }
        let rateLimited = statuses.reduce(0.0) { $0 + Double($1.rateLimited) }
        return (
            MetricFamily(
                name: "errno_trigger_matches_total",
                help: "Syscalls whose path, comm and result matched a trigger, captured or not (disarmed, rate-limited).",
                type: .counter, samples: samples(\.matches)),
            MetricFamily(
                name: "errno_stack_captures_total", help: "Stack captures a trigger sent (see /api/v1/captures?trigger=NAME).",
                type: .counter, samples: samples(\.captures)),
            MetricFamily(
                name: "errno_trigger_armed", help: "Whether a trigger captures now: 1 for armed: always, and for on_alert while an alert's window is open.",
                type: .gauge, samples: statuses.map { Sample(labels: [Label("trigger", $0.name)], value: $0.armed ? 1 : 0) }),
            MetricFamily(
                name: "errno_trigger_arming_notifications_total", help: "Firing Alertmanager notifications that armed an on_alert trigger (/api/v1/alerts).",
                type: .counter, samples: samples(\.notifications)),
            rateLimited
        )
    }

    private func comm(_ key: syscall_failure_key) -> String {
        withUnsafeBytes(of: key.comm) { LabelValue.encodeCString($0) }
    }

    /// The opt-in labels of a key, when the counter shows them. A key recorded while a label was off
    /// has 0 there and keeps the series it had: turning a label on or off never resets a counter.
    func optInLabels(_ key: syscall_failure_key, _ shown: OptInLabels, _ cgroups: CgroupNames) -> [Label] {
        var labels: [Label] = []
        if shown.pid, key.tgid != 0 { labels.append(Label("pid", String(key.tgid))) }
        if shown.cgroup, key.cgroup_id != 0 { labels.append(Label("cgroup", cgroups.name(key.cgroup_id))) }
        return labels
    }

    func failureFamily(failures: [CounterEntry], overflow: [CounterEntry], state: inout State) -> MetricFamily {
        let shown = state.syscallLabels, cgroups = state.cgroups
        let samples = state.syscallSeries.samples([failures, overflow]) { entry in
            if entry.key.count == MemoryLayout<syscall_overflow_key>.size {
                let key = entry.key(as: syscall_overflow_key.self)
                return [Label("syscall", syscalls.name(key.syscall_nr)), Label("errno", ErrnoNames.name(key.err)), Label("comm", LabelValue.other)]
            }
            let key = entry.key(as: syscall_failure_key.self)
            return [Label("syscall", syscalls.name(key.syscall_nr)), Label("errno", ErrnoNames.name(key.err)), Label("comm", comm(key))]
                + optInLabels(key, shown, cgroups)
        }
        return MetricFamily(
            name: "errno_syscall_failures_total",
            help: "Syscalls that returned an error, by syscall, errno and the calling task's comm (and pid, cgroup when enabled).",
            type: .counter, samples: samples)
    }

    func pathFamily(failures: [CounterEntry], overflow: [CounterEntry], state: inout State) -> MetricFamily {
        let pathOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.path)!
        let flagsOffset = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.flags)!
        let shown = state.pathLabels, cgroups = state.cgroups, rewriter = state.rewriter
        let samples = state.pathSeries.samples([failures, overflow]) { entry in
            let failure = entry.key.withUnsafeBytes { $0.loadUnaligned(as: syscall_failure_key.self) }
            let path: String
            if entry.key.count == MemoryLayout<syscall_failure_key>.size {  // path_overflow
                path = LabelValue.other
            } else {
                let flags = entry.key.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: flagsOffset, as: UInt32.self) }
                path = rewriter.rewrite(PathLabel.value(flags: flags, path: entry.key[pathOffset...]))
            }
            return [
                Label("syscall", syscalls.name(failure.syscall_nr)), Label("path", path), Label("errno", ErrnoNames.name(failure.err)),
                Label("comm", comm(failure)),
            ] + optInLabels(failure, shown, cgroups)
        }
        return MetricFamily(
            name: "errno_path_failures_total",
            help: "Failed path syscalls (paths.syscalls; the open family by default), by syscall, path as passed, errno and comm (and pid, cgroup when enabled).",
            type: .counter, samples: withExemplars(samples, rewriter: rewriter))
    }

    /// The latest failed capture of each (syscall, path, errno, comm) becomes the exemplar of its
    /// series: `# {capture_id="12"} 1 <time>` in OpenMetrics, one click from a graph to the stack.
    func withExemplars(_ samples: [Sample], rewriter: PathRewriter) -> [Sample] {
        guard let captures, !captures.isEmpty else { return samples }
        var latest: [[String]: Exemplar] = [:]
        for capture in captures.list().reversed() {  // oldest first: the newest wins
            guard let errno = capture.errno else { continue }
            latest[[capture.syscall, rewriter.rewrite(capture.path), errno, capture.comm]] = Exemplar(
                labels: [Label("capture_id", String(capture.id))], value: 1, timestamp: capture.time.timeIntervalSince1970)
        }
        guard !latest.isEmpty else { return samples }
        return samples.map { sample in
            // pathFamily's labels start with syscall, path, errno, comm (opt-in labels follow).
            var sample = sample
            sample.exemplar = latest[sample.labels.prefix(4).map(\.value)]
            return sample
        }
    }
}

/// `errno_exporter_build_info`: constant 1 with what this binary is.
public struct BuildInfoCollector: Collector {
    public init() {}

    public func collect() throws -> [MetricFamily] {
        [MetricFamily(
            name: "errno_exporter_build_info",
            help: "A metric with a constant '1' value labeled by version, revision and libbpf_version.",
            type: .gauge,
            samples: [Sample(
                labels: [Label("version", BuildInfo.version), Label("revision", BuildInfo.revision), Label("libbpf_version", BuildInfo.libbpfVersion)],
                value: 1)])]
    }
}
