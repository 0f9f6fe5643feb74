import FixtureSupport
import Foundation
import Testing

/// Attacks an unprivileged local user can make on the root agent, made as `nobody` against a running
/// agent whose trigger anyone can fire: the agent stays healthy, reads nothing it should not, shows
/// what it read as text, and stays within its memory bounds.
@Suite(.timeLimit(.minutes(5)))
struct HostileUserTests {
    /// A directory anyone may open paths under, and an agent with a prefix trigger on it.
    static func setUp(_ name: String) throws -> (directory: String, agent: AgentProcess) {
        let directory = uniqueDirectory("errno-hostile")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let agent = try AgentProcess(config: "triggers:\n  - {name: \(name), path_prefix: \(directory)/, max_per_minute: 0}\n")
        return (directory, agent)
    }

    /// Runs `script` with sh as nobody, without capabilities or supplementary groups.
    @discardableResult
    static func asNobody(_ script: String) async throws -> Int32 {
        let file = NSTemporaryDirectory() + "errno-nobody-\(UUID().uuidString.prefix(8)).sh"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(chmod(file, 0o755) == 0)
        return try await offPool { try shell("setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all sh \(file) 2>/dev/null").status }
    }

    static func rssKilobytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
    }

    @Test func aFifoForAPerfMapHangsNothing() async throws {
        try requireRoot()
        let (directory, agent) = try Self.setUp("fifo")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A shell whose pid has no perf map left behind by another process (which nobody could not
        // replace) makes the FIFO, then fails to open the trigger's path.
        try await Self.asNobody(
            "for i in 1 2 3 4 5 6 7 8; do sh -c 'mkfifo /tmp/perf-$$.map 2>/dev/null || exit 3; exec cat \(directory)/victim'; [ $? -ne 3 ] && break; done")
        let first = try #require(try await agent.waitForCaptures(trigger: "fifo").first)
        try? FileManager.default.removeItem(atPath: "/tmp/perf-\(first.pid).map")
        // The capture thread is still serving: the next capture arrives, the agent answers and stops.
        try await runFixture(try FixtureProgram.path("deep_fp"), path: "\(directory)/after")
        #expect(try await agent.waitForCaptures(trigger: "fifo", count: 2).count == 2)
        #expect(try await agent.get("/-/healthy").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func aPerfMapLinkedToARootOnlyFileIsNotRead() async throws {
        try requireRoot()
        let (directory, agent) = try Self.setUp("link")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secretDirectory = uniqueDirectory("errno-secret")
        try FileManager.default.createDirectory(atPath: secretDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: secretDirectory) }
        let secret = "\(secretDirectory)/root-only.map"
        try "0 ffffffffffffff SECRET_ROOT_ONLY_LINE\n".write(toFile: secret, atomically: true, encoding: .utf8)
        #expect(chmod(secret, 0o600) == 0)
        // An absolute and a relative link, both owned by nobody, both to the root-only file.
        try await Self.asNobody("ln -s \(secret) /tmp/perf-$$.map && exec cat \(directory)/absolute")
        try await Self.asNobody("ln -s ../..\(secret) /tmp/perf-$$.map && exec cat \(directory)/relative")
        let captures = try await agent.waitForCaptures(trigger: "link", count: 2)
        for capture in captures {
            try? FileManager.default.removeItem(atPath: "/tmp/perf-\(capture.pid).map")
            #expect(!capture.symbols.contains { $0.contains("SECRET") }, "\(capture.symbols)")
        }
        #expect(try await !agent.get("/").body.contains("SECRET"))
        #expect(!agent.stderr.text.contains("SECRET"))
        #expect(try agent.stop() == 0)
    }

    @Test func aHostileFileNameIsShownAsText() async throws {
        try requireRoot()
        let (directory, agent) = try Self.setUp("name")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // U+0600 merges with the next character into one grapheme: escaping must go by scalar.
        try await Self.asNobody("exec cat '\(directory)/\u{600}<img src=x onerror=alert(1)>\u{600}\"'")
        #expect(try await agent.waitForCaptures(trigger: "name").count == 1)
        let page = try await agent.get("/")
        #expect(!page.body.contains("<img"))
        #expect(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.headers["x-content-type-options"] == "nosniff")
        #expect(try agent.stop() == 0)
    }

    @Test func hugeSparsePerfMapsStayWithinTheMemoryBound() async throws {
        try requireRoot()
        let (directory, agent) = try Self.setUp("sparse")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for index in 0..<4 {
            // 100 GB of nothing, and a map full of long names: both are read only up to their bounds.
            try await Self.asNobody(index % 2 == 0
                ? "truncate -s 100G /tmp/perf-$$.map && exec cat \(directory)/sparse\(index)"
                : "awk 'BEGIN { for (i = 0; i < 40000; i++) printf \"%x 10 %0900d\\n\", 4096 + i * 16, i }' > /tmp/perf-$$.map && exec cat \(directory)/names\(index)")
        }
        let captures = try await agent.waitForCaptures(trigger: "sparse", count: 4)
        for capture in captures { try? FileManager.default.removeItem(atPath: "/tmp/perf-\(capture.pid).map") }
        #expect(try Self.rssKilobytes(agent.process.processIdentifier) < 150 * 1024)
        #expect(try await agent.get("/-/healthy").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func aStackPointerAtTheTopOfTheAddressSpaceCrashesNothing() async throws {
        try requireRoot()
        let (directory, agent) = try Self.setUp("stack")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.asNobody("exec \(try FixtureProgram.path("deep_fp")) --hostile-stack \(directory)/top")
        let capture = try #require(try await agent.waitForCaptures(trigger: "stack").first)
        #expect(capture.unwind.end != "outermost", "nothing can be unwound from there: \(capture.unwind)")
        #expect(capture.user_stack.count <= 2)
        #expect(try await agent.get("/-/healthy").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func connectionsBeyondTheCapAreClosedAndCapturesGoOn() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-hostile")
        let agent = try AgentProcess(
            config: "triggers:\n  - {name: busy, path_prefix: \(directory)/, max_per_minute: 0}\n", arguments: ["--web.max-connections=20"])
        var idle = try (0..<60).map { _ in try LimitsTests.RawConnection(agent.address) }
        // The connections beyond the cap are closed as they are accepted; those within it stay.
        let closed = idle.filter { $0.readUntilClosed(timeout: 0.05).closed }.count
        #expect(closed >= 40, "\(closed) of 60 closed")
        // Meanwhile the capture thread still has the descriptors it needs to read ELF files.
        try await runFixture(try FixtureProgram.path("deep_fp"), path: "\(directory)/saturated")
        idle.removeAll()
        // The server frees the slots as it sees the closes: a new request succeeds within moments.
        let deadline = Date().addingTimeInterval(10 * testTimeScale)
        while Date() < deadline, (try? await agent.get("/-/healthy").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let capture = try #require(try await agent.waitForCaptures(trigger: "busy").first)
        #expect(Array(capture.symbols.dropFirst().prefix(4)) == TriggerTests.chain, "\(capture.symbols)")
        let scrape = try await agent.scrape()
        #expect((scrape.value("errno_exporter_http_connections_refused_total") ?? 0) >= 40)
        #expect(agent.stderr.text.components(separatedBy: "connection refused: too many open connections").count == 2, "logged once")
        #expect(try agent.stop() == 0)
    }
}
