import Stacks
import SystemSupport

extension Capture {
    /// Brendan Gregg's folded format, one line: `comm;outermost;…;innermost 1`, user frames then
    /// kernel frames (marked `_[k]`), for flame graph tools. An async request's submitting stack
    /// comes first, then `[submitted]`, then the pool thread's own frames: one stitched stack.
    public var folded: String { folded(buildIDs: false) }

    /// `folded`; with `buildIDs`, each frame whose module has a build ID ends in ` [<build ID>]`.
    public func folded(buildIDs: Bool) -> String {
        foldedFrames(buildIDs: buildIDs).joined(separator: ";") + " 1\n"
    }

    /// The folded line's frames, outermost (the comm) first.
    public func foldedFrames(buildIDs: Bool = false) -> [String] {
        func name(_ frame: StackFrame) -> String { Self.foldedName(frame.displayName(buildID: buildIDs)) }
        let submitted = submittedBy.map { $0.userStack.reversed().map(name) + ["[submitted]"] } ?? []
        let user = userStack.reversed().map(name)
        let kernel = kernelStack.reversed().map { name($0) + "_[k]" }
        return [Self.foldedName(comm)] + submitted + user + kernel
    }

    /// The modules of `frames` that were read as ELF files without a build ID, in stack order.
    public static func modulesWithoutBuildID(_ frames: [StackFrame]) -> [String] {
        var seen = Set<String>()
        return frames.compactMap { frame in
            guard frame.lacksBuildID, let module = frame.module, seen.insert(module).inserted else { return nil }
            return module
        }
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
