import FixtureSupport
import Foundation
import Glibc
import Testing

/// Watches (`--web.enable-investigations`) in the real kernel: exact summaries of what a process,
/// comm or cgroup failed — whatever the config's filters — streamed as NDJSON and SSE within the
/// in-kernel rate, the rest announced; ended by delete or expiry; bounded and guarded; and the lab
/// walked with `top` and `snoop` against a real node.
@Suite(.timeLimit(.minutes(5)))
struct WatchTests {
    static func call(_ agent: AgentProcess, _ method: String, _ path: String, body: String? = nil, user: String? = nil) throws -> (status: Int, body: String) {
        try InvestigationTests.call(agent, method, path, body: body, user: user)
    }

    /// `data` of a JSON answer.
    static func data(_ body: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return try #require(object?["data"] as? [String: Any], "\(body)")
    }

    /// Starts a watch; returns its id.
    static func watch(_ agent: AgentProcess, _ body: String) throws -> String {
        let created = try call(agent, "POST", "/api/v1/watches", body: body)
        try #require(created.status == 201, "\(body) → \(created)")
        return try #require(try data(created.body)["id"] as? String)
    }

    /// `curl -N` on a watch's events, collecting what arrives.
    final class Stream {
        let process = Process()
        let output: OutputCollector

        init(_ agent: AgentProcess, _ id: String, serverSent: Bool = false) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-sN"] + (serverSent ? ["-H", "Accept: text/event-stream"] : []) + ["http://\(agent.address)/api/v1/watches/\(id)/events"]
            let pipe = Pipe()
            process.standardOutput = pipe
            output = OutputCollector(pipe)
            try process.run()
        }

        /// Waits until the agent has subscribed the stream (its first line or event): every failure
        /// from then on reaches it.
        func connected() async throws {
            try await waitFor { output.text.contains("\"subscribed\":") }
            try #require(output.text.contains("\"subscribed\":"), "the stream did not connect: \(output.text)")
        }

