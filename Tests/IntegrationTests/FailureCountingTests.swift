import FixtureSupport
import Foundation
import Testing

/// The agent against real failing syscalls: counts move by exactly what the helpers did.
@Suite(.timeLimit(.minutes(5)))
struct FailureCountingTests {
    static let failures = "errno_syscall_failures_total"

    @Test func countsExactlyWhatOneHelperDid() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let comm = uniqueComm("ee_one_")
        let before = try await agent.scrape()
        #expect(before.matching(Self.failures, ["comm": comm]).isEmpty)

        try runLoad(comm: comm, openat: 37, badRead: 11)
        let after = try await agent.scrape()
        #expect(after.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": comm]) == 37)
        #expect(after.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": comm]) == 11)

        try runLoad(comm: comm, openat: 5)
        let again = try await agent.scrape()
        #expect(again.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": comm]) == 42)
        #expect(again.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": comm]) == 11)
        #expect(try agent.stop() == 0)
    }

    @Test func countsExactlyWithHelpersInParallel() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let plans = (0..<6).map { index in (comm: uniqueComm("ee_par\(index)_"), openat: 1000 + 137 * index, badRead: 500 + 71 * index) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for plan in plans {
                group.addTask { try runLoad(comm: plan.comm, openat: plan.openat, badRead: plan.badRead) }
            }
            try await group.waitForAll()
        }
        let scrape = try await agent.scrape()
        for plan in plans {
            #expect(scrape.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": plan.comm]) == Double(plan.openat))
            #expect(scrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": plan.comm]) == Double(plan.badRead))
        }
        #expect(try agent.stop() == 0)
    }

    /// max_series: 1 — after one failure the map is full; every later new series folds into
    /// comm="<other>" and is counted as dropped. sched_get_priority_max(-1) is a failure nothing else makes.
    @Test func aFullMapFoldsIntoOtherAndCountsTheDrop() async throws {
        try requireRoot()
        // Only the test's comms count: the fill takes the one slot, every later new series folds. The
        // fill is not a path syscall: a failed open is counted in its path series, not in this map.
        let fill = uniqueComm("ee_fill_"), comm = uniqueComm("ee_full_")
        let agent = try AgentProcess(config: "syscalls:\n  max_series: 1\nfilters:\n  comms: [\(fill), \(comm)]\n")
        try runLoad(comm: fill, badRead: 1)
        let before = try await agent.scrape()
        #expect(before.value("errno_exporter_bpf_map_entries", ["map": "syscall_failures"]) == 1)
        #expect(before.value("errno_exporter_bpf_map_max_entries", ["map": "syscall_failures"]) == 1)

        try runLoad(comm: comm, einval: 250)
        let after = try await agent.scrape()
        let other = ["syscall": "sched_get_priority_max", "errno": "EINVAL", "comm": "<other>"]
        #expect(after.matching(Self.failures, ["comm": comm]).isEmpty)
        #expect((after.value(Self.failures, other) ?? 0) - (before.value(Self.failures, other) ?? 0) == 250)
        let dropped = ["reason": "map_full"]
        let drops = (after.value("errno_exporter_dropped_events_total", dropped) ?? 0) - (before.value("errno_exporter_dropped_events_total", dropped) ?? 0)
        #expect(drops == 250)
        #expect(after.value("errno_exporter_dropped_events_total", ["reason": "overflow_full"]) == 0)
        #expect(after.value("errno_exporter_dropped_events_total", ["reason": "program_recursion"]) == 0)
        #expect(try agent.stop() == 0)
    }

    @Test func scrapesArePromtoolCleanAndSorted() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        try runLoad(comm: uniqueComm("ee_prom_"), openat: 3, badRead: 3)
        let scrape = try await agent.scrape()
        let check = try shell("promtool check metrics", input: scrape.text)
        #expect(check.status == 0 && check.output.isEmpty, "promtool: \(check.output)")

        let series = scrape.samples.filter { $0.name == Self.failures }.map { [$0.labels["syscall"]!, $0.labels["errno"]!, $0.labels["comm"]!] }
        #expect(series == series.sorted { $0.lexicographicallyPrecedes($1) })
        let names = scrape.text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(names == names.sorted())
        for required in [
            "errno_exporter_build_info", "errno_exporter_scrape_duration_seconds", "errno_exporter_dropped_events_total",
            "errno_exporter_bpf_map_entries", "errno_exporter_bpf_map_max_entries", "process_resident_memory_bytes",
            "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds",
        ] {
            #expect(names.contains(Substring(required)), "missing \(required)")
        }
        #expect(try agent.stop() == 0)
    }
}
