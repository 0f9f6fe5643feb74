import ErrnoKernel
import Exposition

extension FailureMetrics {
    /// `errno_exporter_kernel_feature{feature}`: 1 when the running kernel offers it.
    static func featureFamily(_ features: KernelFeatures) -> MetricFamily {
        MetricFamily(
            name: "errno_exporter_kernel_feature",
            help: "Kernel capabilities the agent uses, 1 when this kernel offers them (README: Kernels says what each brings and what happens without it).",
            type: .gauge,
            samples: KernelFeatures.Feature.allCases.map { Sample(labels: [Label("feature", $0.rawValue)], value: features.has($0) ? 1 : 0) })
    }

    /// The kernel side's self-metrics: what was dropped, folded, truncated or unreadable, map
    /// pressure, and the async-stack uprobes' state.
    static func kernelHealth(_ counters: KernelCounters) -> [MetricFamily] {
        let events = counters.events
        let rateLimited = counters.triggers.values.reduce(0) { $0 + $1.rateLimited }
        let drops: [(String, UInt64)] = [
            ("map_full", events.mapFull), ("overflow_full", events.overflowFull), ("path_map_full", events.pathMapFull),
            ("path_overflow_full", events.pathOverflowFull), ("path_collision", events.pathCollision), ("path_unnamed", events.pathUnnamed),
            ("async_requests_full", events.asyncRequestsFull),
            ("program_recursion", counters.programRecursionMisses), ("rate_limited", rateLimited), ("ring_buffer_full", events.ringBufferFull),
        ]
        return [
            MetricFamily(
                name: "errno_exporter_dropped_events_total",
                help: "Events that did not get their own series, were not counted or not captured, by reason (map_full, path_map_full, path_collision: folded into \"<other>\"; overflow_full, path_overflow_full, path_unnamed, program_recursion: not counted; rate_limited, ring_buffer_full: trigger matches not captured).",
                type: .counter, samples: drops.map { Sample(labels: [Label("reason", $0.0)], value: Double($0.1)) }),
            MetricFamily(
                name: "errno_exporter_path_series_folded_total",
                help: "Distinct (syscall, path, errno, comm) series folded into path=\"<other>\" because the path map was full (each counted once while among the last \(KernelLimits.foldedPathMemory) folded).",
                type: .counter, samples: [Sample(value: Double(events.pathSeriesFolded))]),
            MetricFamily(
                name: "errno_exporter_path_truncations_total",
                help: "Failed path syscalls whose path was longer than the kernel buffer: counted with the first \(KernelLimits.pathBytes) bytes and a \\<truncated> suffix.",
                type: .counter, samples: [Sample(value: Double(events.pathTruncated))]),
            MetricFamily(
                name: "errno_exporter_path_faults_total",
                help: "Failed path syscalls whose path pointer could not be read: counted as path=\"<unreadable>\".",
                type: .counter, samples: [Sample(value: Double(events.pathUnreadable))]),
            MetricFamily(
                name: "errno_exporter_bpf_map_entries", help: "Entries in each BPF hash map.", type: .gauge,
                samples: counters.maps.map { Sample(labels: [Label("map", $0.name)], value: Double($0.entries)) }),
            MetricFamily(
                name: "errno_exporter_bpf_map_max_entries", help: "Capacity of each BPF hash map.", type: .gauge,
                samples: counters.maps.map { Sample(labels: [Label("map", $0.name)], value: Double($0.maxEntries)) }),
            MetricFamily(
                name: "errno_exporter_async_uprobes", help: "Uprobes attached to libuv binaries for async_stacks triggers (0 when no trigger has async_stacks).",
                type: .gauge, samples: [Sample(value: Double(counters.asyncProbes.uprobes))]),
            MetricFamily(
                name: "errno_exporter_async_requests_expired_total",
                help: "Async fs requests on trigger paths whose submission was captured but that no pool thread started within \(AsyncProbeStats.requestExpirySeconds) s (cancelled): swept.",
                type: .counter, samples: [Sample(value: Double(counters.asyncProbes.expiredRequests))]),
            MetricFamily(
                name: "errno_exporter_async_binaries_skipped_total",
                help: "libuv binaries async_stacks could not probe, by reason (symbols_missing, attach_failed): their captures carry no submitting stack.",
                type: .counter,
                samples: ["attach_failed", "symbols_missing"].map { Sample(labels: [Label("reason", $0)], value: Double(counters.asyncProbes.skipped[$0] ?? 0)) }),
        ]
    }
}
