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
}
