import Foundation
import Stacks
import Testing

@testable import Captures

@Suite struct CaptureStoreTests {
    static func capture(_ trigger: String, path: String = "/etc/nodey.conf") -> Capture {
        Capture(triggers: [trigger], time: Date(), pid: 1, tid: 1, comm: "node", syscall: "openat", path: path, errno: "ENOENT", result: -2)
    }

    @Test func keepsTheNewestFirstWithinItsCapacity() {
        let store = CaptureStore(capacity: 3)
        for index in 0..<5 { store.add(Self.capture(index % 2 == 0 ? "even" : "odd")) }
        #expect(store.list().map(\.id) == [5, 4, 3])
        #expect(store.list(trigger: "even").map(\.id) == [5, 3])
        #expect(store.list(limit: 1).map(\.id) == [5])
        #expect(store.capture(id: 2) == nil, "replaced by newer captures")
        store.resize(2)
        #expect(store.list().map(\.id) == [5, 4])
        store.add(Self.capture("odd"))
        #expect(store.list().map(\.id) == [6, 5])
    }

    @Test func foldedStacksStitchTheSubmitterAndEscapeSeparators() {
        var capture = Self.capture("t")
        var inner = StackFrame(address: 1, method: .registers)
        inner.symbol = "open;64\nx"
        var outer = StackFrame(address: 2, method: .cfi)
        outer.symbol = "main"
        capture.userStack = [inner, outer]
        var submitter = StackFrame(address: 3, method: .framePointer)
        submitter.symbol = "JS:~loadConfig"
        capture.submittedBy = Capture.Submission(tid: 2, time: Date(), userStack: [submitter], unwind: .init())
        var kernel = StackFrame(address: 4, method: .kernel)
        kernel.symbol = "do_sys_openat2"
        capture.kernelStack = [kernel]
        #expect(capture.folded == "node;JS:~loadConfig;[submitted];main;open_64_x;do_sys_openat2_[k] 1\n")
    }
}

@Suite struct FoldedNameTests {
    @Test func noMarkOrSeparatorSmugglesALineOrAFrameIntoAFlameGraph() {
        // U+0600 merges a following \r\n or ; into one grapheme: replacement goes by scalar.
        let hostile = "f\u{600}\r\n" + "evil;stack 1000000\u{600};x\u{85}\u{2028}"
        let folded = Capture.foldedName(hostile)
        #expect(!folded.unicodeScalars.contains { $0 == ";" || $0 == "\n" || $0 == "\r" || $0.value == 0x85 || $0.value == 0x2028 })
        #expect(folded == "f\u{600}__evil_stack 1000000\u{600}_x__")
    }
}

/// pprof locations: functions inlined at an address join the location of the frame they were
/// inlined into; the encoded profile keeps them as its lines.
@Suite struct PprofLocationTests {
    static func frame(_ symbol: String, _ address: UInt64, inlined: Bool = false) -> StackFrame {
        var frame = StackFrame(address: address, method: .cfi)
        frame.symbol = symbol
        frame.module = "/bin/x"
        frame.inlined = inlined
        return frame
    }

    @Test func inlinedFramesJoinTheirCallersLocation() {
        let frames = [
            Self.frame("leaf", 1), Self.frame("inner", 2, inlined: true), Self.frame("middle", 2, inlined: true), Self.frame("caller", 2),
            Self.frame("root", 3), Self.frame("cut", 4, inlined: true),
        ]
        #expect(PprofProfile.locationGroups(frames).map { $0.map { $0.symbol ?? "" } } == [["leaf"], ["inner", "middle", "caller"], ["root"], ["cut"]])
        var capture = CaptureStoreTests.capture("t")
        capture.userStack = frames
        #expect(PprofProfile.encode([capture]) != nil)
    }
}
