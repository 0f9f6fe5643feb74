import SystemSupport
import Testing

@testable import ErrnoAgent

/// Log values come from other users' processes (paths, comms, frame names): one value must never
/// become two lines, move the terminal's cursor, or grow a line without bound.
@Suite struct LineLogHandlerTests {
    @Test func plainValuesStayBareAndOthersAreQuoted() {
        #expect(LineLogHandler.logfmtValue("openat") == "openat")
        #expect(LineLogHandler.logfmtValue(#"C:\dir"#) == #"C:\dir"#)
        #expect(LineLogHandler.logfmtValue("a b") == #""a b""#)
        #expect(LineLogHandler.logfmtValue("") == #""""#)
    }

    @Test func everyControlCharacterIsEscaped() {
        let hostile = "x\r\n\u{1b}[2Jlevel=error msg=\"forged\"\u{85}\u{2028}\u{7f}"
        let value = LineLogHandler.logfmtValue(hostile)
        #expect(value == #""x\r\n\u001b[2Jlevel=error msg=\"forged\"\u0085\u2028\u007f""#)
        #expect(!value.unicodeScalars.contains { $0.isControlCharacter })
        // U+0600 merges with a following character into one grapheme: escaping goes by scalar.
        #expect(LineLogHandler.logfmtValue("\u{600}\n") == #""\#u{600}\n""#)
        #expect(!LineLogHandler.jsonString("a\u{0}\u{85}b").unicodeScalars.contains { $0.isControlCharacter })
    }

    @Test func longValuesAreCutAndMarked() {
        let value = LineLogHandler.logfmtValue(String(repeating: "é", count: 10_000))
        #expect(value.utf8.count <= LineLogHandler.maxValueBytes + 20)
        #expect(value.hasSuffix("…[truncated]"))
    }
}
