import FixtureSupport
import Foundation
import Glibc
import Testing

/// Hot reload: filters change in the running program, counters keep their values, a broken config
/// leaves the old one in force, and nothing is lost while reloading under load.
@Suite(.timeLimit(.minutes(5)))
struct ReloadTests {
    static let failures = "errno_syscall_failures_total"

    func reload(_ agent: AgentProcess, config: String) async throws -> (status: Int, body: String) {
        try config.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        let answer = try await agent.send("POST", "/-/reload")
        return (answer.status, answer.body)
    }

    @Test func filtersChangeWithoutDetachingAndCountersKeepTheirValues() async throws {
        try requireRoot()
        let agent = try AgentProcess(arguments: ["--web.enable-lifecycle"])
        let kept = uniqueComm("er_kept_"), dropped = uniqueComm("er_drop_")
        try runLoad(comm: kept, badRead: 5)
        try runLoad(comm: dropped, badRead: 5)
        let held = try bpfObjectIDs(heldBy: agent.process.processIdentifier)

        let answer = try await reload(agent, config: "filters:\n  exclude_comms: [\(dropped)]\n")
        #expect(answer.status == 200, "\(answer.body)")
        try runLoad(comm: kept, badRead: 7)
        try runLoad(comm: dropped, badRead: 7)
        let scrape = try await agent.scrape()
        #expect(scrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": kept]) == 12)
        #expect(scrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": dropped]) == 5, "filtered after the reload")
        #expect(scrape.value("errno_exporter_config_last_reload_successful") == 1)
        #expect(try bpfObjectIDs(heldBy: agent.process.processIdentifier) == held, "the reload must not reload or reattach programs")
        #expect(try agent.stop() == 0)
    }

    @Test func aBrokenReloadKeepsTheRunningConfigAndSaysWhy() async throws {
        try requireRoot()
        let dropped = uniqueComm("er_bad_")
        let agent = try AgentProcess(config: "filters:\n  exclude_comms: [\(dropped)]\n", arguments: ["--web.enable-lifecycle"])
        let before = try await agent.scrape()
        let answer = try await reload(agent, config: "filters:\n  exclude_comms: [\(dropped)]\n  colour: red\n")
        #expect(answer.status == 500)
        #expect(answer.body.contains("\(agent.configPath):3:3: filters.colour: unknown key"), "\(answer.body)")
        try runLoad(comm: dropped, badRead: 4)
        let failed = try await agent.scrape()
        #expect(failed.value("errno_exporter_config_last_reload_successful") == 0)
        #expect(failed.matching(Self.failures, ["comm": dropped]).isEmpty, "the old filter stays in force")
        #expect(agent.stderr.text.contains("config reload failed; the previous config stays in force"))

        let sizes = try await reload(agent, config: "syscalls:\n  max_series: 99\n")
        #expect(sizes.status == 500)
        #expect(sizes.body.contains("syscalls.max_series (10240 → 99) can only change at a restart"), "\(sizes.body)")

        let fixed = try await reload(agent, config: "")
        #expect(fixed.status == 200)
        try runLoad(comm: dropped, badRead: 4)
        let after = try await agent.scrape()
        #expect(after.value("errno_exporter_config_last_reload_successful") == 1)
        #expect((after.value("errno_exporter_config_last_reload_success_timestamp_seconds") ?? 0)
            > (before.value("errno_exporter_config_last_reload_success_timestamp_seconds") ?? .infinity))
        #expect(after.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": dropped]) == 4)
        #expect(try agent.stop() == 0)
    }

    @Test func sighupReloadsAndTheHTTPLifecycleIsOffByDefault() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let refused = try await reload(agent, config: "")
        #expect(refused.status == 403)
        let dropped = uniqueComm("er_hup_")
        try "filters:\n  exclude_comms: [\(dropped)]\n".write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        kill(agent.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !agent.stderr.text.contains("msg=\"config reloaded\"") { usleep(20_000) }
        try runLoad(comm: dropped, badRead: 3)
        let scrape = try await agent.scrape()
        #expect(scrape.matching(Self.failures, ["comm": dropped]).isEmpty)
        #expect(scrape.value("errno_exporter_config_last_reload_successful") == 1)
        #expect(try agent.stop() == 0)
    }

    /// Helpers fail syscalls without pause while the config is reloaded 50 times, every other
    /// config broken: every failure is counted exactly once, and the last valid config wins.
    @Test func reloadingUnderLoadLosesNothing() async throws {
        try requireRoot()
        let comms = (0..<3).map { uniqueComm("er_load\($0)_") }
        let only = "  comms: [\(comms.joined(separator: ", "))]\n"
        let agent = try AgentProcess(config: "filters:\n" + only, arguments: ["--web.enable-lifecycle"])
        let runs = 12, perRun = 2000
        var lastValid = -1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for comm in comms {
                group.addTask {
                    for _ in 0..<runs { try runLoad(comm: comm, badRead: perRun, paths: [PathPlan("openat", 1, "/nonexistent/errno-reload")]) }
                }
            }
            for index in 0..<50 {
                let valid = index % 2 == 0
                let config = valid
                    ? "paths:\n  rewrite:\n    - regex: 'errno-reload$'\n      replacement: 'errno-reload-\(index)'\nfilters:\n" + only
                    : "paths:\n  rewrite:\n    - regex: '(broken'\n      replacement: x\n"
                let answer = try await reload(agent, config: config)
                #expect(answer.status == (valid ? 200 : 500), "reload \(index): \(answer.body)")
                if valid { lastValid = index }
            }
            try await group.waitForAll()
        }
        let scrape = try await agent.scrape()
        for comm in comms {
            #expect(scrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": comm]) == Double(runs * perRun))
            let opens = scrape.matching("errno_path_failures_total", ["comm": comm]).reduce(0) { $0 + $1.value }
            #expect(opens == Double(runs), "every failed open counted once, whatever label the rewrite gave it")
        }
        try runLoad(comm: comms[0], paths: [PathPlan("openat", 1, "/nonexistent/errno-reload")])
        let final = try await agent.scrape()
        #expect(final.value("errno_path_failures_total", [
            "syscall": "openat", "path": "/nonexistent/errno-reload-\(lastValid)", "errno": "ENOENT", "comm": comms[0],
        ]) != nil, "the last valid config (\(lastValid)) is the one in force")
        #expect(final.value("errno_exporter_config_last_reload_successful") == 0, "the last attempt was broken")
        #expect(try agent.stop() == 0)
    }
}

