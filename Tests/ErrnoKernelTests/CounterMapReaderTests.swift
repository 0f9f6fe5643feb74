import BPFKit
import CErrnoBPF
import CLibBPF
import Glibc
import Logging
import Testing

@testable import ErrnoKernel

/// Real maps in the real kernel (root required): values written from user space into a loaded
/// but unattached program's per-CPU array of syscall counts, read back by both strategies.
@Suite struct CounterMapReaderTests {
    @Test func batchAndIterationAgreeAndSumEveryCPU() throws {
        try #require(geteuid() == 0, "this test loads BPF maps into the kernel: run the suite as root")
        var options = KernelOptions()
        options.syscallSeries = 6000  // more than one 4096-entry batch
        let program = try ErrnoProgram(options: options, logger: Logger(label: "test"))
        try program.load()
        let map = program.syscallCounts.map
        let cpus = PossibleCPUs.count
        let written = 5000
        for index in 0..<written {
            var key = UInt32(index)
            // A per-CPU update from user space writes every CPU's slot: CPU c gets index + c.
            var values = (0..<cpus).map { UInt64(index + $0) }
            let result = bpf_map_update_elem(map.fileDescriptor, &key, &values, UInt64(BPF_ANY))
            try #require(result == 0, "update failed: errno \(errno)")
        }
        func sum(_ index: Int) -> UInt64 { index < written ? UInt64(index * cpus + cpus * (cpus - 1) / 2) : 0 }
        let expected = Dictionary(uniqueKeysWithValues: (0..<options.syscallSeries).map { (withUnsafeBytes(of: UInt32($0)) { Array($0) }, sum($0)) })
        for strategy in [CounterMapReader.Strategy.batch, .iterate] {
            let reader = try CounterMapReader(map: map, strategy: strategy)
            let read = try reader.readAll()
            #expect(reader.strategy == strategy, "the kernel refused batch lookups")
            #expect(read.count == options.syscallSeries, "an array holds all its slots")
            let sums = Dictionary(read.map { ($0.key, $0.value) }, uniquingKeysWith: { _, _ in UInt64.max })
            #expect(sums == expected, "\(strategy) read wrong sums")
            let first = try reader.readAll(limit: 4500)  // across the first batch
            #expect(first.map(\.index) == Array(0..<4500))
            #expect(first.map(\.value) == (0..<4500).map(sum))
            #expect(try reader.readAll(limit: 0).isEmpty)
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
