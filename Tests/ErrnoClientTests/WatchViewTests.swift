import Foundation
import Testing

@testable import ErrnoClient

/// `top`'s table and `snoop`'s lines from the agent's JSON.
@Suite struct WatchViewTests {
    static func summary(_ json: String) throws -> WatchSummaryView {
        try JSONDecoder().decode(WatchSummaryView.self, from: Data(json.utf8))
    }

    @Test func topShowsTotalsAndTheLastInterval() throws {
        let before = try Self.summary(
            #"{"id":"3","created":"2026-11-30T16:00:00.000000Z","failures":2,"summary_full":0,"syscalls":[{"syscall":"openat","errno":"ENOENT","count":2}],"paths":[]}"#)
        let now = try Self.summary(
            #"{"id":"3","created":"2026-11-30T16:00:00.000000Z","failures":6,"summary_full":0,"syscalls":[{"syscall":"openat","errno":"ENOENT","count":5},{"syscall":"read","errno":"EBADF","count":1}],"paths":[{"path":"/etc/nodey.conf","syscall":"openat","errno":"ENOENT","count":5}]}"#)
        let lines = TopTable(summary: now, previous: before, target: "pid 42", intervalSeconds: 1).lines(time: "16:00:05")
        #expect(lines[0] == "16:00:05  watch 3 on pid 42: 6 failures since 2026-11-30T16:00:00.000000Z")
        #expect(lines[1].split(separator: " ", omittingEmptySubsequences: true) == ["SYSCALL", "ERRNO", "COUNT", "LAST", "1s"])
        #expect(lines[2].split(separator: " ", omittingEmptySubsequences: true) == ["openat", "ENOENT", "5", "3"])
        #expect(lines[3].split(separator: " ", omittingEmptySubsequences: true) == ["read", "EBADF", "1", "1"])
        #expect(lines.contains { $0.hasPrefix("/etc/nodey.conf") && $0.hasSuffix(" 5") })
    }

    @Test func snoopLinesAndStreamItems() {
        #expect(WatchStreamLine(json: #"{"comm":"node","errno":"ENOENT","path":"/etc/nodey.conf","pid":42,"syscall":"openat","tid":43,"time":"2026-11-30T16:45:23.294316Z"}"#)
            == .failure(time: "2026-11-30T16:45:23.294316Z", pid: 42, tid: 43, comm: "node", syscall: "openat", errno: "ENOENT", path: "/etc/nodey.conf"))
        #expect(WatchStreamLine(json: #"{"dropped":3,"reason":"rate_limited"}"#) == .dropped(count: 3, reason: "rate_limited"))
        #expect(WatchStreamLine(json: #"{"end":"expired"}"#) == .end(reason: "expired"))
        #expect(WatchStreamLine(json: #"{"heartbeat":"2026-11-30T16:45:23Z"}"#) == .heartbeat)
        #expect(WatchStreamLine(json: #"{"subscribed":"2026-11-30T16:45:23Z","watch":"1"}"#) == .subscribed)
        #expect(WatchStreamLine(json: "garbage") == nil && WatchStreamLine(json: "{}") == nil)
        let line = WatchTools.snoopLine(time: "2026-11-30T16:45:23.294316Z", pid: 42, tid: 43, comm: "node", syscall: "openat", errno: "ENOENT", path: "/etc/nodey.conf")
        #expect(line.split(separator: " ", omittingEmptySubsequences: true) == ["16:45:23.294316", "42", "43", "node", "openat", "ENOENT", "/etc/nodey.conf"])
        #expect(WatchTools.snoopHeader.hasPrefix("TIME") && WatchTools.snoopHeader.hasSuffix("PATH"))
    }
}
