import FixtureSupport
import Foundation
import Glibc
import Testing

/// HTTP endpoints, startup failures with one clear line, and a shutdown that leaves nothing behind.
@Suite(.timeLimit(.minutes(5)))
struct AgentLifecycleTests {
    @Test func healthReadyLandingAndUnknownPaths() async throws {
        try requireRoot()
        let agent = try AgentProcess(arguments: ["--web.telemetry-path=/custom-metrics"])
        #expect(try await agent.get("/-/healthy").status == 200)
        #expect(try await agent.get("/-/ready").status == 200)
        let landing = try await agent.get("/")
        #expect(landing.status == 200)
        #expect(landing.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(landing.body.contains(#"href="/custom-metrics""#))
        #expect(landing.body.contains("attached"))
        let metrics = try await agent.get("/custom-metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(try await agent.get("/metrics").status == 404)
        #expect(try agent.stop() == 0)
    }

    @Test func shutdownOnSIGTERMExitsZeroAndDetaches() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let held = try bpfObjectIDs(heldBy: agent.process.processIdentifier)
        #expect(!held.programs.isEmpty && !held.links.isEmpty, "the agent should hold its program and link")
        #expect(held.programs.allSatisfy { kernelHas("prog", $0) } && held.links.allSatisfy { kernelHas("link", $0) })
        #expect(try agent.stop() == 0)
        #expect(agent.stderr.text.contains("msg=\"shut down\""))
        // The kernel frees a program from a work queue after its last reference goes: allow it a moment.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, held.programs.contains(where: { kernelHas("prog", $0) }) { usleep(50_000) }
        for id in held.programs { #expect(!kernelHas("prog", id), "program \(id) outlived the agent") }
        for id in held.links { #expect(!kernelHas("link", id), "link \(id) outlived the agent") }
    }

    @Test func aPortInUseIsOneClearLine() throws {
        try requireRoot()
        let first = try AgentProcess()
        let second = try AgentProcess(arguments: ["--web.listen-address=\(first.address)"], waitForListening: false)
        let (status, output) = try second.waitForExit()
        #expect(status != 0)
        #expect(output.contains("address already in use"), "\(output)")
        #expect(!output.contains("Fatal error") && !output.contains("Stack dump"))
        #expect(try first.stop() == 0)
    }

    @Test func withoutPrivilegesItSaysWhichCapabilitiesAreMissing() throws {
        try requireRoot()
        let config = NSTemporaryDirectory() + "errno_exporter-nobody-\(UUID().uuidString).yml"
        try "".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let (status, output) = try shell(
            "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \(Products.agent) --config.file=\(config) --web.listen-address=127.0.0.1:0")
        #expect(status == 1)
        #expect(output.contains("missing CAP_BPF, CAP_PERFMON: run errno_exporter as root"), "\(output)")
        #expect(output.split(separator: "\n").count == 1, "\(output)")
    }

    @Test func badFlagsAndBadConfigsFailClearly() throws {
        let badFlag = try shell("\(Products.agent) --web.listen-adress=:1")
        #expect(badFlag.status != 0)
        #expect(badFlag.output.contains("Unknown option '--web.listen-adress'"))

        let badAddress = try shell("\(Products.agent) --web.listen-address=localhost")
        #expect(badAddress.status != 0)
        #expect(badAddress.output.contains("invalid listen address \"localhost\": missing \":port\""))

        let config = NSTemporaryDirectory() + "errno_exporter-bad-\(UUID().uuidString).yml"
        try "syscalls:\n  max_series: -3\n  colour: blue\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let badConfig = try shell("\(Products.agent) --config.file=\(config) --web.listen-address=127.0.0.1:0")
        #expect(badConfig.status == 1)
        #expect(badConfig.output.contains("\(config):2:15: syscalls.max_series: -3 is out of range"))
        #expect(badConfig.output.contains("\(config):3:3: syscalls.colour: unknown key"))

        let missing = try shell("\(Products.agent) --config.file=/nonexistent/x.yml")
        #expect(missing.status == 1)
        #expect(missing.output.contains("/nonexistent/x.yml: cannot read the config file"))
    }

    @Test func configCheckLoadsAttachesAndDetaches() throws {
        try requireRoot()
        let (status, output) = try shell("\(Products.agent) --config.check --config.file=config/errno_exporter.yml")
        #expect(status == 0)
        #expect(output.contains("OK: config/errno_exporter.yml is valid; the BPF programs load and attach"), "\(output)")
    }

    @Test func versionNamesVersionRevisionAndLibbpf() throws {
        let (status, output) = try shell("\(Products.agent) --version")
        #expect(status == 0)
        #expect(output.hasPrefix("errno_exporter, version 0.1.0 (revision: "))
        #expect(output.contains("libbpf: 1."))
    }
}
