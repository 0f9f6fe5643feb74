import FixtureSupport
import Foundation
import Glibc
import Testing

/// The lab's case in a warm app, as every production server is: after thousands of requests V8 has
/// optimized the request handler and inlined the lab's functions into it. The captures still name
/// every function, each with its own line in server.js, from V8's code log.
@Suite(.timeLimit(.minutes(5)))
struct WarmNodeyTests {
    static let server = NodeyTests.root.appendingPathComponent("examples/nodey/server.js").path

    /// Sends `count` requests for each of `paths`, one after another on a kept-alive connection.
    static func warm(port: Int, paths: [String], count: Int) async throws {
        let script = """
            const http = require('http');
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const get = (path) => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port: \(port), path, agent }, (response) => {
              response.resume(); response.on('end', resolve);
            }).on('error', reject));
            (async () => {
              for (let i = 0; i < \(count); i++) for (const path of \(paths)) await get(path);
              agent.destroy(); console.log('warm');
            })();
            """
        let result = try await offPool { try shell("node -e \(shellQuoted(script))") }
        try #require(result.status == 0 && result.output.contains("warm"), "\(result.output)")
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The perf map's names of the server's optimized code (`JS:*…`).
    static func optimized(pid: Int32) throws -> [String] {
        let map = try String(contentsOfFile: "/tmp/perf-\(pid).map", encoding: .utf8)
        return map.split(separator: "\n").compactMap { line in
            let name = line.split(separator: " ", maxSplits: 2).last.map(String.init) ?? ""
            return name.hasPrefix("JS:*") && name.contains(server) ? name : nil
        }
    }

    /// `name line` of each frame in server.js, innermost first.
    static func named(_ frames: [CaptureDocument.Frame]) -> [String] {
        frames.compactMap { frame in frame.file == server ? "\(frame.symbol?.dropFirst(4) ?? "") \(frame.line ?? 0)" : nil }
    }

    /// Whether `named` holds the functions in order (innermost first), each on a line of its body.
    static func holds(_ named: [String], _ functions: [(String, ClosedRange<Int>)]) -> Bool {
        var rest = named[...]
        for (function, lines) in functions {
            guard let index = rest.firstIndex(where: { entry in
                let parts = entry.split(separator: " ")
                return parts.count == 2 && parts[0] == function && Int(parts[1]).map(lines.contains) == true
            }) else { return false }
            rest = rest[(index + 1)...]
        }
        return true
    }

    @Test func aWarmAppsSyncAndAsyncCapturesNameEveryInlinedFunctionWithItsLine() async throws {
        try requireRoot()
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing")
        let nodey = try NodeyTests.Nodey()
        let pid = nodey.process.processIdentifier
        try await Self.warm(port: nodey.port, paths: ["/about", "/about-async"], count: 3000)
        // Warm: V8 has optimized the app's code (the request handler at least).
        let optimized = try Self.optimized(pid: pid)
        #expect(optimized.contains { $0.contains("server.js:55:") }, "the request handler is not optimized: \(optimized)")
        let agent = try AgentProcess(config: """
            filters:
              pids: [\(pid)]
            triggers:
              - {name: warm, path: /etc/nodey.conf, comm: node, async_stacks: true}
            """)
        let port = nodey.port
        #expect(try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about") }.output == "An error occurred\n")
        #expect(try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about-async") }.output == "An error occurred\n")
        let captures = try await agent.waitForCaptures(trigger: "warm", count: 2)
        let sync = try #require(captures.first { $0.tid == $0.pid && $0.submitted_by == nil })
        let async = try #require(captures.first { $0.submitted_by != nil })
        let syncNamed = Self.named(sync.user_stack)
        #expect(Self.holds(syncNamed, [("loadConfig", 9...11), ("aboutText", 13...16), ("handleAbout", 18...30)]), "\(syncNamed)")
        let submitted = try #require(async.submitted_by).user_stack
        let asyncNamed = Self.named(submitted)
        #expect(Self.holds(asyncNamed, [("loadConfigAsync", 33...35), ("aboutTextAsync", 37...40), ("handleAboutAsync", 42...53)]), "\(asyncNamed)")
        // Some of them ran in optimized code that inlined them: named from V8's log, marked inlined.
        let frames = sync.user_stack + submitted
        let inlined = frames.filter { $0.inlined && $0.named_by == "v8_log" && $0.file == Self.server }
        #expect(!inlined.isEmpty, "no inlined frame: \(frames.map { "\($0.symbol ?? "?") \($0.named_by ?? "-")" })")
        // Optimized code's own frames carry their line in server.js too.
        #expect(frames.filter { $0.symbol?.hasPrefix("JS:*") == true && $0.file == Self.server }.allSatisfy { $0.line != nil })
        // Counted by what named them; nothing of the log or the perf map refused.
        let scrape = try await agent.scrape()
        let fromLog = scrape.value("errno_exporter_named_frames_total", ["named_by": "v8_log"]) ?? 0
        #expect(fromLog >= Double(frames.filter { $0.named_by == "v8_log" }.count))
        #expect(scrape.value("errno_exporter_jit_file_lines_refused_total", ["file": "v8_log"]) == 0)
        #expect(scrape.value("errno_exporter_jit_files_truncated_total", ["file": "v8_log"]) == 0)
        #expect(try agent.stop() == 0)
    }
}
