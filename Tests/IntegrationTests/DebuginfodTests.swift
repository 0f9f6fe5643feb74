import FixtureSupport
import Foundation
import Glibc
import Testing

/// Debian's debuginfod server over a directory of the fixtures' debug files, on a free port (it
/// listens on every address: 0.188 has no option to bind loopback only). Ready once it has indexed
/// `deep_remote`'s debug file.
final class DebuginfodServer {
    private let server: LoopbackServer
    var url: String { "http://127.0.0.1:\(server.port)" }

    init() throws {
        let debugFiles = try FixtureProgram.directory.get() + "/debuginfo"
        let buildID = try #require(try FixtureProgram.buildID("deep_remote"))
        server = try LoopbackServer("/usr/bin/debuginfod", files: [:], readyPath: "/buildid/\(buildID)/debuginfo", stopSignal: SIGKILL) { directory, port in
            ["-F", "-p", "\(port)", "-d", "\(directory)/index.sqlite", debugFiles]
        }
    }

    func stop() { server.stop() }
}

/// Native frames get file:line and inlined frames from debug files fetched by build ID from a real
/// debuginfod server, asynchronously: a capture is served at once, and named again when its module's
/// debug file arrives; later ones come from the on-disk cache without the network.
@Suite(.timeLimit(.minutes(5)))
struct DebuginfodTests {
    static let remote = Result { try FixtureProgram.path("deep_remote") }

    /// The fixture's frames from `main` in to `open_config`, and the function inlined into it.
    static let chain = ["open_read_only", "open_config", "load_settings", "start_service", "main"]

    /// The capture's frames in `deep_remote`, as "symbol line inlined".
    static func fixtureFrames(_ capture: CaptureDocument) throws -> [String] {
        let module = try remote.get()
        return capture.user_stack.filter { $0.module == module && chain.contains($0.symbol ?? "") }.map {
            "\($0.symbol ?? "?") \($0.file == FixtureProgram.source ? "deep.c" : $0.file ?? "-"):\($0.line ?? 0) \($0.inlined)"
        }
    }

    /// Every frame of the chain with its deep.c line; `open_read_only` inlined into `open_config`.
    static func expectedFrames() throws -> [String] {
        try [
            "open_read_only deep.c:\(FixtureProgram.line(marked: "inlined open")) true",
            "open_config deep.c:\(FixtureProgram.line(marked: "open_config's open")) false",
            "load_settings deep.c:\(FixtureProgram.line(marked: "load_settings' call")) false",
            "start_service deep.c:\(FixtureProgram.line(marked: "start_service's call")) false",
            "main deep.c:\(FixtureProgram.line(marked: "main's call")) false",
        ]
    }

    static func config(_ directory: String, urls: [String]?, cache: String, timeout: String = "10s") -> String {
        """
        filters:
          comms: [deep_remote]
        triggers:
          - {name: remote, path: \(directory)/remote, max_per_minute: 0}
        symbolization:
          cache_dir: \(cache)
          timeout: \(timeout)
        \(urls.map { "  debuginfod_urls: [\($0.joined(separator: ", "))]" } ?? "")
        """
    }

