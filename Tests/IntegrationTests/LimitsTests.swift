import FixtureSupport
import Foundation
import Glibc
import Testing

/// Hostile and slow clients: they cost the agent a bounded amount and cannot stall it.
@Suite(.timeLimit(.minutes(5)))
struct LimitsTests {
    /// A raw TCP connection to the agent.
    final class RawConnection {
        let fd: Int32

        init(_ address: String) throws {
            let parts = address.split(separator: ":")
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
            address.sin_addr.s_addr = inet_addr(String(parts[0]))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0, "connect failed: errno \(errno)")
        }

        deinit { close(fd) }

        func send(_ text: String) {
            _ = text.withCString { write(fd, $0, strlen($0)) }
        }

        /// What the server sends until it closes, or until `timeout` seconds pass; and whether it closed.
        func readUntilClosed(timeout: Double) -> (text: String, closed: Bool) {
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var received = [UInt8]()
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                guard poll(&pollfd, 1, 100) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 65536)
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
                received += buffer[0..<count]
            }
            return (String(decoding: received, as: UTF8.self), false)
        }
    }

    @Test func stalledHalfRequestsNeitherBlockScrapesNorLinger() async throws {
        try requireRoot()
        // A long idle timeout (longer than a loaded host may keep this test waiting): the scrape must
        // succeed while all 100 stalled clients are still connected.
        let patient = try AgentProcess(config: "filters:\n  comms: [\(uniqueComm("el_stall_"))]\n", arguments: ["--web.idle-timeout=600"])
        let stalled = try (0..<100).map { _ in try RawConnection(patient.address) }
        for connection in stalled { connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ") }
        #expect(try await patient.get("/metrics").status == 200, "scrapes go on while 100 clients stall")
        for connection in stalled.prefix(5) {
            #expect(!connection.readUntilClosed(timeout: 0.2).closed, "the stalled clients were still connected during the scrape")
        }
        #expect(try patient.stop() == 0)

        // A short one: a stalled client is closed, not kept forever.
        let strict = try AgentProcess(config: "filters:\n  comms: [\(uniqueComm("el_idle_"))]\n", arguments: ["--web.idle-timeout=1"])
        let idle = try RawConnection(strict.address)
        idle.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        #expect(idle.readUntilClosed(timeout: 15).closed, "an idle half-request is closed after the idle timeout")
        #expect(try strict.stop() == 0)
    }

    @Test func oversizedHeadersAreRefusedAndTheAgentGoesOn() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let connection = try RawConnection(agent.address)
        connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "a", count: 100_000))\r\n\r\n")
        let answer = connection.readUntilClosed(timeout: 5)
        #expect(answer.closed)
        #expect(!answer.text.contains("200 OK"), "a 100 KB header must not be served: \(answer.text.prefix(80))")
        let many = try RawConnection(agent.address)
        many.send("GET /metrics HTTP/1.1\r\nHost: x\r\n" + (0..<500).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(!many.readUntilClosed(timeout: 5).text.contains("200 OK"), "500 header fields must not be served")
        #expect(try await agent.get("/metrics").status == 200)
        #expect(try agent.stop() == 0)
    }

    @Test func scrapesBeyondTheCapGet503() async throws {
        try requireRoot()
        let comm = uniqueComm("el_cap_")
        let agent = try AgentProcess(config: "paths:\n  max_series: 40000\nfilters:\n  comms: [\(comm)]\n", arguments: ["--web.max-requests=1"])
        try shell("\(Products.load) --comm \(comm) --distinct-paths 20000 /nonexistent/errno-cap/p")
        let scrapes = try (0..<6).map { _ in
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(agent.address)/metrics"]
            let output = Pipe()
            curl.standardOutput = output
            try curl.run()
            return (curl, output)
        }
        let codes = scrapes.map { curl, output in
            let code = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            curl.waitUntilExit()
            return code
        }
        #expect(codes.count == 6)
        #expect(codes.contains("200"))
        #expect(codes.contains("503"), "six concurrent scrapes of 20,000 series with --web.max-requests=1: \(codes)")
        #expect(Set(codes).isSubset(of: ["200", "503"]))
        #expect(try await agent.get("/metrics").status == 200, "the cap frees up again")
        #expect(try agent.stop() == 0)
    }
}
