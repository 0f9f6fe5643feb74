import BPFKit
import CErrnoBPF
import Foundation
import KernelNames
import Testing

@testable import ErrnoKernel

/// Kernel records decoded: counter keys and capture records, including malformed ones.
@Suite struct RecordTests {
    @Test func aCounterKeyDecodesToItsLabelsWithTheCommUpToItsNUL() {
        var key = syscall_failure_key()
        key.syscall_nr = 257
        key.err = 2
        withUnsafeMutableBytes(of: &key.comm) { $0.copyBytes(from: Array("node\0\0garbage".utf8)) }
        key.tgid = 42
        let failure = SyscallFailure(.init(key: withUnsafeBytes(of: key) { Array($0) }, value: 7), overflow: false)
        #expect(failure.syscallNumber == 257)
        #expect(failure.errno == 2)
        #expect(failure.comm == Array("node".utf8))
        #expect(failure.pid == 42)
        #expect(failure.count == 7)
        let overflow = SyscallFailure(.init(key: withUnsafeBytes(of: syscall_overflow_key(syscall_nr: 2, err: 13)) { Array($0) }, value: 1), overflow: true)
        #expect(overflow.comm == nil)
        #expect(overflow.syscallNumber == 2 && overflow.errno == 13)
    }

    @Test func aPathKeyDecodesItsPathAndFlags() {
        let failure = PathFailure(syscall: 257, errno: 2, comm: "cat", path: Array("/etc/nodey.conf".utf8), count: 3)
        #expect(failure.path == .bytes(Array("/etc/nodey.conf".utf8), truncated: false))
        #expect(failure.failure.comm == Array("cat".utf8))
        let truncated = PathFailure(syscall: 257, errno: 2, comm: "cat", path: [UInt8](repeating: 0x61, count: 400), truncated: true, count: 1)
        #expect(truncated.path == .bytes([UInt8](repeating: 0x61, count: 255), truncated: true))
        #expect(PathReading(flags: PATH_NULL.rawValue, buffer: [UInt8]()) == .null)
        #expect(PathReading(flags: PATH_UNREADABLE.rawValue, buffer: [UInt8]()) == .unreadable)
    }

    /// A path series that also counts its syscall's failures stands for the syscall series with
    /// the labels the syscall counter showed as it counted: pid kept with PATH_SYSCALL_PID, cgroup
    /// dropped without PATH_SYSCALL_CGROUP; the path reads the same whatever those flags say.
    @Test func aPathSeriesCountingItsSyscallGivesTheSyscallCountersKey() throws {
        func series(flags: UInt32) -> PathFailure {
            var key = path_failure_key()
            key.failure.syscall_nr = 257
            key.failure.err = 2
            key.failure.comm_words = KernelSettings.commWords("node")
            key.failure.tgid = 4242
            key.failure.cgroup_id = 77
            key.flags = flags
            return PathFailure(PathSeries(key: withUnsafeBytes(of: key) { Array($0) }, path: Array("/etc/nodey.conf".utf8)), count: 5)
        }
        #expect(series(flags: 0).syscallFailure == nil)
        let counted = series(flags: PATH_COUNTS_SYSCALL.rawValue | PATH_SYSCALL_PID.rawValue | PATH_TRUNCATED.rawValue)
        let syscall = try #require(counted.syscallFailure)
        #expect(syscall.syscallNumber == 257 && syscall.errno == 2 && syscall.comm == Array("node".utf8))
        #expect(syscall.pid == 4242 && syscall.cgroupID == 0 && syscall.count == 5)
        #expect(series(flags: PATH_COUNTS_SYSCALL.rawValue | PATH_SYSCALL_CGROUP.rawValue).syscallFailure?.cgroupID == 77)
        #expect(series(flags: PATH_COUNTS_SYSCALL.rawValue).syscallFailure?.pid == 0)
        #expect(counted.path == .bytes(Array("/etc/nodey.conf".utf8), truncated: true))
        #expect(counted.rawKey != series(flags: PATH_TRUNCATED.rawValue).rawKey, "a separate kernel entry, summed into one series by labels")
        let shares = ErrnoProgram.syscallShares(of: [counted, series(flags: 0), counted])
        #expect(shares.count == 1 && shares.first?.count == 10 && shares.first?.pid == 4242, "one entry per syscall counter key")
    }