    /// The capture with `id` once `done` holds for it (bounded).
    static func waitForCapture(_ agent: AgentProcess, id: String, seconds: Double = 20, until done: (CaptureDocument) throws -> Bool) async throws -> CaptureDocument {
        let deadline = Date().addingTimeInterval(seconds * testTimeScale)
        while true {
            let capture = try #require(try await agent.captures("?trigger=remote").first { $0.id == id })
            if try done(capture) || Date() > deadline { return capture }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func fetches(_ agent: AgentProcess) async throws -> [String: Double] {
        let scrape = try await agent.scrape()
        var found: [String: Double] = [:]
        for outcome in ["downloaded", "cached", "not_found", "failed", "timed_out", "invalid", "dropped"] {
            found[outcome] = scrape.value("errno_exporter_debuginfod_fetches_total", ["outcome": outcome])
        }
        return found
    }

    @Test func aStrippedBinaryIsNamedFromDebuginfodAndLaterFromTheCache() async throws {
        try requireRoot()
        let server = try DebuginfodServer()
        let directory = uniqueDirectory("errno-dbgi")
        let cache = uniqueDirectory("errno-dbgi-cache")
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let program = try Self.remote.get()
        let buildID = try #require(try FixtureProgram.buildID("deep_remote"))
        let agent = try AgentProcess(config: Self.config(directory, urls: [server.url], cache: cache))
        // The capture is served at once, with symbols and offsets (the binary kept .symtab) ...
        let started = Date()
        try await runFixture(program, path: "\(directory)/remote")
        let first = try #require(try await agent.waitForCaptures(trigger: "remote").first)
        let served = Date().timeIntervalSince(started)
        #expect(first.user_stack.contains { $0.module == program && $0.symbol == "open_config" && $0.offset != nil })
        // ... and named again when the debug file arrives: file:line on every frame, the inlined one its own.
        let named = try await Self.waitForCapture(agent, id: first.id) { try Self.fixtureFrames($0).count == 5 }
        let symbolized = Date().timeIntervalSince(started)
        #expect(try Self.fixtureFrames(named) == Self.expectedFrames(), "\(named.user_stack.map { "\($0.symbol ?? "?") \($0.line ?? 0)" })")
        #expect(named.user_stack.filter { $0.module == program }.allSatisfy { $0.build_id == buildID })
        var scrape = try await agent.scrape()
        #expect(scrape.value("errno_exporter_debuginfod_fetches_total", ["outcome": "downloaded"]) == 1)
        #expect(scrape.value("errno_exporter_captures_resymbolized_total") == 1)
        #expect((scrape.value("errno_exporter_debuginfod_cache_bytes") ?? 0) > 0)
        let fetchSeconds = scrape.value("errno_exporter_debuginfod_fetch_seconds_total", ["outcome": "downloaded"]) ?? -1
        print("debuginfod: capture served after \(served) s, named with lines after \(symbolized) s (the fetch took \(fetchSeconds) s)")

        // pprof carries the mapping's build ID and the lines, the inlined function first.
        let profile = NSTemporaryDirectory() + "errno-pprof-\(UUID().uuidString.prefix(8)).pb.gz"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        _ = try await offPool { try shell("curl -s -o \(profile) 'http://\(agent.address)/api/v1/captures/\(first.id)?format=pprof'") }
        let raw = try await offPool { try shell("HOME=\(NSTemporaryDirectory()) go tool pprof -raw \(profile)") }.output
        #expect(raw.contains("\(program) \(buildID)"), "\(raw)")
        let inlinedOpen = try FixtureProgram.line(marked: "inlined open")
        #expect(raw.contains(" open_read_only \(FixtureProgram.source):\(inlinedOpen) "), "\(raw)")
        #expect(try agent.stop() == 0)

        // With the server gone, a new agent names the next capture at once from the cache.
        server.stop()
        let restarted = try AgentProcess(config: Self.config(directory, urls: [server.url], cache: cache))
        let startedAgain = Date()
        try await runFixture(program, path: "\(directory)/remote")
        let cached = try #require(try await restarted.waitForCaptures(trigger: "remote").first)
        let servedFromCache = Date().timeIntervalSince(startedAgain)
        #expect(try Self.fixtureFrames(cached) == Self.expectedFrames(), "the first answer already has the lines")
        scrape = try await restarted.scrape()
        #expect(scrape.value("errno_exporter_debuginfod_fetches_total", ["outcome": "cached"]) == 1)
        #expect(scrape.value("errno_exporter_debuginfod_fetches_total", ["outcome": "downloaded"]) == 0)
        #expect(scrape.value("errno_exporter_debuginfod_fetches_total", ["outcome": "failed"]) == 0)
        print("debuginfod: with the cache, the capture was served with lines after \(servedFromCache) s")
        #expect(try restarted.stop() == 0)
    }

    @Test func withoutServersNothingIsFetchedAndADeadOrStalledServerDelaysNothing() async throws {
        try requireRoot()
        let program = try Self.remote.get()
        let directory = uniqueDirectory("errno-dbgi")
        let cache = uniqueDirectory("errno-dbgi-cache")
        defer { try? FileManager.default.removeItem(atPath: cache) }
        // No server configured (none inherited either): symbols and offsets, no lines, no fetch, no cache.
        let plain = try AgentProcess(config: Self.config(directory, urls: nil, cache: cache))
        try await runFixture(program, path: "\(directory)/remote")
        let unnamed = try #require(try await plain.waitForCaptures(trigger: "remote").first)
        let frames = unnamed.user_stack.filter { $0.module == program && Self.chain.contains($0.symbol ?? "") }
        #expect(frames.map(\.symbol) == ["open_config", "load_settings", "start_service", "main"], "\(frames)")
        #expect(frames.allSatisfy { $0.offset != nil && $0.file == nil && !$0.inlined })
        #expect(try await Self.fetches(plain).values.allSatisfy { $0 == 0 })
        #expect(!FileManager.default.fileExists(atPath: cache), "nothing was fetched, so no cache was made")
        #expect(try plain.stop() == 0)

        // A dead server, named by DEBUGINFOD_URLS: the capture is served at once; the fetch fails, counted.
        let dead = "http://127.0.0.1:\(try freeLoopbackPort())"
        let deadAgent = try AgentProcess(config: Self.config(directory, urls: nil, cache: cache), environment: ["DEBUGINFOD_URLS": dead])
        try await runFixture(program, path: "\(directory)/remote")
        let servedAnyway = try #require(try await deadAgent.waitForCaptures(trigger: "remote").first)
        #expect(servedAnyway.user_stack.contains { $0.module == program && $0.symbol == "open_config" })
        var outcomes = try await Self.fetches(deadAgent)
        for _ in 0..<200 where outcomes["failed"] != 1 {
            try await Task.sleep(for: .milliseconds(50))
            outcomes = try await Self.fetches(deadAgent)
        }
        #expect(outcomes == ["failed": 1, "downloaded": 0, "cached": 0, "not_found": 0, "timed_out": 0, "invalid": 0, "dropped": 0], "\(outcomes)")
        // libdebuginfod's record of the miss is not left behind (users' binaries could pile them up).
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.count == 40 }
        #expect(entries.isEmpty, "\(entries)")
        #expect(try deadAgent.stop() == 0)

        // A server that accepts connections and never answers: the fetch times out; captures do not wait.
        let (stalled, stalledPort) = try boundLoopbackSocket()
        defer { close(stalled) }
        try #require(listen(stalled, 16) == 0)
        let stalledURL = "http://127.0.0.1:\(stalledPort)"
        let slowAgent = try AgentProcess(config: Self.config(directory, urls: [stalledURL], cache: cache, timeout: "2s"))
        let started = Date()
        try await runFixture(program, path: "\(directory)/remote")
        let notDelayed = try #require(try await slowAgent.waitForCaptures(trigger: "remote").first)
        #expect(notDelayed.user_stack.contains { $0.module == program && $0.symbol == "open_config" })
        outcomes = try await Self.fetches(slowAgent)
        for _ in 0..<400 where outcomes["timed_out"] != 1 {
            try await Task.sleep(for: .milliseconds(50))
            outcomes = try await Self.fetches(slowAgent)
        }
        let timedOutAfter = Date().timeIntervalSince(started)
        #expect(outcomes["timed_out"] == 1 && outcomes["downloaded"] == 0, "\(outcomes)")
        #expect(timedOutAfter >= 2 && timedOutAfter < 15 * testTimeScale, "\(timedOutAfter) s")
        #expect(try slowAgent.stop() == 0)
    }
}
