import FixtureSupport
import Foundation
import Glibc
import Testing

/// The opt-in pid and cgroup labels: their values, and switching them by reload without any
/// counter going down.
@Suite(.timeLimit(.minutes(5)))
struct OptInLabelTests {
    static let failures = "errno_syscall_failures_total"
    static let paths = "errno_path_failures_total"

    @Test func pidAndCgroupLabelsNameTheProcessAndItsCgroup() async throws {
        try requireRoot()
        let cgroup = try TestCgroup()
        let comm = uniqueComm("el_")
        let config = """
            syscalls:
              labels: [syscall, errno, comm, pid, cgroup]
            paths:
              labels: [syscall, path, errno, comm, pid]
            filters:
              comms: [\(comm)]
            """
        let agent = try AgentProcess(config: config)
        let load = try WaitingLoad(comm: comm, badRead: 6, paths: [PathPlan("openat", 2, "/nonexistent/errno-labels")])
        try cgroup.adopt(load.pid)
        try load.release()
        let scrape = try await agent.scrape()
        #expect(scrape.value(Self.failures, [
            "syscall": "read", "errno": "EBADF", "comm": comm, "pid": "\(load.pid)", "cgroup": "\(cgroup.path)/inner",
        ]) == 6)
        #expect(scrape.value(Self.paths, [
            "syscall": "openat", "path": "/nonexistent/errno-labels", "errno": "ENOENT", "comm": comm, "pid": "\(load.pid)",
        ]) == 2, "the path counter has its own label set: pid, no cgroup")
        let check = try shell("promtool check metrics", input: scrape.text)
        #expect(check.status == 0, "promtool: \(check.output)")
        #expect(try agent.stop() == 0)
    }

    @Test func switchingThePidLabelByReloadNeverLowersACounter() async throws {
        try requireRoot()
        let comm = uniqueComm("el_rl_")
        let filter = "filters:\n  comms: [\(comm)]\n"
        let agent = try AgentProcess(config: filter, arguments: ["--web.enable-lifecycle"])
        let base = ["syscall": "read", "errno": "EBADF", "comm": comm]
        try runLoad(comm: comm, badRead: 3)

        try ("syscalls:\n  labels: [syscall, errno, comm, pid]\n" + filter).write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        let load = try WaitingLoad(comm: comm, badRead: 4)
        try load.release()
        let on = try await agent.scrape()
        #expect(on.value(Self.failures, base) == 3, "counted before the label was on: its series goes on unchanged")
        #expect(on.value(Self.failures, base.merging(["pid": "\(load.pid)"]) { $1 }) == 4)

        try filter.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        let off = try await agent.scrape()
        #expect(off.value(Self.failures, base) == 7, "with the label off again, everything sums into the label-less series")
        #expect(off.matching(Self.failures, ["comm": comm]).count == 1)
        #expect(try agent.stop() == 0)
    }

    /// A failing path syscall updates its path series only, which the syscall counter reads too,
    /// when the path labels include the syscall counter's; otherwise both counters. Switching the
    /// labels by reload either way keeps both counters exact, and none goes down.
    @Test func aPathSyscallCountsExactlyOnceInTheSyscallCounterWhateverTheLabels() async throws {
        try requireRoot()
        let comm = uniqueComm("el_sp_")
        let filter = "filters:\n  comms: [\(comm)]\n"
        let path = "/nonexistent/errno-labels-derived"
        let agent = try AgentProcess(config: filter, arguments: ["--web.enable-lifecycle"])
        let base = ["syscall": "openat", "errno": "ENOENT", "comm": comm], pathBase = base.merging(["path": path]) { $1 }
        func reload(_ config: String) async throws {
            try (config + filter).write(toFile: agent.configPath, atomically: true, encoding: .utf8)
            #expect(try await agent.send("POST", "/-/reload").status == 200)
        }
        func opens(_ count: Int) throws -> Int32 {
            let load = try WaitingLoad(comm: comm, paths: [PathPlan("openat", count, path)])
            try load.release()
            return load.pid
        }

        try _ = opens(3)  // default labels: the path series counts for the syscall counter
        let first = try await agent.scrape()
        #expect(first.value(Self.failures, base) == 3)
        #expect(first.value(Self.paths, pathBase) == 3)

        try await reload("syscalls:\n  labels: [syscall, errno, comm, pid]\n")  // the path series lacks pid: both count
        let second = try opens(4)
        let withPid = try await agent.scrape()
        #expect(withPid.value(Self.failures, base) == 3, "counted before the label was on: its series goes on unchanged")
        #expect(withPid.value(Self.failures, base.merging(["pid": "\(second)"]) { $1 }) == 4)
        #expect(withPid.value(Self.paths, pathBase) == 7)

        try await reload("syscalls:\n  labels: [syscall, errno, comm, pid]\npaths:\n  labels: [syscall, path, errno, comm, pid]\n")
        let third = try opens(2)  // the path series has the pid: it counts for the syscall counter again
        let both = try await agent.scrape()
        #expect(both.value(Self.failures, base) == 3)
        #expect(both.value(Self.failures, base.merging(["pid": "\(second)"]) { $1 }) == 4)
        #expect(both.value(Self.failures, base.merging(["pid": "\(third)"]) { $1 }) == 2)
        #expect(both.value(Self.paths, pathBase) == 7)
        #expect(both.value(Self.paths, pathBase.merging(["pid": "\(third)"]) { $1 }) == 2)

        try await reload("")
        let off = try await agent.scrape()
        #expect(off.value(Self.failures, base) == 9, "with the labels off again, everything sums into the label-less series")
        #expect(off.matching(Self.failures, ["comm": comm]).count == 1)
        #expect(off.value(Self.paths, pathBase) == 9)
        #expect(try agent.stop() == 0)
    }
}
