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