    /// The syscall counter's keys (key → slot) joined with the per-slot counts; a slot past the
    /// counts read (handed out meanwhile) gives no series until the next read, never a wrong count.
    @Test func syscallKeysTakeTheCountsOfTheirSlots() {
        func key(_ comm: String) -> [UInt8] { SyscallFailure(syscall: 0, errno: 9, comm: comm, count: 0).rawKey }
        func slot(_ index: UInt32, _ count: UInt64) -> CounterEntry { CounterEntry(key: withUnsafeBytes(of: index) { Array($0) }, value: count) }
        let failures = ErrnoProgram.syscallFailures(
            slots: [CounterEntry(key: key("a"), value: 2), CounterEntry(key: key("b"), value: 0), CounterEntry(key: key("c"), value: 7)],
            counts: [slot(0, 5), slot(1, 0), slot(2, 11), slot(3, 4)])
        #expect(failures.map(\.comm) == [Array("a".utf8), Array("b".utf8)])
        #expect(failures.map(\.count) == [11, 5])
    }

    static func record(stackBytes: UInt32, appended: Int, configure: (inout capture_event) -> Void = { _ in }) -> [UInt8] {
        var event = capture_event()
        event.kind = CAPTURE_SYSCALL.rawValue
        event.tgid = 100
        event.tid = 101
        event.syscall_nr = 257
        event.result = -2
        event.stacks = TRIGGER_USER_STACK.rawValue | TRIGGER_KERNEL_STACK.rawValue
        event.user_stack_bytes = stackBytes
        event.kernel_stack_bytes = 16
        withUnsafeMutableBytes(of: &event.comm) { $0.copyBytes(from: Array("node".utf8)) }
        withUnsafeMutableBytes(of: &event.path) { $0.copyBytes(from: Array("/etc/nodey.conf".utf8)) }
        configure(&event)
        return withUnsafeBytes(of: event) { Array($0) } + [UInt8](repeating: 0xAB, count: appended)
    }

    @Test func aCaptureRecordDecodesWhatItHolds() throws {
        let bytes = Self.record(stackBytes: 64, appended: 64) { event in
            event.mapping_count = 1
            event.mappings.0.start = 0x1000
            event.mappings.0.end = 0x2000
            withUnsafeMutableBytes(of: &event.mappings.0.reversed_path) { $0.copyBytes(from: Array("libc.so.6/lib/usr/".utf8)) }
        }
        let record = try #require(bytes.withUnsafeBytes { CaptureRecord($0, clockOffset: 0) })
        #expect(record.kind == .syscall)
        #expect(record.pid == 100 && record.tid == 101)
        #expect(record.comm == Array("node".utf8))
        #expect(record.path == .bytes(Array("/etc/nodey.conf".utf8), truncated: false))
        #expect(record.userStack == [UInt8](repeating: 0xAB, count: 64))
        #expect(record.kernelStack.count == 2)
        #expect(record.mappings?.map(\.name) == ["/usr/lib/libc.so.6"])
        #expect(!record.mappingsTruncated)
    }

    @Test func aRecordClaimingMoreThanItHoldsIsRefused() {
        let short = Self.record(stackBytes: 4096, appended: 100)
        #expect(short.withUnsafeBytes { CaptureRecord($0, clockOffset: 0) } == nil)
        let hugeKernelStack = Self.record(stackBytes: 0, appended: 0) { $0.kernel_stack_bytes = .max }
        #expect(hugeKernelStack.withUnsafeBytes { CaptureRecord($0, clockOffset: 0) } == nil)
        let truncatedHeader = Array(Self.record(stackBytes: 0, appended: 0).prefix(100))
        #expect(truncatedHeader.withUnsafeBytes { CaptureRecord($0, clockOffset: 0) } == nil)
    }
}
