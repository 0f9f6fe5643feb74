import BPFKit
import CErrnoBPF
import Exposition
import Synchronization

/// Reads the BPF maps at scrape time and turns them into `errno_syscall_failures_total` and the
/// self-metrics about the kernel side (map pressure, dropped events).
public final class FailureMetrics: Collector {
    private let program: Mutex<ErrnoProgram>
    private let syscalls: SyscallNames

    public init(program: sending ErrnoProgram, syscalls: SyscallNames = SyscallNames()) {
        self.program = Mutex(program)
        self.syscalls = syscalls
    }

    /// Names the `dropped_events` array's slots (enum drop_reason in bpf/errno_exporter.h).
    static let dropReasons: [(index: Int, label: String)] = [
        (Int(DROP_MAP_FULL.rawValue), "map_full"),
        (Int(DROP_OVERFLOW_FULL.rawValue), "overflow_full"),
    ]

    public func collect() throws -> [MetricFamily] {
        try program.withLock { program in
            let failures = try program.failures.readAll()
            let overflow = try program.overflow.readAll()
            let drops = try program.drops.readAll()
            let misses = try program.counter.recursionMisses()
            return [
                failureFamily(failures: failures, overflow: overflow),
                dropFamily(drops, recursionMisses: misses),
                MetricFamily(
                    name: "errno_exporter_bpf_map_entries", help: "Entries in each BPF hash map.", type: .gauge,
                    samples: [
                        Sample(labels: [Label("map", program.failures.map.name)], value: Double(failures.count)),
                        Sample(labels: [Label("map", program.overflow.map.name)], value: Double(overflow.count)),
                    ]),
                MetricFamily(
                    name: "errno_exporter_bpf_map_max_entries", help: "Capacity of each BPF hash map.", type: .gauge,
                    samples: [
                        Sample(labels: [Label("map", program.failures.map.name)], value: Double(program.failures.map.maxEntries)),
                        Sample(labels: [Label("map", program.overflow.map.name)], value: Double(program.overflow.map.maxEntries)),
                    ]),
            ]
        }
    }

    func failureFamily(failures: [CounterEntry], overflow: [CounterEntry]) -> MetricFamily {
        var series: [[String]: UInt64] = [:]
        for entry in failures {
            let key = entry.key(as: syscall_failure_key.self)
            let comm = withUnsafeBytes(of: key.comm) { LabelValue.encodeCString($0) }
            series[[syscalls.name(key.syscall_nr), ErrnoNames.name(key.err), comm], default: 0] += entry.value
        }
        for entry in overflow {
            let key = entry.key(as: syscall_overflow_key.self)
            series[[syscalls.name(key.syscall_nr), ErrnoNames.name(key.err), LabelValue.other], default: 0] += entry.value
        }
        return MetricFamily(
            name: "errno_syscall_failures_total",
            help: "Syscalls that returned an error, by syscall, errno and the calling task's comm.",
            type: .counter,
            samples: series.map { values, count in
                Sample(labels: [Label("syscall", values[0]), Label("errno", values[1]), Label("comm", values[2])], value: Double(count))
            })
    }

    func dropFamily(_ drops: [CounterEntry], recursionMisses: UInt64) -> MetricFamily {
        var byIndex: [Int: UInt64] = [:]
        for entry in drops {
            byIndex[Int(entry.key(as: UInt32.self))] = entry.value
        }
        return MetricFamily(
            name: "errno_exporter_dropped_events_total",
            help: "Events that did not get their own series or were not counted, by reason (map_full: folded into comm=\"<other>\"; overflow_full, program_recursion: not counted).",
            type: .counter,
            samples: Self.dropReasons.map { Sample(labels: [Label("reason", $0.label)], value: Double(byIndex[$0.index] ?? 0)) }
                + [Sample(labels: [Label("reason", "program_recursion")], value: Double(recursionMisses))])
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
