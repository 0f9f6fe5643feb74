import ErrnoConfig
import ErrnoKernel
import Exposition
import Foundation
import KernelNames
import Synchronization

/// A failure's latest stack capture, for the path counter's exemplars: its series (the path as the
/// label shows it before rewrites) and the exemplar pointing at the capture.
public struct FailureExemplar: Sendable {
    public var syscall: String
    public var path: String
    public var errno: String
    public var comm: String
    public var exemplar: Exemplar

    public init(syscall: String, path: String, errno: String, comm: String, exemplar: Exemplar) {
        self.syscall = syscall
        self.path = path
        self.errno = errno
        self.comm = comm
        self.exemplar = exemplar
    }
}

/// Reads the kernel's counters at scrape time and turns them into `errno_syscall_failures_total`,
/// `errno_path_failures_total` and the self-metrics about the kernel side (map pressure, dropped
/// and truncated events, async probes). Remembers only what each raw key's labels are.
public final class FailureMetrics: Collector {
    struct State {
        var rewriter: PathRewriter
        var syscallLabels: OptInLabels
        var pathLabels: OptInLabels
        let cgroups = CgroupNames()
        var syscallSeries: SeriesIndex
        var pathSeries: SeriesIndex
    }

    private let kernel: any KernelAccess
    private let state: Mutex<State>
    private let syscalls: SyscallNames
    /// The latest captures of failures, oldest first (exemplars in OpenMetrics).
    private let exemplars: (@Sendable () -> [FailureExemplar])?

    /// `countingSince`: a time (seconds since the epoch) before the kernel's counting began, the
    /// created time of the series a first scrape finds.
    public init(
        kernel: any KernelAccess, config: Config, rewriter: PathRewriter, countingSince: Double, syscalls: SyscallNames = SyscallNames(),
        exemplars: (@Sendable () -> [FailureExemplar])? = nil
    ) {
        self.kernel = kernel
        state = Mutex(State(
            rewriter: rewriter, syscallLabels: config.syscalls.extraLabels, pathLabels: config.paths.extraLabels,
            syscallSeries: SeriesIndex(countingSince: countingSince), pathSeries: SeriesIndex(countingSince: countingSince)))
        self.syscalls = syscalls
        self.exemplars = exemplars
    }

    /// Takes a reloaded config's labels and rewrite rules (the kernel's settings are applied apart).
    public func reconfigure(_ config: Config, rewriter: PathRewriter) {
        state.withLock { state in
            state.rewriter = rewriter
            state.syscallLabels = config.syscalls.extraLabels
            state.pathLabels = config.paths.extraLabels
            state.syscallSeries.reset()
            state.pathSeries.reset()
        }
    }

    public func collect() throws -> [MetricFamily] {
        let readAt = Date().timeIntervalSince1970
        let counters = try kernel.readCounters()
        let (failures, paths) = state.withLock { state in
            state.cgroups.beginScrape()
            return (
                failureFamily(counters.syscallFailures, readAt: readAt, state: &state),
                pathFamily(counters.pathFailures, readAt: readAt, state: &state)
            )
        }
        return [failures, paths] + Self.kernelHealth(counters) + [Self.featureFamily(kernel.features)]
    }

    func failureFamily(_ failures: [SyscallFailure], readAt: Double, state: inout State) -> MetricFamily {
        let shown = state.syscallLabels, cgroups = state.cgroups
        let samples = state.syscallSeries.samples(failures, readAt: readAt, key: \.rawKey, count: \.count) { failure in
            [Label("syscall", syscalls.name(failure.syscallNumber)), Label("errno", ErrnoNames.name(failure.errno)),
             Label("comm", failure.comm.map { LabelValue.encode($0) } ?? LabelValue.other)]
                + Self.optInLabels(pid: failure.pid, cgroupID: failure.cgroupID, shown, cgroups)
        }
        return MetricFamily(
            name: "errno_syscall_failures_total",
            help: "Syscalls that returned an error, by syscall, errno and the calling task's comm (and pid, cgroup when enabled).",
            type: .counter, samples: samples, samplesInOrder: true)
    }

    func pathFamily(_ failures: [PathFailure], readAt: Double, state: inout State) -> MetricFamily {
        let shown = state.pathLabels, cgroups = state.cgroups, rewriter = state.rewriter
        let samples = state.pathSeries.samples(failures, readAt: readAt, key: \.rawKey, count: \.count) { entry in
            let failure = entry.failure
            return [
                Label("syscall", syscalls.name(failure.syscallNumber)),
                Label("path", entry.path.map { rewriter.rewrite(PathLabel.value($0)) } ?? LabelValue.other),
                Label("errno", ErrnoNames.name(failure.errno)), Label("comm", failure.comm.map { LabelValue.encode($0) } ?? LabelValue.other),
            ] + Self.optInLabels(pid: failure.pid, cgroupID: failure.cgroupID, shown, cgroups)
        }
        return MetricFamily(
            name: "errno_path_failures_total",
            help: "Failed path syscalls (paths.syscalls; the open family by default), by syscall, path as passed, errno and comm (and pid, cgroup when enabled).",
            type: .counter, samples: withExemplars(samples, rewriter: rewriter), samplesInOrder: true)
    }

    /// The opt-in labels of a key, when the counter shows them. A key recorded while a label was off
    /// has 0 there and keeps the series it had: turning a label on or off never resets a counter.
    static func optInLabels(pid: UInt32, cgroupID: UInt64, _ shown: OptInLabels, _ cgroups: CgroupNames) -> [Label] {
        var labels: [Label] = []
        if shown.pid, pid != 0 { labels.append(Label("pid", String(pid))) }
        if shown.cgroup, cgroupID != 0 { labels.append(Label("cgroup", cgroups.name(cgroupID))) }
        return labels
    }

    /// The latest failed capture of each (syscall, path, errno, comm) becomes the exemplar of its
    /// series: `# {capture_id="12"} 1 <time>` in OpenMetrics, one click from a graph to the stack.
    func withExemplars(_ samples: [Sample], rewriter: PathRewriter) -> [Sample] {
        guard let exemplars else { return samples }
        // By the rendering of (syscall, path, errno, comm), with which pathFamily's labels start
        // (opt-in labels follow): matched without reading any sample's labels back.
        var latest: [ArraySlice<UInt8>: Exemplar] = [:]
        for capture in exemplars() {  // oldest first: the newest wins
            let labels = [
                Label("syscall", capture.syscall), Label("path", rewriter.rewrite(capture.path)), Label("errno", capture.errno), Label("comm", capture.comm),
            ]
            latest[RenderedLabels(labels).leading(labels.count)] = capture.exemplar
        }
        guard !latest.isEmpty else { return samples }
        return samples.map { sample in
            var sample = sample
            sample.exemplar = latest[(sample.renderedLabels ?? RenderedLabels(sample.labels)).leading(4)]
            return sample
        }
    }
}
