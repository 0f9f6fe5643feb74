import ErrnoKernel
import Exposition
import Stacks
import Synchronization

extension CaptureConsumer: Collector {
    public func collect() throws -> [MetricFamily] {
        let tally = tally.withLock { $0 }
        return [
            MetricFamily(
                name: "errno_exporter_captures_processed_total", help: "Captures read from the ring buffer, unwound, symbolized and stored.",
                type: .counter, samples: [Sample(value: Double(tally.captures))]),
            MetricFamily(
                name: "errno_exporter_captures_resymbolized_total",
                help: "Stored captures named again when a debug file of one of their modules arrived from debuginfod.",
                type: .counter, samples: [Sample(value: Double(tally.resymbolized))]),
            MetricFamily(
                name: "errno_exporter_unresolved_frames_total",
                help: "Captured frames no symbol covers (they keep module and offset, or their bare address), by stack.",
                type: .counter,
                samples: [
                    Sample(labels: [Label("stack", "kernel")], value: Double(tally.unresolvedKernelFrames)),
                    Sample(labels: [Label("stack", "user")], value: Double(tally.unresolvedUserFrames)),
                ]),
            MetricFamily(
                name: "errno_exporter_captures_without_maps_total",
                help: "Captures with no memory map (neither recorded by the kernel nor readable from /proc): their user frames keep bare addresses.",
                type: .counter, samples: [Sample(value: Double(tally.withoutMaps))]),
            MetricFamily(
                name: "errno_exporter_capture_mappings_truncated_total",
                help: "Captures of processes with more executable mappings than a record holds (\(KernelLimits.captureMappings)): frames in the others stay unresolved.",
                type: .counter, samples: [Sample(value: Double(tally.mappingsTruncated))]),
            MetricFamily(
                name: "errno_exporter_capture_records_malformed_total", help: "Ring buffer records too short to be a capture.",
                type: .counter, samples: [Sample(value: Double(tally.malformed))]),
            MetricFamily(
                name: "errno_exporter_unwind_stops_total",
                help: "How user stack unwinding ended: outermost (complete), stack_copy_end (raise captures.user_stack_bytes), no_unwind_info, no_progress, frame_limit.",
                type: .counter,
                samples: [UnwindEnd.outermost, .stackCopyEnd, .noUnwindInfo, .noProgress, .frameLimit].map {
                    Sample(labels: [Label("reason", $0.rawValue)], value: Double(tally.unwindEnds[$0] ?? 0))
                }),
            MetricFamily(
                name: "errno_exporter_async_submissions_total",
                help: "Pool-thread captures of async requests whose submitting stack was (linked) or was not (unlinked) at hand, and submitting stacks dropped unused (expired).",
                type: .counter,
                samples: ["expired", "linked", "unlinked"].map { Sample(labels: [Label("outcome", $0)], value: Double(tally.submissions[$0] ?? 0)) }),
            MetricFamily(
                name: "errno_exporter_named_frames_total",
                help: "User frames (submitting stacks' too) by what named them: symtab, dwarf, perf_map (one name per JIT code object), v8_log (V8's code log: optimized code with its inlined functions and lines).",
                type: .counter,
                samples: [FrameNaming.symbolTable, .dwarf, .perfMap, .v8Log].map {
                    Sample(labels: [Label("named_by", $0.rawValue)], value: Double(tally.namedFrames[$0] ?? 0))
                }),
            MetricFamily(
                name: "errno_exporter_jit_file_lines_refused_total",
                help: "Lines of JIT symbol files (perf_map, v8_log) skipped: too long, malformed, or past a bound on what is kept.",
                type: .counter, samples: Self.byJITFile(tally.jitFiles.refusedLines)),
            MetricFamily(
                name: "errno_exporter_jit_files_truncated_total",
                help: "JIT symbol files (perf_map, v8_log) read up to their bound on bytes and no further: later code in them stays unnamed.",
                type: .counter, samples: Self.byJITFile(tally.jitFiles.truncatedFiles)),
            MetricFamily(
                name: "errno_exporter_unwound_frames_total", help: "User frames unwound, by the method that found them (registers, cfi, frame_pointer).",
                type: .counter,
                samples: [UnwindMethod.registers, .cfi, .framePointer].map {
                    Sample(labels: [Label("method", $0.rawValue)], value: Double(tally.frames[$0] ?? 0))
                }),
        ]
    }

    /// One sample per kind of JIT symbol file, labelled `file`.
    private static func byJITFile(_ counts: [FrameNaming: Int]) -> [Sample] {
        [FrameNaming.perfMap, .v8Log].map { Sample(labels: [Label("file", $0.rawValue)], value: Double(counts[$0] ?? 0)) }
    }
}
