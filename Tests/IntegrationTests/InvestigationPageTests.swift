import FixtureSupport
import Foundation
import Glibc
import Testing

/// The landing page as the investigation page, in headless Chromium against the real agent, the
/// real kernel and the lab's node: what fails now, a live watch whose failures stream in after the
/// page loaded, one-click stack capture with the culprit first, hostile names as text, a phone-width
/// layout, no request to any other host; and the reason the live parts are off without the flag.
@Suite(.timeLimit(.minutes(5)))
struct InvestigationPageTests {
    /// The text of each row of a table on the page, cell by cell.
    static func rows(_ browser: Browser, _ table: String) throws -> [[String]] {
        try browser.evaluate("Array.from(document.querySelectorAll('#\(table) tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent))") as? [[String]] ?? []
    }

    @Test func theInvestigationPageShowsWhatFailsStreamsCapturesAndEscapes() async throws {
        try requireRoot()
        try #require(!FileManager.default.fileExists(atPath: "/etc/nodey.conf"), "the lab needs /etc/nodey.conf to be missing")
        let nodey = try NodeyTests.Nodey()
        let pid = nodey.process.processIdentifier, port = nodey.port
        let hostilePath = "/tmp/<img src=x onerror=document.title='owned'>.conf", hostileComm = "x<i>y"
        // Counting only node and the hostile comm: what fails now is theirs, whatever else the machine does.
        let agent = try AgentProcess(config: "filters:\n  comms: [node, '\(hostileComm)']\n", arguments: ["--web.enable-investigations"])
        let about = { @Sendable in _ = try await offPool { try shell("curl -s http://127.0.0.1:\(port)/about") } }
        try await about()
        let browser = try Browser()
        let url = "http://\(agent.address)/"
        try await offPool { try browser.navigate(url) }

        // What fails now: nodey's failing open, among the machine's.
        let recent = try Self.rows(browser, "recent-syscalls")
        #expect(recent.contains { $0.prefix(3) == ["openat", "ENOENT", "node"] }, "\(recent)")
        #expect(try Self.rows(browser, "recent-paths").contains { $0.prefix(4) == ["/etc/nodey.conf", "openat", "ENOENT", "node"] })

        // Live: watch nodey; a failure performed after the page loaded streams in.
        _ = try browser.evaluate("const f = document.getElementById('live-form'); f.elements.pid.value = '\(pid)'; f.requestSubmit(); true")
        #expect(try await browser.waitFor("document.getElementById('live-status').textContent.startsWith('Watching pid \(pid)')", timeout: 60), "\(((try? browser.evaluate("document.getElementById('live-status').textContent")) as? String) ?? "")")
        try await about()
        let streamed = "Array.from(document.querySelectorAll('#live-events tbody tr')).some(r => r.cells[5].textContent === '/etc/nodey.conf' && r.cells[4].textContent === 'ENOENT' && r.cells[2].textContent === 'node')"
        #expect(try await browser.waitFor(streamed), "\((try? Self.rows(browser, "live-events")) ?? [])")

        // One click captures the path's stacks; the next failure's capture arrives, culprit first.
        _ = try browser.evaluate("document.querySelector('#live-events button.capture-stacks').click(); true")
        #expect(try await browser.waitFor("document.getElementById('live-status').textContent.startsWith('Capturing the stacks of /etc/nodey.conf as trigger adhoc-')"))
        try await about()
        #expect(try await browser.waitFor("/loadConfig .*server\\.js:9$/.test(document.querySelector('#live-captures .culprit code')?.textContent ?? '')", timeout: 30),
            "\(((try? browser.evaluate("document.getElementById('live-captures').textContent")) as? String) ?? "")")
        #expect(try browser.evaluate("document.querySelector('#live-captures a[href$=\"format=svg\"]') !== null") as? Bool == true)

        // Hostile names (a comm and a path that are markup) render as text, here and in what fails now.
        let load = try WaitingLoad(comm: hostileComm, paths: [PathPlan("openat", 2, hostilePath)])
        _ = try browser.evaluate("const g = document.getElementById('live-form'); g.elements.pid.value = ''; g.elements.comm.value = '\(hostileComm)'; g.requestSubmit(); true")
        #expect(try await browser.waitFor("document.getElementById('live-status').textContent.startsWith('Watching comm \(hostileComm)')", timeout: 60))
        try load.release()
        #expect(try await browser.waitFor("Array.from(document.querySelectorAll('#live-events tbody tr')).some(r => r.cells[5].textContent === \"\(hostilePath)\" && r.cells[2].textContent === '\(hostileComm)')"))
        // The comm's own view of what fails now (where the suite's other node processes cannot
        // outrank two failures); it refreshes every 5 s, and a loaded machine can take a few.
        let commView = url + "?comm=" + (hostileComm.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        try await offPool { try browser.navigate(commView) }
        #expect(try await browser.waitFor("Array.from(document.querySelectorAll('#recent-paths code')).some(c => c.textContent === \"\(hostilePath)\")", timeout: 60),
            "\((try? Self.rows(browser, "recent-paths")) ?? [])")
        #expect(try browser.evaluate("document.querySelectorAll('img, i').length") as? Int == 0)
        #expect(try browser.evaluate("document.title") as? String == "errno_exporter")

        // Looked at: 1280×800 and a phone's 390×844, which must not scroll sideways.
        let shots = NSTemporaryDirectory() + "errno-investigation-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        try browser.screenshot("\(shots)/desktop-1280x800.png")
        _ = try browser.evaluate("document.getElementById('live').scrollIntoView(); true")
        try browser.screenshot("\(shots)/desktop-live-1280x800.png")
        try browser.viewport(width: 390, height: 844)
        #expect(try await browser.waitFor("document.documentElement.scrollWidth <= window.innerWidth"),
            "\(((try? browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")) as? [Int]) ?? [])")
        try browser.screenshot("\(shots)/phone-390x844.png")
        for shot in ["desktop-1280x800.png", "desktop-live-1280x800.png", "phone-390x844.png"] {
            #expect(((try? FileManager.default.attributesOfItem(atPath: "\(shots)/\(shot)")[.size] as? Int) ?? 0) > 10_000)
        }
        print("investigation page screenshots: \(shots)")

        // Nothing but the agent was asked for anything.
        let requests = try browser.requests()
        #expect(!requests.isEmpty && requests.allSatisfy { $0.hasPrefix("http://\(agent.address)/") }, "\(requests)")
        // Stop ends the watch in the agent.
        _ = try browser.evaluate("document.getElementById('live-stop').click(); true")
        #expect(try await browser.waitFor("document.getElementById('live-status').textContent === 'Stopped.'"))
        #expect(try InvestigationTests.call(agent, "GET", "/api/v1/watches").body.contains(#""data":[]"#))
        #expect(try agent.stop() == 0)
    }

    @Test func withoutInvestigationsTheLiveViewSaysWhy() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let browser = try Browser()
        try await offPool { try browser.navigate("http://\(agent.address)/") }
        #expect(try browser.evaluate("document.getElementById('live-form') === null") as? Bool == true)
        let said = try browser.evaluate("document.getElementById('live').textContent") as? String ?? ""
        #expect(said.contains("Live investigations are disabled: start errno_exporter with --web.enable-investigations"), "\(said)")
        #expect(try Self.rows(browser, "recent-syscalls").count > 0)
        #expect(try agent.stop() == 0)
    }
}
