import BPFKit
import CErrnoBPF
import CLibBPF
import Glibc
import Logging
import Testing

@testable import ErrnoKernel

/// Real maps in the real kernel (root required): values written from user space into a loaded
/// but unattached program's per-CPU hash, read back by both strategies.
@Suite struct CounterMapReaderTests {
    static func key(_ index: Int) -> syscall_failure_key {
        var key = syscall_failure_key()
        key.syscall_nr = UInt32(index % 500)
        key.err = UInt32(index / 500 + 1)
        withUnsafeMutableBytes(of: &key.comm) { comm in
            for (offset, byte) in "t\(index)".utf8.enumerated() { comm[offset] = byte }
        }
        return key
    }

    @Test func batchAndIterationAgreeAndSumEveryCPU() throws {
        try #require(geteuid() == 0, "this test loads BPF maps into the kernel: run the suite as root")
        var options = KernelOptions()
        options.syscallSeries = 6000  // more than one 4096-entry batch
        let program = try ErrnoProgram(options: options, logger: Logger(label: "test"))
        try program.load()
        let map = program.failures.map
        let cpus = PossibleCPUs.count
        let entries = 5000
        for index in 0..<entries {
            var key = Self.key(index)
            // A per-CPU update from user space writes every CPU's slot: CPU c gets index + c.
            var values = (0..<cpus).map { UInt64(index + $0) }
            let result = bpf_map_update_elem(map.fileDescriptor, &key, &values, UInt64(BPF_ANY))
            try #require(result == 0, "update failed: errno \(errno)")
        }
        let expected = Dictionary(uniqueKeysWithValues: (0..<entries).map { index in
            (withUnsafeBytes(of: Self.key(index)) { Array($0) }, UInt64(index * cpus + cpus * (cpus - 1) / 2))
        })
        for strategy in [CounterMapReader.Strategy.batch, .iterate] {
            let reader = try CounterMapReader(map: map, strategy: strategy)
            let read = try reader.readAll()
            #expect(reader.strategy == strategy, "the kernel refused batch lookups")
            #expect(read.count == entries)
            let sums = Dictionary(read.map { ($0.key, $0.value) }, uniquingKeysWith: { _, _ in UInt64.max })
            #expect(sums == expected, "\(strategy) read wrong sums")
        }
    }

    @Test func emptyMapsReadAsEmpty() throws {
        try #require(geteuid() == 0, "this test loads BPF maps into the kernel: run the suite as root")
        let program = try ErrnoProgram(options: KernelOptions(), logger: Logger(label: "test"))
        try program.load()
        let events = try program.events.readAll()  // arrays always hold max_entries slots
        #expect(events.count == Int(EVENT_COUNTER_COUNT.rawValue))
        #expect(events.allSatisfy { $0.value == 0 })
        let counters = try program.readCounters()
        #expect(counters.syscallFailures.isEmpty)
        #expect(counters.pathFailures.isEmpty)
        #expect(counters.events == EventCounts())
        #expect(counters.maps.map(\.name).prefix(4) == ["syscall_failures", "syscall_overflow", "path_failures", "path_overflow"])
    }
}
