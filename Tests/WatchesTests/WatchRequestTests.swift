import Testing

@testable import Watches

/// `POST /api/v1/watches` bodies: one target, typed keys, bounded values, every problem reported.
@Suite struct WatchRequestTests {
    static func parse(_ body: String, max: Int = 3600) throws(WatchRequest.Invalid) -> WatchRequest {
        try WatchRequest.parse(Array(body.utf8), defaultSeconds: 300, maxSeconds: max)
    }

    @Test func aTargetWithDefaults() throws {
        #expect(try Self.parse(#"{"pid": 42}"#) == WatchRequest(target: .pid(42), durationSeconds: 300))
        #expect(try Self.parse(#"{"comm": "node", "paths_only": true, "duration": "10m", "events_per_second": 50}"#)
            == WatchRequest(target: .comm("node"), pathsOnly: true, durationSeconds: 600, eventsPerSecond: 50))
        #expect(try Self.parse(#"{"cgroup": "/system.slice/nginx.service"}"#).target == .cgroup("/system.slice/nginx.service"))
    }

    @Test func refusalsSayWhy() {
        for (body, reason) in [
            (#"{}"#, "name exactly one target"),
            (#"{"pid": 1, "comm": "x"}"#, "name exactly one target"),
            (#"{"pid": 0}"#, "pid: expected a process id"),
            (#"{"pid": 4194305}"#, "pid: expected a process id"),
            (#"{"pid": "42"}"#, "pid: expected a process id"),
            (#"{"pid": 1.5}"#, "pid: expected a process id"),
            (#"{"pid": true}"#, "pid: expected a process id"),
            (#"{"comm": "sixteen-bytes-xx"}"#, "comm: expected a process name of 1 to 15 bytes"),
            (#"{"comm": ""}"#, "comm: expected a process name"),
            (#"{"cgroup": "relative"}"#, "cgroup: expected an absolute cgroup v2 path"),
            (#"{"cgroup": "/a/../../etc"}"#, "cgroup: expected an absolute cgroup v2 path without . or .."),
            (#"{"cgroup": "/"}"#, "the root is every process"),
            (#"{"cgroup": "/\#((1...16).map { "l\($0)" }.joined(separator: "/"))"}"#, "1 to 15 levels deep"),
            (#"{"pid": 1, "paths_only": "yes"}"#, "paths_only: expected true or false"),
            (#"{"pid": 1, "paths_only": 1}"#, "paths_only: expected true or false"),
            (#"{"pid": 1, "duration": "2h"}"#, "duration: expected a duration from 1s to 1h"),
            (#"{"pid": 1, "duration": 60}"#, "duration: expected a duration"),
            (#"{"pid": 1, "events_per_second": 0}"#, "events_per_second: expected 1 to 100000"),
            (#"{"pid": 1, "bogus": 1}"#, "unknown key bogus"),
            ("[1]", "expected a JSON object"),
            ("not json", "expected a JSON object"),
            (String(repeating: " ", count: 5000), "over 4096 bytes"),
            (String(repeating: "[", count: 4000), "expected a JSON object"),
            (String(repeating: #"{"a":"#, count: 800), "expected a JSON object"),
        ] {
            #expect(throws: WatchRequest.Invalid.self, "\(body)") { try Self.parse(body) }
            do {
                _ = try Self.parse(body)
            } catch {
                #expect(error.description.contains(reason), "\(body) → \(error)")
            }
        }
    }

    @Test func everyProblemAtOnce() {
        do {
            _ = try Self.parse(#"{"pid": -3, "duration": "x", "zzz": 1}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.count == 3, "\(error)")
        }
    }
}
