import Stacks
import SystemSupport

extension Capture {
    /// Brendan Gregg's folded format, one line: `comm;outermost;…;innermost 1`, user frames then
    /// kernel frames (marked `_[k]`), for flame graph tools. An async request's submitting stack
    /// comes first, then `[submitted]`, then the pool thread's own frames: one stitched stack.
    public var folded: String {
        let submitted = submittedBy.map { $0.userStack.reversed().map { Self.foldedName($0.displayName) } + ["[submitted]"] } ?? []
        let user = userStack.reversed().map { Self.foldedName($0.displayName) }
        let kernel = kernelStack.reversed().map { Self.foldedName($0.displayName) + "_[k]" }
        return ([Self.foldedName(comm)] + submitted + user + kernel).joined(separator: ";") + " 1\n"
    }

    /// Folded lines separate frames with `;` and end with ` count` and a newline: a `;` or any
    /// control character (line breaks included) in a name becomes `_`, scalar by scalar (a
    /// `Character` may merge a `\r\n` or a `;` into the mark before it).
    static func foldedName(_ name: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            out.append(scalar == ";" || scalar.isControlCharacter ? "_" : scalar)
        }
        return String(out)
    }
}
