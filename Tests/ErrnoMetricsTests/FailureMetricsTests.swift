import ErrnoConfig
import ErrnoKernel
import Exposition
import KernelNames
import KernelFakes
import Testing

@testable import ErrnoMetrics

/// The scrape path on a fake kernel: counters → labelled families, exactly.
@Suite struct FailureMetricsTests {
    static func family(_ families: [MetricFamily], _ name: String) throws -> MetricFamily {
        try #require(families.first { $0.name == name }, "no family \(name)")
    }

    static func value(_ family: MetricFamily, _ labels: [String: String]) -> Double? {
        family.samples.first { sample in Dictionary(uniqueKeysWithValues: sample.labels.map { ($0.name, $0.value) }) == labels }?.value
    }

    @Test func failuresBecomeSeriesWithTheirNamesAndOverflowIsOther() throws {
        let kernel = FakeKernel()
        var counters = KernelCounters()
        counters.syscallFailures = [
            SyscallFailure(syscall: 257, errno: 2, comm: "node", count: 5),
            SyscallFailure(syscall: 257, errno: 2, comm: "bad\n<name", count: 1),
        ]
        kernel.setCounters(counters)
        let metrics = FailureMetrics(kernel: kernel, config: Config(), rewriter: try PathRewriter([]), countingSince: 1_700_000_000, syscalls: SyscallNamesForTests.x86)
        let failures = try Self.family(try metrics.collect(), "errno_syscall_failures_total")
        #expect(Self.value(failures, ["syscall": "openat", "errno": "ENOENT", "comm": "node"]) == 5)
        #expect(Self.value(failures, ["syscall": "openat", "errno": "ENOENT", "comm": #"bad\x0a<name"#]) == 1)
        #expect(failures.samples.count == 2)
    }

    @Test func rewritesSumThePathsTheyMerge() throws {
        let kernel = FakeKernel()
        var counters = KernelCounters()
        counters.pathFailures = [
            PathFailure(syscall: 257, errno: 2, comm: "ps", path: Array("/proc/123/status".utf8), count: 2),
            PathFailure(syscall: 257, errno: 2, comm: "ps", path: Array("/proc/456/status".utf8), count: 3),
            PathFailure(syscall: 257, errno: 2, comm: "ps", path: [UInt8](repeating: 0x61, count: 300), truncated: true, count: 1),
        ]
        kernel.setCounters(counters)
        let rewriter = try PathRewriter([Config.RewriteRule(regex: "^/proc/[0-9]+/", replacement: "/proc/<pid>/")])
        let metrics = FailureMetrics(kernel: kernel, config: Config(), rewriter: rewriter, countingSince: 1_700_000_000, syscalls: SyscallNamesForTests.x86)
        let paths = try Self.family(try metrics.collect(), "errno_path_failures_total")
        #expect(Self.value(paths, ["syscall": "openat", "path": "/proc/<pid>/status", "errno": "ENOENT", "comm": "ps"]) == 5)
        let truncated = String(repeating: "a", count: 255) + #"\<truncated>"#
        #expect(Self.value(paths, ["syscall": "openat", "path": truncated, "errno": "ENOENT", "comm": "ps"]) == 1)
    }

    @Test func optInLabelsShowOnlyWhenEnabledAndRecorded() throws {
        let kernel = FakeKernel()
        var counters = KernelCounters()
        counters.syscallFailures = [
            SyscallFailure(syscall: 2, errno: 13, comm: "a", pid: 77, count: 1), SyscallFailure(syscall: 2, errno: 13, comm: "a", count: 4),
        ]
        kernel.setCounters(counters)
        var config = Config()
        config.syscalls.extraLabels.pid = true
        let metrics = FailureMetrics(kernel: kernel, config: config, rewriter: try PathRewriter([]), countingSince: 1_700_000_000, syscalls: SyscallNamesForTests.x86)
        let failures = try Self.family(try metrics.collect(), "errno_syscall_failures_total")
        #expect(Self.value(failures, ["syscall": "open", "errno": "EACCES", "comm": "a", "pid": "77"]) == 1)
        #expect(Self.value(failures, ["syscall": "open", "errno": "EACCES", "comm": "a"]) == 4, "a key counted with the label off keeps its series")
        metrics.reconfigure(Config(), rewriter: try PathRewriter([]))
        let summed = try Self.family(try metrics.collect(), "errno_syscall_failures_total")
        #expect(Self.value(summed, ["syscall": "open", "errno": "EACCES", "comm": "a"]) == 5, "switching the label off sums back, never decreasing")
    }

    @Test func theLatestCaptureIsThePathSeriesExemplar() throws {
        let kernel = FakeKernel()
        var counters = KernelCounters()
        counters.pathFailures = ["/etc/nodey.conf", "/etc/nodey.conf.bak", #"/tmp/"quoted",path="x"#].map {
            PathFailure(syscall: 257, errno: 2, comm: "node", path: Array($0.utf8), count: 1)
        }
        kernel.setCounters(counters)
        let exemplars: @Sendable () -> [FailureExemplar] = {
            [(1, "/etc/nodey.conf"), (2, "/etc/nodey.conf"), (3, #"/tmp/"quoted",path="x"#), (4, "/etc/nodey.conf.old")].map { id, path in
                FailureExemplar(
                    syscall: "openat", path: path, errno: "ENOENT", comm: "node",
                    exemplar: Exemplar(labels: [Label("capture_id", String(id))], value: 1))
            }
        }
        let metrics = FailureMetrics(kernel: kernel, config: Config(), rewriter: try PathRewriter([]), countingSince: 1_700_000_000, syscalls: SyscallNamesForTests.x86, exemplars: exemplars)
        let paths = try Self.family(try metrics.collect(), "errno_path_failures_total")
        let exemplarOf = Dictionary(uniqueKeysWithValues: paths.samples.map { sample in
            (sample.labels.first { $0.name == "path" }?.value ?? "", sample.exemplar?.labels.first?.value)
        })
        #expect(exemplarOf == ["/etc/nodey.conf": "2", "/etc/nodey.conf.bak": nil, #"/tmp/"quoted",path="x"#: "3"])
    }

    @Test func kernelLossesAreCountedByReason() throws {
        let kernel = FakeKernel()
        var counters = KernelCounters()
        counters.events.mapFull = 3
        counters.events.ringBufferFull = 2
        counters.programRecursionMisses = 1
        counters.triggers = ["a": TriggerCounts(rateLimited: 4), "b": TriggerCounts(rateLimited: 5)]
        counters.maps = [MapUsage(name: "syscall_failures", entries: 10, maxEntries: 100)]
        kernel.setCounters(counters)
        let families = try FailureMetrics(kernel: kernel, config: Config(), rewriter: try PathRewriter([]), countingSince: 1_700_000_000).collect()
        let dropped = try Self.family(families, "errno_exporter_dropped_events_total")
        #expect(Self.value(dropped, ["reason": "map_full"]) == 3)
        #expect(Self.value(dropped, ["reason": "ring_buffer_full"]) == 2)
        #expect(Self.value(dropped, ["reason": "program_recursion"]) == 1)
        #expect(Self.value(dropped, ["reason": "rate_limited"]) == 9)
        #expect(Self.value(try Self.family(families, "errno_exporter_bpf_map_max_entries"), ["map": "syscall_failures"]) == 100)
    }
}

/// Syscall names of x86_64, whatever the host.
enum SyscallNamesForTests {
    static let x86 = SyscallNames(.x86_64)
}
