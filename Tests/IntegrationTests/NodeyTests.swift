import Foundation
import Glibc
import Testing

/// The lab's case: nodey swallows an ENOENT on /etc/nodey.conf and answers "An error occurred";
/// the agent shows the failing open, by path, errno and comm, counted exactly.
@Suite(.timeLimit(.minutes(2)))
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
        }
    }

    @Test func theSwallowedENOENTShowsOnMetricsExactly() async throws {
        try requireRoot()
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing; move it away to run this test")
        let nodey = try Nodey()
        let agent = try AgentProcess(config: "filters:\n  pids: [\(nodey.process.processIdentifier)]\n")
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
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing; move it away to run this test")
        let nodey = try Nodey()
        let agent = try AgentProcess(config: """
            filters:
              pids: [\(nodey.process.processIdentifier)]
            triggers:
              - {name: nodey-conf, path: /etc/nodey.conf, comm: node}
            """)
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
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_path_failures_total", ["syscall": "openat", "path": "/etc/nodey.conf", "errno": "ENOENT", "comm": "node"]) == 1)
        #expect(scrape.value("errno_stack_captures_total", ["trigger": "nodey-conf"]) == 1)
        #expect(try agent.stop() == 0)
    }
}
