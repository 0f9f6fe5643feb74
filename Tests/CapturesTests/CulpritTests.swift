import Foundation
import Stacks
import Testing

@testable import Captures

/// The culprit: the innermost frame in the application's own code.
@Suite struct CulpritTests {
    static func frame(_ symbol: String?, _ module: String, file: String? = nil, line: Int? = nil, inlined: Bool = false) -> StackFrame {
        var frame = StackFrame(address: 0x1000, method: .cfi)
        frame.symbol = symbol
        frame.module = module
        frame.moduleAddress = module.hasPrefix("[") ? nil : 0x10
        frame.file = file
        frame.line = line
        frame.inlined = inlined
        return frame
    }

    @Test func forNodeTheFirstJavaScriptFrameOutsideNodesOwnModules() {
        let stack = [
            Self.frame("open64", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Self.frame("uv_fs_open", "/usr/bin/node"),
            Self.frame("JS:~readFileSync", "[jit]", file: "node:fs", line: 441),
            Self.frame("JS:~loadConfig", "[jit]", file: "/srv/server.js", line: 9),
            Self.frame("JS:~aboutText", "[jit]", file: "/srv/server.js", line: 13),
            Self.frame("_start", "/usr/bin/node"),
        ]
        #expect(Capture.culprit(in: stack)?.displayName == "JS:~loadConfig /srv/server.js:9")
        // Only node's own JavaScript: no culprit rather than a wrong one.
        #expect(Capture.culprit(in: Array(stack.prefix(3)) + [stack[5]]) == nil)
    }

    @Test func forNativeCodeTheFirstFrameInTheExecutableOrANonSystemLibrary() {
        let program = "/opt/app/bin/server"
        let stack = [
            Self.frame("open64", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Self.frame("open_read_only", program, file: "/src/deep.c", line: 20, inlined: true),
            Self.frame("open_config", program, file: "/src/deep.c", line: 30),
            Self.frame("__libc_start_main", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Self.frame("_start", program),
        ]
        #expect(Capture.culprit(in: stack)?.displayName == "open_read_only /src/deep.c:20")
        // A library of the application's own, outside the system's directories, comes first.
        let withLibrary = [stack[0], Self.frame("config_open", "/opt/app/lib/libconfig.so.1")] + stack.dropFirst()
        #expect(Capture.culprit(in: withLibrary)?.symbol == "config_open")
        // The system's libraries (and unnamed frames) are never the culprit.
        #expect(Capture.culprit(in: [stack[0], Self.frame(nil, program), stack[3]]) == nil)
    }
}
