import FixtureSupport
import Foundation
import Glibc
import Testing

/// The lab's case: nodey swallows an ENOENT on /etc/nodey.conf and answers "An error occurred";
/// the agent shows the failing open, by path, errno and comm, counted exactly.
@Suite(.timeLimit(.minutes(5)))
struct NodeyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// examples/nodey started with `run.sh perf` on a free port.
    final class Nodey {
        let process = Process()
        private(set) var port = 0

        init() throws {
            process.executableURL = URL(fileURLWithPath: NodeyTests.root.appendingPathComponent("examples/nodey/run.sh").path)
            process.arguments = ["perf"]
            process.environment = ProcessInfo.processInfo.environment.merging(["PORT": "0"]) { $1 }
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = firstLine(of: output)
            port = try #require(text.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, "nodey said: \(text)")
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: "/tmp/perf-\(process.processIdentifier).map")
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "nodey-v8-\(process.processIdentifier).log")
        }
    }

    /// nodey (with /etc/nodey.conf missing, as in the lab) and an agent counting only its process,
    /// with `trigger` (a flow-style trigger mapping) when given.
    static func labWithAgent(trigger: String? = nil, arguments: [String] = []) throws -> (Nodey, AgentProcess) {
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing; move it away to run this test")
        let nodey = try Nodey()
        let triggers = trigger.map { "triggers:\n  - \($0)\n" } ?? ""
        return (nodey, try AgentProcess(config: "filters:\n  pids: [\(nodey.process.processIdentifier)]\n" + triggers, arguments: arguments))
    }

    @Test func theSwallowedENOENTShowsOnMetricsExactly() async throws {
        try requireRoot()
        let (nodey, agent) = try Self.labWithAgent()
        for _ in 0..<3 {
            let about = try shell("curl -s -w ' %{http_code}' http://127.0.0.1:\(nodey.port)/about")
            #expect(about.output == "An error occurred\n 500")
        }
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_path_failures_total", ["syscall": "openat", "path": "/etc/nodey.conf", "errno": "ENOENT", "comm": "node"]) == 3)
        #expect((scrape.value("errno_syscall_failures_total", ["syscall": "openat", "errno": "ENOENT", "comm": "node"]) ?? 0) >= 3)
        #expect(try agent.stop() == 0)
    }

    @Test func theCaptureNamesTheJavaScriptFunctionThatOpenedTheFile() async throws {
        try requireRoot()
        let (nodey, agent) = try Self.labWithAgent(trigger: "{name: nodey-conf, path: /etc/nodey.conf, comm: node}")
        let port = nodey.port
        let about = try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about") }
        #expect(about.output == "An error occurred\n")
        let capture = try #require(try await agent.waitForCaptures(trigger: "nodey-conf").first)
        #expect(capture.comm == "node" && capture.path == "/etc/nodey.conf" && capture.errno == "ENOENT")
        let frames = capture.user_stack
        func index(_ matches: (CaptureDocument.Frame) -> Bool) -> Int? { frames.firstIndex(where: matches) }
        let server = NodeyTests.root.appendingPathComponent("examples/nodey/server.js").path
        // libc's open → libuv → node's fs binding → V8 → readFileSync → the app's functions → … → the event loop.
        let open = index { $0.symbol?.contains("open") == true && $0.module?.contains("libc") == true }
        let uv = index { $0.symbol == "uv_fs_open" }
        let binding = index { $0.symbol?.hasPrefix("node::fs::ReadFileUtf8") == true }
        // V8 names JS functions "JS:" + a tier mark (~ interpreted, ^ baseline, + maglev, * optimized) + the name.
        func isJS(_ frame: CaptureDocument.Frame, _ name: String) -> Bool {
            guard let symbol = frame.symbol, symbol.hasPrefix("JS:") else { return false }
            return symbol.dropFirst(4) == name
        }
        let readFileSync = index { isJS($0, "readFileSync") && $0.file == "node:fs" }
        func js(_ name: String, line: Int) -> Int? { index { isJS($0, name) && $0.file == server && $0.line == line } }
        let loadConfig = js("loadConfig", line: 9), aboutText = js("aboutText", line: 13), handleAbout = js("handleAbout", line: 18)
        let eventLoop = index { $0.symbol == "uv__io_poll" || $0.symbol == "uv_run" }
        let order = [open, uv, binding, readFileSync, loadConfig, aboutText, handleAbout, eventLoop]
        #expect(order.allSatisfy { $0 != nil }, "missing frames in \(frames.map { "\($0.symbol ?? "?") \($0.file ?? "")" })")
        let found = order.compactMap { $0 }
        #expect(found == found.sorted(), "frames out of order: \(order)")
        #expect(frames.contains { $0.method == "frame_pointer" } && frames.contains { $0.method == "cfi" })
        // The trigger's flame graph (SVG): the handler above aboutText above loadConfig.
        let svg = try await agent.get("/api/v1/captures?trigger=nodey-conf&format=svg")
        #expect(svg.status == 200 && svg.headers["content-type"] == "image/svg+xml; charset=utf-8")
        var depth: [String: Double] = [:]
        for match in svg.body.matches(of: #/<g class="frame"><title>JS:~(\w+) [^<]*? — \d+ samples.*?<rect x="[\d.]+" y="([\d.]+)"/#) {
            depth[String(match.1)] = Double(match.2)
        }
        let (handler, text, load) = (depth["handleAbout"], depth["aboutText"], depth["loadConfig"])
        #expect(handler != nil && text != nil && load != nil && handler! < text! && text! < load!, "\(depth)")
        // The culprit, first: the app's own innermost function, past libc, libuv, V8 and node:fs.
        #expect(capture.culprit.map { isJS($0, "loadConfig") && $0.file == server && $0.line == 9 } == true, "\(String(describing: capture.culprit))")
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_path_failures_total", ["syscall": "openat", "path": "/etc/nodey.conf", "errno": "ENOENT", "comm": "node"]) == 1)
        #expect(scrape.value("errno_stack_captures_total", ["trigger": "nodey-conf"]) == 1)
        #expect(try agent.stop() == 0)
    }

    @Test func anAsyncOpenOnAPoolThreadCarriesTheJavaScriptStackThatSubmittedIt() async throws {
        try requireRoot()
        let (nodey, agent) = try Self.labWithAgent(trigger: "{name: nodey-async, path: /etc/nodey.conf, comm: node, async_stacks: true}")
        #expect(try await agent.scrape().value("errno_exporter_async_uprobes") ?? 0 > 0, "uprobes on node's libuv")
        let port = nodey.port
        let about = try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about-async") }
        #expect(about.output == "An error occurred\n")
        let capture = try #require(try await agent.waitForCaptures(trigger: "nodey-async").first)
        // The open ran on a libuv pool thread: its own stack has no JavaScript at all…
        #expect(capture.tid != capture.pid)
        #expect(capture.symbols.contains("uv__fs_work") && capture.symbols.contains("worker"), "\(capture.symbols)")
        #expect(!capture.symbols.contains { $0.hasPrefix("JS:") })
        // …and submitted_by is the JS thread's stack when it asked for the file.
        let submitted = try #require(capture.submitted_by, "no submitting stack")
        #expect(submitted.tid == capture.pid)
        let server = NodeyTests.root.appendingPathComponent("examples/nodey/server.js").path
        let named = submitted.user_stack.compactMap { frame in frame.file == server ? "\(frame.symbol?.dropFirst(4) ?? "") \(frame.line ?? 0)" : nil }
        #expect(Array(named.prefix(3)) == ["loadConfigAsync 33", "aboutTextAsync 37", "handleAboutAsync 42"], "\(named)")
        #expect(submitted.user_stack.first?.symbol == "uv_fs_open")
        let folded = try await agent.get("/api/v1/captures/\(capture.id)?format=folded").body
        #expect(folded.contains("JS:~handleAboutAsync") && folded.contains(";[submitted];") && folded.contains("uv__fs_work"), "\(folded)")
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_exporter_async_submissions_total", ["outcome": "linked"]) == 1)
        #expect(try agent.stop() == 0)
    }

    /// Runs Tests/Fixtures/async_burst.js with node (perf-map flags) to completion.
    static func burst(_ arguments: [String]) async throws {
        let script = root.appendingPathComponent("Tests/Fixtures/async_burst.js").path
        let result = try await offPool {
            try shell("cd \(NSTemporaryDirectory()) && node --perf-basic-prof --interpreted-frames-native-stack --logfile=/dev/null --no-logfile-per-isolate \(script) \(arguments.joined(separator: " "))")
        }
        try #require(result.status == 0 && result.output.contains("done"), "\(result.output)")
    }

    @Test func concurrentAsyncRequestsEachLinkToTheFunctionThatMadeThem() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-async")
        let agent = try AgentProcess(config: """
            triggers:
              - {name: burst, path_prefix: \(directory)/, comm: node, async_stacks: true, max_per_minute: 0, stacks: [user]}
            captures:
              keep: 1000
              user_stack_bytes: 16384
              buffer_bytes: 67108864
            """)
        try await Self.burst(["pair", directory, "100"])
        let captures = try await agent.waitForCaptures(trigger: "burst", count: 200)
        #expect(captures.count == 200)
        for capture in captures {
            let (expected, other) = capture.path.hasSuffix("/alpha") ? ("readAlpha", "readBeta") : ("readBeta", "readAlpha")
            let symbols = capture.submitted_by?.user_stack.compactMap { (frame: CaptureDocument.Frame) in frame.symbol } ?? []
            let functions = symbols.filter { $0.hasPrefix("JS:") && $0.hasSuffix(expected) }
            #expect(capture.submitted_by != nil, "\(capture.path): no submitting stack")
            #expect(!functions.isEmpty, "\(capture.path) not linked to \(expected): \(symbols)")
            #expect(!symbols.contains { $0.hasSuffix(other) }, "\(capture.path) crossed with \(other)")
        }
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_exporter_async_submissions_total", ["outcome": "linked"]) == 200)
        #expect(scrape.value("errno_exporter_dropped_events_total", ["reason": "ring_buffer_full"]) == 0)
        #expect(try agent.stop() == 0)
    }

    @Test func withoutAsyncStacksNoUprobeIsAttachedAndTheStateMapsEmptyAfterABurst() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-async")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{}".write(toFile: "\(directory)/existing", atomically: true, encoding: .utf8)
        let nodey = try Nodey()  // a node process whose binary would be probed
        let plain = try AgentProcess(config: "triggers:\n  - {name: plain, path: \(directory)/existing, comm: node}\n")
        #expect(try await plain.scrape().value("errno_exporter_async_uprobes") == 0)
        let perfEvents = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(plain.process.processIdentifier)/fd").filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(plain.process.processIdentifier)/fd/\(fd)")) == "anon_inode:[perf_event]"
        }
        #expect(perfEvents.isEmpty, "a uprobe is a perf event: none without async_stacks")
        #expect(try plain.stop() == 0)
        _ = nodey
        // With async_stacks: a burst of successful async opens leaves no per-request state behind.
        let agent = try AgentProcess(config: "triggers:\n  - {name: ok, path: \(directory)/existing, comm: node, async_stacks: true, max_per_minute: 0}\n")
        try await Self.burst(["existing", "\(directory)/existing", "300"])
        let scrape = try await agent.scrape()
        #expect((scrape.value("errno_exporter_async_uprobes") ?? 0) > 0)
        for map in ["pending_submissions", "async_requests"] {
            #expect(scrape.value("errno_exporter_bpf_map_entries", ["map": map]) == 0, "\(map) keeps state after the burst")
        }
        // current_requests is per pool thread (libuv's 4 by default), each entry replaced by its next request.
        #expect((scrape.value("errno_exporter_bpf_map_entries", ["map": "current_requests"]) ?? .infinity) <= 4)
        #expect(scrape.value("errno_exporter_dropped_events_total", ["reason": "async_requests_full"]) == 0)
        #expect(try agent.stop() == 0)
    }
}
