import FixtureSupport
import Foundation
import Glibc
import Testing

/// Ad-hoc triggers (`--web.enable-investigations`): created, listed, captured, kept across a reload,
/// deleted and expired without a reload; refused without the flag or credentials, bounded; and
/// `errno_exporter trace` walking the lab against a real node.
@Suite(.timeLimit(.minutes(5)))
struct InvestigationTests {
    /// `curl` against the agent: the status and body (`body` posted as JSON; `user` as basic auth).
    static func call(_ agent: AgentProcess, _ method: String, _ path: String, body: String? = nil, user: String? = nil) throws -> (status: Int, body: String) {
        let data = body == nil ? "" : "-H 'Content-Type: application/json' --data-binary @-"
        let credentials = user.map { "-u '\($0)'" } ?? ""
        let output = try shell("curl -s -X \(method) \(credentials) \(data) -w '\\n%{http_code}' 'http://\(agent.address)\(path)'", input: body).output
        let status = Int(output.split(separator: "\n").last ?? "") ?? 0
        return (status, output.split(separator: "\n").dropLast().joined(separator: "\n"))
    }

    static func names(_ agent: AgentProcess) throws -> [String: Bool] {
        let listing = try call(agent, "GET", "/api/v1/triggers").body
        let triggers = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])["data"] as? [[String: Any]] ?? []
        return Dictionary(triggers.map { ($0["name"] as? String ?? "", $0["ephemeral"] as? Bool ?? false) }) { first, _ in first }
    }

    @Test func anAdHocTriggerCapturesAtOnceSurvivesAReloadAndGoesWhenDeletedOrExpired() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-inv")
        let config = "filters:\n  comms: [deep_fp]\ntriggers:\n  - {name: configured, path: \(directory)/configured}\n"
        let agent = try AgentProcess(
            config: config, arguments: ["--web.enable-investigations", "--web.enable-lifecycle", "--web.investigations.max-triggers=2", "--web.investigations.max-duration=10m"])
        let program = try FixtureProgram.path("deep_fp")

        let created = try Self.call(agent, "POST", "/api/v1/triggers", body: #"{"name": "adhoc", "path": "\#(directory)/adhoc", "max_per_minute": 600, "duration": "5m"}"#)
        #expect(created.status == 201, "\(created.body)")
        #expect(created.body.contains(#""ephemeral":true"#) && created.body.contains(#""name":"adhoc""#) && created.body.contains(#""expires":"#))
        try await runFixture(program, path: "\(directory)/adhoc")
        #expect(try await agent.waitForCaptures(trigger: "adhoc").count == 1)
        #expect(try Self.names(agent) == ["configured": false, "adhoc": true])
        // A reload keeps it, and it keeps capturing.
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        #expect(try Self.names(agent)["adhoc"] == true)
        try await runFixture(program, path: "\(directory)/adhoc")
        #expect(try await agent.waitForCaptures(trigger: "adhoc", count: 2).count == 2)

        // Refusals, each saying why and changing nothing.
        for (body, status, reason) in [
            (#"{"path": "\#(directory)/x", "bogus": 1}"#, 400, "bogus: unknown key"),
            (#"{"path": "\#(directory)/x", "duration": "1h"}"#, 400, "expected a duration from 1s to 10m"),
            (#"{"path": "\#(directory)/x", "armed": "on_alert"}"#, 400, "armed: unknown key"),
            (#"{"name": "configured", "path": "\#(directory)/x"}"#, 409, "is a configured trigger"),
            (#"{"name": "adhoc", "path": "\#(directory)/x"}"#, 409, "exists already"),
            (#"{"name": "a b", "path": "\#(directory)/x"}"#, 400, "a trigger name is 1 to 64"),
            ("[1, 2]", 400, "expected a JSON object"),
        ] {
            let refused = try Self.call(agent, "POST", "/api/v1/triggers", body: body)
            #expect(refused.status == status && refused.body.contains(reason), "\(body) → \(refused)")
        }
        #expect(try Self.call(agent, "DELETE", "/api/v1/triggers/configured").status == 409)
        #expect(try Self.call(agent, "DELETE", "/api/v1/triggers/nope").status == 404)
        // The limit (2 here): the third is refused.
        #expect(try Self.call(agent, "POST", "/api/v1/triggers", body: #"{"name": "brief", "path": "\#(directory)/brief", "duration": "2s"}"#).status == 201)
        #expect(try Self.call(agent, "POST", "/api/v1/triggers", body: #"{"path": "\#(directory)/third"}"#).status == 429)

        // Deleted: gone, and its path captures no more.
        let deleted = try Self.call(agent, "DELETE", "/api/v1/triggers/adhoc")
        #expect(deleted.status == 200, "\(deleted.body)")
        #expect(try Self.names(agent)["adhoc"] == nil)
        try await runFixture(program, path: "\(directory)/adhoc")
        try await Task.sleep(for: .seconds(1))
        #expect(try await agent.captures("?trigger=adhoc").count == 2)
        // Expired: the 2-second one is gone within a few seconds.
        let deadline = Date().addingTimeInterval(15 * testTimeScale)
        while try Self.names(agent)["brief"] != nil, Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
        #expect(try Self.names(agent)["brief"] == nil)
        #expect(agent.stderr.text.contains(#"msg="investigation: ephemeral trigger created""#) && agent.stderr.text.contains("user=anonymous"))
        #expect(agent.stderr.text.contains(#"msg="investigation: ephemeral trigger deleted""#))
        #expect(agent.stderr.text.contains(#"msg="investigation: ephemeral trigger expired" trigger=brief"#))
        #expect(try agent.stop() == 0)
    }

    @Test func withAPidOnlyThatProcessIsCaptured() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-inv")
        let agent = try AgentProcess(config: "filters:\n  comms: [deep_fp]\n", arguments: ["--web.enable-investigations"])
        let program = try FixtureProgram.path("deep_fp")
        // A shell that waits, then becomes the fixture (same pid): the trigger is made for it first.
        let waiting = Process()
        waiting.executableURL = URL(fileURLWithPath: "/bin/sh")
        waiting.arguments = ["-c", "read line; exec \(program) \(directory)/pid 1"]
        let input = Pipe()
        waiting.standardInput = input
        try waiting.run()
        let created = try Self.call(agent, "POST", "/api/v1/triggers", body: #"{"name": "one", "path": "\#(directory)/pid", "pid": \#(waiting.processIdentifier), "max_per_minute": 600}"#)
        #expect(created.status == 201 && created.body.contains(#""pid":\#(waiting.processIdentifier)"#), "\(created.body)")
        try await runFixture(program, path: "\(directory)/pid")  // another process: not captured
        input.fileHandleForWriting.write(Data("go\n".utf8))
        waiting.waitUntilExit()
        let captures = try await agent.waitForCaptures(trigger: "one")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await agent.captures("?trigger=one").count == 1)
        #expect(captures.first?.pid == Int(waiting.processIdentifier))
        #expect(try agent.stop() == 0)
    }

    @Test func withoutTheFlagItIs403AndBehindTheWebConfigsAuth() async throws {
        try requireRoot()
        let plain = try AgentProcess()
        let post = try Self.call(plain, "POST", "/api/v1/triggers", body: #"{"path": "/x"}"#)
        #expect(post.status == 403 && post.body.contains("--web.enable-investigations"))
        #expect(try Self.call(plain, "DELETE", "/api/v1/triggers/x").status == 403)
        #expect(try plain.stop() == 0)

        let webConfig = NSTemporaryDirectory() + "errno-web-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: webConfig) }
        try "basic_auth_users:\n  oncall: '\(try BasicAuthTests.bcrypt("oncall", "pager"))'\n".write(toFile: webConfig, atomically: true, encoding: .utf8)
        let guarded = try AgentProcess(arguments: ["--web.enable-investigations", "--web.config.file=\(webConfig)"])
        #expect(try Self.call(guarded, "POST", "/api/v1/triggers", body: #"{"path": "/x"}"#).status == 401)
        let created = try Self.call(guarded, "POST", "/api/v1/triggers", body: #"{"name": "t", "path": "/x"}"#, user: "oncall:pager")
        #expect(created.status == 201 && created.body.contains(#""created_by":"oncall""#), "\(created.body)")
        #expect(try Self.call(guarded, "DELETE", "/api/v1/triggers/t").status == 401)
        #expect(try Self.call(guarded, "DELETE", "/api/v1/triggers/t", user: "oncall:pager").status == 200)
        #expect(guarded.stderr.text.contains("user=oncall"))
        #expect(try guarded.stop() == 0)
    }

    /// The lab's third step with the command line alone: `errno_exporter trace` on a path no config
    /// names prints the JavaScript function that opened it, and removes its trigger on Ctrl-C.
    @Test func traceNamesTheJavaScriptCulpritAndCleansUp() async throws {
        try requireRoot()
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing")
        let nodey = try NodeyTests.Nodey()
        let pid = nodey.process.processIdentifier
        let agent = try AgentProcess(config: "filters:\n  pids: [\(pid)]\n", arguments: ["--web.enable-investigations"])
        let trace = Process()
        trace.executableURL = URL(fileURLWithPath: Products.agent)
        trace.arguments = ["trace", "--agent", "http://\(agent.address)", "--path", "/etc/nodey.conf", "--pid", "\(pid)", "--for", "2m"]
        let output = Pipe(), status = Pipe()
        trace.standardOutput = output
        trace.standardError = status
        let printed = OutputCollector(output), said = OutputCollector(status)
        try trace.run()
        defer { if trace.isRunning { kill(trace.processIdentifier, SIGKILL) } }
        // Wait for the trigger, then make nodey fail.
        let deadline = Date().addingTimeInterval(30 * testTimeScale)
        while !said.text.contains("tracing /etc/nodey.conf"), Date() < deadline, trace.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(said.text.contains("tracing /etc/nodey.conf in pid \(pid) as trigger adhoc-"), "\(said.text)")
        let port = nodey.port
        _ = try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about") }
        while !printed.text.contains("server.js:9"), Date() < deadline, trace.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let lines = printed.text.split(separator: "\n")
        #expect(lines.first?.contains("pid \(pid) tid \(pid) node openat /etc/nodey.conf ENOENT (capture ") == true, "\(printed.text)")
        #expect(lines.dropFirst().first?.hasPrefix("  culprit: JS:~loadConfig ") == true && lines.dropFirst().first?.hasSuffix("server.js:9") == true, "\(printed.text)")
        #expect(lines.contains { $0.hasPrefix("    ") && $0.contains("loadConfig") && $0.hasSuffix("server.js:9") }, "\(printed.text)")
        kill(trace.processIdentifier, SIGINT)
        let exitDeadline = Date().addingTimeInterval(20 * testTimeScale)
        while trace.isRunning, Date() < exitDeadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!trace.isRunning && trace.terminationStatus == 0, "\(said.text)")
        #expect(said.text.contains("removed trigger adhoc-"))
        #expect(try Self.names(agent).values.allSatisfy { !$0 }, "the trigger is gone")
        #expect(try agent.stop() == 0)
    }
}
