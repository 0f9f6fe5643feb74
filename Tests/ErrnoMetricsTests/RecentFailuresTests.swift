import ErrnoKernel
import KernelFakes
import KernelNames
import Testing

@testable import ErrnoMetrics

/// What fails now: rates between a baseline and the newest read, over at most about a window;
/// counters read only while someone looks; snapshots forgotten when nobody does.
@Suite struct RecentFailuresTests {
    static let second: UInt64 = 1_000_000_000

    static func counters(openat: UInt64, read: UInt64 = 0, path: UInt64 = 0) -> KernelCounters {
        var counters = KernelCounters()
        counters.syscallFailures = [
            SyscallFailure(syscall: 257, errno: 2, comm: "node", pid: 1, count: openat),
            SyscallFailure(syscall: 257, errno: 2, comm: "node", pid: 2, count: openat),  // summed over the pid label
            SyscallFailure(syscall: 0, errno: 9, comm: "x<b>", count: read),
        ]
        counters.pathFailures = [PathFailure(syscall: 257, errno: 2, comm: "node", path: Array("/etc/nodey.conf".utf8), count: path)]
        return counters
    }

    @Test func ratesAreTheDifferenceOverTheWindowFastestFirst() throws {
        let kernel = FakeKernel()
        let recent = RecentFailures(kernel: kernel, syscalls: SyscallNames(.x86_64))
        kernel.setCounters(Self.counters(openat: 10, read: 5, path: 3))
        recent.takeBaseline(now: 100 * Self.second)
        #expect(try recent.report(limit: 10, now: 100 * Self.second).windowSeconds == 0)
        kernel.setCounters(Self.counters(openat: 30, read: 6, path: 13))
        let report = try recent.report(limit: 10, now: 110 * Self.second)
        #expect(report.windowSeconds == 10)
        #expect(report.syscalls == [
            RecentFailures.Row(syscall: "openat", errno: "ENOENT", comm: "node", count: 40, perSecond: 4),
            RecentFailures.Row(syscall: "read", errno: "EBADF", comm: "x<b>", count: 1, perSecond: 0.1),
        ])
        #expect(report.paths == [RecentFailures.Row(syscall: "openat", errno: "ENOENT", comm: "node", path: "/etc/nodey.conf", count: 10, perSecond: 1)])
        #expect(try recent.report(limit: 1, comm: "x<b>", now: 110 * Self.second).syscalls.map(\.comm) == ["x<b>"])
        #expect(try recent.report(limit: 1, now: 110 * Self.second).syscalls.count == 1)
    }

    @Test func countersAreReadAtMostEveryFewSecondsAndTheWindowSlides() throws {
        let kernel = FakeKernel()
        let recent = RecentFailures(kernel: kernel, syscalls: SyscallNames(.x86_64))
        kernel.setCounters(Self.counters(openat: 0))
        recent.takeBaseline(now: 0)
        for second in stride(from: UInt64(5), through: 120, by: 5) {
            kernel.setCounters(Self.counters(openat: second))  // 2 a second in all (two pids)
            _ = try recent.report(limit: 10, now: second * Self.second)
        }
        // Within the minimum interval: no read, the same answer.
        kernel.setCounters(Self.counters(openat: 1000))
        let report = try recent.report(limit: 10, now: 121 * Self.second)
        #expect(report.windowSeconds == 60 && report.syscalls.first?.perSecond == 2, "\(report)")
        #expect(recent.snapshotCount == 13)
        recent.forgetIfIdle(now: 200 * Self.second)
        #expect(recent.snapshotCount == 13)  // looked at 79 s ago: kept
        recent.forgetIfIdle(now: 500 * Self.second)
        #expect(recent.snapshotCount == 1)  // the newest stays: the next look's baseline
    }
}
