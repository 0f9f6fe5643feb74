import Foundation
import Testing

/// /metrics in every format a scraper asks for: same values in each, gzip when asked.
@Suite(.timeLimit(.minutes(2)))
struct ExpositionFormatTests {
    @Test func textOpenMetricsAndGzipCarryTheSameValues() async throws {
        try requireRoot()
        let comm = uniqueComm("ex_fmt_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        try runLoad(comm: comm, badRead: 21, paths: [PathPlan("openat", 4, "/nonexistent/errno-formats \"q\"")])

        let text = try await agent.get("/metrics")
        #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let openMetrics = try await agent.get("/metrics", headers: ["Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"])
        #expect(openMetrics.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(openMetrics.body.hasSuffix("# EOF\n"))
        #expect(openMetrics.body.contains("# TYPE errno_syscall_failures counter\n"))

        let textScrape = try Scrape(text: text.body)
        let omScrape = try Scrape(text: openMetrics.body.replacingOccurrences(of: "# EOF\n", with: ""))
        let failure = ["syscall": "read", "errno": "EBADF", "comm": comm]
        let path = ["syscall": "openat", "path": "/nonexistent/errno-formats \"q\"", "errno": "ENOENT", "comm": comm]
        for scrape in [textScrape, omScrape] {
            #expect(scrape.value("errno_syscall_failures_total", failure) == 21)
            #expect(scrape.value("errno_path_failures_total", path) == 4)
        }

        // curl decompresses what it asked for in gzip; the header says it was compressed.
        let gzip = try shell("curl -s --compressed -D - http://\(agent.address)/metrics")
        #expect(gzip.output.lowercased().contains("content-encoding: gzip"))
        let body = String(gzip.output[gzip.output.range(of: "\r\n\r\n")!.upperBound...])
        #expect(try Scrape(text: body).value("errno_syscall_failures_total", failure) == 21)
        let plain = try shell("curl -s -D - -H 'Accept-Encoding: gzip;q=0' http://\(agent.address)/metrics")
        #expect(!plain.output.lowercased().contains("content-encoding"))
        #expect(try agent.stop() == 0)
    }
}