/// Least privilege and shutdown.
@Suite(.timeLimit(.minutes(5)))
struct PrivilegeAndShutdownTests {
    /// The capability sets of every thread of `pid` (capabilities are per thread), as masks.
    func capabilities(of pid: Int32) throws -> [[String: UInt64]] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { thread in
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)
            var sets: [String: UInt64] = [:]
            for line in status.split(separator: "\n") where line.hasPrefix("Cap") {
                let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
                sets[parts[0]] = UInt64(parts[1], radix: 16)
            }
            return sets
        }
    }

    @Test func afterAttachOnlyTheNeededCapabilitiesAreLeftAndEverythingStillWorks() async throws {
        try requireRoot()
        let comm = uniqueComm("ep_caps_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n", arguments: ["--web.enable-lifecycle"])
        // CAP_BPF (39) for map access; CAP_SYS_PTRACE (19) and CAP_DAC_READ_SEARCH (2) to read a
        // captured process's memory map and files.
        let capBPF: UInt64 = 1 << 39 | 1 << 19 | 1 << 2
        let threads = try capabilities(of: agent.process.processIdentifier)
        #expect(threads.count > 1, "the agent runs several threads; every one must have dropped")
        for sets in threads {
            #expect(sets["CapEff"] == capBPF)
            #expect(sets["CapPrm"] == capBPF)
            #expect(sets["CapBnd"] == capBPF)
            #expect(sets["CapInh"] == 0)
            #expect(sets["CapAmb"] == 0)
        }
        try runLoad(comm: comm, badRead: 9, paths: [PathPlan("openat", 2, "/nonexistent/errno-caps")])
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_syscall_failures_total", ["syscall": "read", "errno": "EBADF", "comm": comm]) == 9)
        #expect(scrape.value("errno_path_failures_total", ["syscall": "openat", "path": "/nonexistent/errno-caps", "errno": "ENOENT", "comm": comm]) == 2)
        // A reload that writes the filter maps still works without the dropped capabilities.
        try "filters:\n  exclude_comms: [\(comm)]\n".write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        try runLoad(comm: comm, badRead: 9)
        #expect(try await agent.scrape().value("errno_syscall_failures_total", ["syscall": "read", "errno": "EBADF", "comm": comm]) == 9)
        #expect(try agent.stop() == 0)
    }

    @Test func anUnknownCapabilityIsAClearError() throws {
        try requireRoot()
        let agent = try AgentProcess(arguments: ["--capabilities.keep=CAP_BPF,CAP_TELEPORT"], waitForListening: false)
        let (status, output) = try agent.waitForExit()
        #expect(status == 1)
        #expect(output.contains("--capabilities.keep: unknown capability \\\"CAP_TELEPORT\\\""), "\(output)")
    }

    @Test func sigtermDuringAScrapeFinishesItExitsZeroAndDetaches() async throws {
        try requireRoot()
        let comm = uniqueComm("ep_slow_")
        let agent = try AgentProcess(config: "paths:\n  max_series: 40000\nfilters:\n  comms: [\(comm)]\n")
        try shell("\(Products.load) --comm \(comm) --distinct-paths 20000 /nonexistent/errno-slow/p")
        let held = try bpfObjectIDs(heldBy: agent.process.processIdentifier)
        let earlier = try agent.peersWithRequestsRead()
        let body = NSTemporaryDirectory() + "errno-slow-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: body) }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-o", body, "-w", "%{http_code}", "http://\(agent.address)/metrics"]
        let status = Pipe()
        curl.standardOutput = status
        try curl.run()
        // SIGTERM once the agent has read curl's request (a loaded machine may take long to start curl);
        // building 20,000 series takes far longer than that.
        let deadline = Date().addingTimeInterval(20 * testTimeScale)
        while try agent.peersWithRequestsRead().subtracting(earlier).isEmpty {
            try #require(Date() < deadline && curl.isRunning, "curl's request never reached the agent")
            usleep(2_000)
        }
        kill(agent.process.processIdentifier, SIGTERM)
        curl.waitUntilExit()
        let code = String(decoding: status.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let response = (try? String(contentsOfFile: body, encoding: .utf8)) ?? ""
        #expect(code == "200", "the scrape in flight must complete")
        #expect(response.contains("process_virtual_memory_max_bytes"), "the scrape completed")
        #expect(response.split(separator: "\n").filter { $0.hasPrefix("errno_path_failures_total{") }.count == 20000)
        #expect(try agent.waitForExit().status == 0)
        let detached = Date().addingTimeInterval(5)
        while Date() < detached, held.programs.contains(where: { kernelHas("prog", $0) }) { usleep(50_000) }
        #expect(!held.links.contains { kernelHas("link", $0) })
        #expect(!held.programs.contains { kernelHas("prog", $0) })
    }
}
