import Foundation
import Testing

@testable import ErrnoClient

/// How `errno_exporter trace` prints a capture, and what it asks the agent for.
@Suite struct CaptureViewTests {
    static let capture = #"""
        {"id":"7","time":"2026-11-30T14:02:03.1Z","pid":42,"tid":43,"comm":"node","syscall":"openat","path":"/etc/nodey.conf",
         "errno":"ENOENT","result":-2,
         "user_stack":[
           {"address":"0x1","symbol":"open64","offset":81,"module":"/usr/lib/x86_64-linux-gnu/libc.so.6","inlined":false},
           {"address":"0x2","symbol":"open_read_only","module":"/bin/x","file":"/src/x.c","line":20,"inlined":true},
           {"address":"0x3","symbol":"loadConfig","module":"[jit]","file":"/app/server.js","line":9,"inlined":false},
           {"address":"0x4","module":"[anon]"},
           {"address":"0x5","symbol":"evil\u001b[2J","module":"/tmp/x\u0007","offset":1}],
         "kernel_stack":[{"address":"0x9","symbol":"do_sys_openat2","offset":5,"module":"[kernel]"}],
         "culprit":{"address":"0x3","symbol":"loadConfig","module":"[jit]","file":"/app/server.js","line":9,"inlined":false},
         "submitted_by":{"tid":42,"user_stack":[{"address":"0x6","symbol":"handleAbout","module":"[jit]","file":"/app/server.js","line":20}]}}
        """#

    @Test func aCaptureIsAHeaderThenItsStacks() throws {
        let view = try JSONDecoder().decode(CaptureView.self, from: Data(Self.capture.utf8))
        #expect(view.lines() == [
            "2026-11-30T14:02:03.1Z pid 42 tid 43 node openat /etc/nodey.conf ENOENT (capture 7)",
            "  culprit: loadConfig /app/server.js:9",
            "    open64+0x51 (/usr/lib/x86_64-linux-gnu/libc.so.6)",
            "    open_read_only /src/x.c:20 [inlined]",
            "    loadConfig /app/server.js:9",
            "    0x4 ([anon])",
            #"    evil\u{1b}[2J+0x1 (/tmp/x\u{7})"#,
            "  submitted by tid 42:",
            "    handleAbout /app/server.js:20",
        ])
        #expect(view.lines(kernel: true).suffix(2) == ["  kernel:", "    do_sys_openat2+0x5 ([kernel])"])
    }

    @Test func theTriggerAskedForIsTheConfigsKeysPlusPidAndDuration() throws {
        var request = TraceSession.Request(duration: "10m")
        request.paths = ["/etc/nodey.conf"]
        request.pid = 42
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["path"] as? [String] == ["/etc/nodey.conf"] && body["pid"] as? Int == 42 && body["duration"] as? String == "10m")
        #expect(body["stacks"] as? [String] == ["user"] && body["path_prefix"] == nil && body["comm"] == nil)
    }
}
