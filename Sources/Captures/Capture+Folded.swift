import Stacks

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

    /// Folded lines separate frames with `;` and end with ` count`: neither may appear in a name.
    static func foldedName(_ name: String) -> String {
        String(name.map { $0 == ";" || $0 == "\n" ? "_" : $0 })
    }
}