        /// The NDJSON lines so far, decoded.
        var lines: [[String: Any]] {
            output.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        /// The failures among them (not heartbeats, drops or the end).
        var failures: [[String: Any]] { lines.filter { $0["syscall"] != nil } }

        func waitFor(timeout: Double = 15, _ done: () -> Bool) async throws {
            let deadline = Date().addingTimeInterval(timeout * testTimeScale)
            while !done(), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// The summary rows as "syscall errno count" and "path syscall errno count".
    static func rows(_ summary: [String: Any]) -> (syscalls: Set<String>, paths: Set<String>) {
        let syscalls = (summary["syscalls"] as? [[String: Any]] ?? []).map { "\($0["syscall"]!) \($0["errno"]!) \($0["count"]!)" }
        let paths = (summary["paths"] as? [[String: Any]] ?? []).map { "\($0["path"]!) \($0["syscall"]!) \($0["errno"]!) \($0["count"]!)" }
        return (Set(syscalls), Set(paths))
    }

    @Test func aWatchCountsExactlyWhatItsProcessFailedEvenWhatTheConfigFiltersOut() async throws {
        try requireRoot()
        let agent = try AgentProcess(config: "filters:\n  comms: [nobody-else]\n", arguments: ["--web.enable-investigations"])
        let comm = uniqueComm("watch")
        let load = try WaitingLoad(comm: comm, openat: 7, badRead: 3, paths: [PathPlan("openat", 4, "/nonexistent/watch-x")])
        let byPid = try Self.watch(agent, #"{"pid": \#(load.pid)}"#)
        let byComm = try Self.watch(agent, #"{"comm": "\#(comm)", "paths_only": true}"#)
        let stream = try Stream(agent, byPid)
        try await stream.connected()
        try runLoad(comm: uniqueComm("other"), openat: 5)  // neither its pid nor its comm
        try load.release()
        try await stream.waitFor { stream.failures.count >= 14 }

        let pid = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(byPid)").body)
        #expect(pid["failures"] as? Int == 14 && pid["streamed"] as? Int == 14, "\(pid)")
        #expect(Self.rows(pid).syscalls == ["openat ENOENT 11", "read EBADF 3"])
        #expect(Self.rows(pid).paths == ["/nonexistent/errno-load openat ENOENT 7", "/nonexistent/watch-x openat ENOENT 4"])
        let byName = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(byComm)").body)
        #expect(byName["failures"] as? Int == 11 && Self.rows(byName).syscalls == ["openat ENOENT 11"], "\(byName)")

        let events = stream.failures
        #expect(events.count == 14, "\(stream.output.text)")
        #expect(events.allSatisfy { $0["pid"] as? Int == Int(load.pid) && $0["comm"] as? String == comm && $0["time"] is String })
        #expect(events.filter { $0["path"] as? String == "/nonexistent/watch-x" && $0["errno"] as? String == "ENOENT" && $0["syscall"] as? String == "openat" }.count == 4)
        #expect(events.filter { $0["syscall"] as? String == "read" && $0["path"] == nil }.count == 3)
        // The config's counters saw none of it (its filter names another comm).
        #expect(try await agent.scrape().matching("errno_syscall_failures_total", ["comm": comm]).isEmpty)
        // Its process has exited: the stream ends saying so; the watch and its summary stay until deleted.
        try await stream.waitFor { stream.lines.last?["end"] as? String == "exited" }
        #expect(stream.lines.last?["end"] as? String == "exited", "\(stream.output.text.suffix(300))")
        let exited = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(byPid)").body)
        #expect(exited["exited"] as? Bool == true && exited["failures"] as? Int == 14)
        #expect(try Self.call(agent, "DELETE", "/api/v1/watches/\(byPid)").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func theStreamKeepsItsRateInTheKernelAndAnnouncesTheRestAsSSEOrNDJSON() async throws {
        try requireRoot()
        let agent = try AgentProcess(arguments: ["--web.enable-investigations"])
        let load = try WaitingLoad(comm: uniqueComm("rate"), badRead: 200)
        let id = try Self.watch(agent, #"{"pid": \#(load.pid), "events_per_second": 5}"#)
        let lines = try Stream(agent, id), events = try Stream(agent, id, serverSent: true)
        try await lines.connected()
        try await events.connected()
        try load.release()
        func accounted(_ lines: [[String: Any]]) -> Int {
            lines.filter { $0["syscall"] != nil }.count + lines.compactMap { $0["reason"] as? String == "rate_limited" ? $0["dropped"] as? Int : nil }.reduce(0, +)
        }
        try await lines.waitFor { accounted(lines.lines) >= 200 }
        let summary = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(id)").body)
        #expect(summary["failures"] as? Int == 200 && Self.rows(summary).syscalls == ["read EBADF 200"], "\(summary)")
        let streamed = lines.lines.filter { $0["syscall"] != nil }.count
        #expect(streamed >= 1 && streamed <= 10 && accounted(lines.lines) == 200, "\(lines.output.text)")
        #expect(summary["streamed"] as? Int == streamed && (summary["not_streamed"] as? [String: Int])?["rate_limited"] == 200 - streamed)
        try await events.waitFor { events.output.text.contains("event: dropped") }
        #expect(events.output.text.hasPrefix("event: subscribed\ndata: {\"subscribed\":"), "\(events.output.text.prefix(300))")
        #expect(events.output.text.contains("\n\nevent: failure\ndata: {\"comm\":"), "\(events.output.text.prefix(300))")
        #expect(events.output.text.contains("event: dropped\ndata: {\"dropped\":") && events.output.text.contains("\"reason\":\"rate_limited\"}"))
        let metrics = try await agent.scrape()
        #expect(metrics.value("errno_exporter_watch_events_total", ["outcome": "rate_limited"]) == Double(200 - streamed))
        #expect(try agent.stop() == 0)
    }

    @Test func aCgroupWatchSeesItsDescendantsAndWatchesEndByThemselves() async throws {
        try requireRoot()
        let cgroup = try TestCgroup()
        let agent = try AgentProcess(arguments: ["--web.enable-investigations", "--web.investigations.max-watches=2"])
        let load = try WaitingLoad(comm: uniqueComm("cgrp"), openat: 6)
        try cgroup.adopt(load.pid)
        let id = try Self.watch(agent, #"{"cgroup": "\#(cgroup.path)"}"#)
        let second = try Self.watch(agent, #"{"comm": "nothing-here"}"#)
        let third = try Self.call(agent, "POST", "/api/v1/watches", body: #"{"pid": 1}"#)
        #expect(third.status == 429 && third.body.contains("2 watches are running"), "\(third)")
        #expect(try Self.call(agent, "DELETE", "/api/v1/watches/\(second)").status == 200)
        let brief = try Self.watch(agent, #"{"comm": "nothing-here", "duration": "3s"}"#)
        let stream = try Stream(agent, brief)
        #expect(try Self.call(agent, "POST", "/api/v1/watches", body: #"{"cgroup": "/no-such-cgroup-here"}"#).status == 422)
        try load.release()
        try await Task.sleep(for: .milliseconds(500))
        let summary = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(id)").body)
        #expect(summary["failures"] as? Int == 6 && Self.rows(summary).syscalls == ["openat ENOENT 6"], "\(summary)")
        // The 2-second watch ends by itself: its stream says so and closes; it is gone from the API.
        try await stream.waitFor { !stream.process.isRunning }
        #expect(stream.lines.last?["end"] as? String == "expired" && !stream.process.isRunning, "\(stream.output.text)")
        #expect(try Self.call(agent, "GET", "/api/v1/watches/\(brief)").status == 404)
        #expect(try Self.call(agent, "DELETE", "/api/v1/watches/\(brief)").status == 404)
        #expect(agent.stderr.text.contains(#"msg="watch started""#) && agent.stderr.text.contains("target=\"cgroup \(cgroup.path)\""))
        #expect(agent.stderr.text.contains(#"msg="watch expired" watch=\#(brief)"#))
        #expect(try agent.stop() == 0)
    }

    /// A summary read while its process fails is never torn: no path row counts more than its
    /// syscall row, no syscall row more than the total; once the process is gone all three agree.
    @Test func aSummaryReadWhileItsProcessFailsHoldsTogether() async throws {
        try requireRoot()
        let agent = try AgentProcess(arguments: ["--web.enable-investigations"])
        let load = try WaitingLoad(comm: uniqueComm("torn"), openat: 5_000_000)  // seconds of failing, then killed
        let id = try Self.watch(agent, #"{"pid": \#(load.pid)}"#)
        func counts() throws -> (failures: Int, openat: Int, path: Int) {
            let summary = try Self.data(try Self.call(agent, "GET", "/api/v1/watches/\(id)").body)
            let syscalls = summary["syscalls"] as? [[String: Any]] ?? [], paths = summary["paths"] as? [[String: Any]] ?? []
            let openat = syscalls.first { $0["syscall"] as? String == "openat" && $0["errno"] as? String == "ENOENT" }?["count"] as? Int ?? 0
            let path = paths.first { $0["path"] as? String == "/nonexistent/errno-load" }?["count"] as? Int ?? 0
            return (summary["failures"] as? Int ?? -1, openat, path)
        }
        load.start()
        var readings: [(failures: Int, openat: Int, path: Int)] = []
        let deadline = Date().addingTimeInterval(60 * testTimeScale)
        while readings.count < 12, Date() < deadline {
            let reading = try counts()
            if reading.failures > 0 { readings.append(reading) }
        }
        kill(load.process.processIdentifier, SIGKILL)
        load.process.waitUntilExit()
        #expect(readings.count == 12 && readings.allSatisfy { $0.path <= $0.openat && $0.openat <= $0.failures }, "\(readings)")
        #expect((readings.first?.failures ?? 0) < (readings.last?.failures ?? 0), "not read while the process failed: \(readings)")
        let final = try counts()
        #expect(final.failures > 0 && final.failures == final.openat && final.openat == final.path, "\(final)")
        #expect(try agent.stop() == 0)
    }

    @Test func withoutTheFlagItIs403AndBehindTheWebConfigsAuth() async throws {
        try requireRoot()
        let plain = try AgentProcess()
        let refused = try Self.call(plain, "POST", "/api/v1/watches", body: #"{"pid": 1}"#)
        #expect(refused.status == 403 && refused.body.contains("--web.enable-investigations"))
        #expect(try Self.call(plain, "GET", "/api/v1/watches").status == 403)
        #expect(try plain.stop() == 0)

        let webConfig = NSTemporaryDirectory() + "errno-web-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: webConfig) }
        try "basic_auth_users:\n  oncall: '\(try BasicAuthTests.bcrypt("oncall", "pager"))'\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        let guarded = try AgentProcess(arguments: ["--web.enable-investigations", "--web.config.file=\(webConfig)"])
        #expect(try Self.call(guarded, "POST", "/api/v1/watches", body: #"{"pid": 1}"#).status == 401)
        let created = try Self.call(guarded, "POST", "/api/v1/watches", body: #"{"pid": 1}"#, user: "oncall:pager")
        #expect(created.status == 201 && created.body.contains(#""created_by":"oncall""#), "\(created)")
        #expect(try Self.call(guarded, "GET", "/api/v1/watches/1/events").status == 401)
        #expect(try Self.call(guarded, "DELETE", "/api/v1/watches/1").status == 401)
        #expect(try Self.call(guarded, "DELETE", "/api/v1/watches/1", user: "oncall:pager").status == 200)
        #expect(guarded.stderr.text.contains(#"msg="watch deleted" user=oncall"#))
        #expect(try guarded.stop() == 0)
    }

    /// The lab's first two steps with the command line alone: `top` shows nodey's failing openat,
    /// `snoop --paths` prints the failing open of /etc/nodey.conf; both remove their watch.
    @Test func topAndSnoopWalkTheLab() async throws {
        try requireRoot()
        let (nodey, agent) = try NodeyTests.labWithAgent(arguments: ["--web.enable-investigations"])
        let pid = nodey.process.processIdentifier, port = nodey.port
        func tool(_ arguments: [String]) throws -> (Process, OutputCollector, OutputCollector) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Products.agent)
            process.arguments = arguments + ["--agent", "http://\(agent.address)", "--pid", "\(pid)"]
            let output = Pipe(), status = Pipe()
            process.standardOutput = output
            process.standardError = status
            let collectors = (OutputCollector(output), OutputCollector(status))
            try process.run()
            return (process, collectors.0, collectors.1)
        }
        func waitFor(_ timeout: Double = 30, _ done: () -> Bool) async throws {
            let deadline = Date().addingTimeInterval(timeout * testTimeScale)
            while !done(), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        }
        let (top, screens, topSaid) = try tool(["top", "--count", "120"])
        let (snoop, lines, snoopSaid) = try tool(["snoop", "--paths"])
        defer { for process in [top, snoop] where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try await waitFor { topSaid.text.contains("as watch") && snoopSaid.text.contains("as watch") }
        _ = try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about") }
        try await waitFor { screens.text.contains("/etc/nodey.conf") && lines.text.contains("/etc/nodey.conf") }
        kill(top.processIdentifier, SIGINT)
        try await waitFor(20) { !top.isRunning }
        #expect(!top.isRunning && top.terminationStatus == 0 && topSaid.text.contains("removed watch"), "\(topSaid.text)")
        let lastScreen = screens.text.components(separatedBy: "\n\n").filter { $0.contains(" watch ") }.last ?? ""
        #expect(lastScreen.split(separator: "\n").contains { $0.split(separator: " ").prefix(3) == ["openat", "ENOENT", "1"] }, "\(screens.text)")
        #expect(screens.text.contains("/etc/nodey.conf"), "\(screens.text)")
        let failure = lines.text.split(separator: "\n").first { $0.contains("/etc/nodey.conf") }.map { $0.split(separator: " ") } ?? []
        #expect(failure.dropFirst().prefix(5) == ["\(pid)", "\(pid)", "node", "openat", "ENOENT"] && failure.last == "/etc/nodey.conf", "\(lines.text)")
        kill(snoop.processIdentifier, SIGINT)
        try await waitFor(20) { !snoop.isRunning }
        #expect(!snoop.isRunning && snoop.terminationStatus == 0 && snoopSaid.text.contains("removed watch"), "\(snoopSaid.text)")
        let listing = try Self.call(agent, "GET", "/api/v1/watches").body
        #expect(listing.contains(#""data":[]"#), "\(listing)")
        #expect(try agent.stop() == 0)
    }
}
