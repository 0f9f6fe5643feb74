import Stacks

/// The culprit of a capture: the innermost frame in the application's own code — what an engineer
/// reads first. Not libc, not the runtime: for a JavaScript stack, the first JS frame outside
/// node's own `node:` modules; for native code, the first named frame in the main executable or
/// in a library outside the system's library directories. Nil when no frame qualifies (a stack of
/// system code only, or nothing named).
extension Capture {
    public var culprit: StackFrame? { Self.culprit(in: userStack) }

    /// Directories whose libraries are the system's, not the application's.
    static let systemDirectories = ["/usr/lib/", "/lib/", "/lib64/", "/usr/lib64/", "/usr/libexec/"]

    public static func culprit(in frames: [StackFrame]) -> StackFrame? {
        let javaScript = isJavaScript(frames)
        return frames.first { isApplicationFrame($0, javaScript: javaScript) }
    }

    /// Whether a stack has JavaScript frames: then only they can be the application's.
    public static func isJavaScript(_ frames: [StackFrame]) -> Bool {
        frames.contains { $0.symbol?.hasPrefix("JS:") == true }
    }

    /// Whether `frame` is the application's own code, in a stack that is (`javaScript`) or is not
    /// a JavaScript one: a JS frame outside `node:` modules; else a named frame of a module outside
    /// the system's library directories (the main executable included, wherever it is).
    public static func isApplicationFrame(_ frame: StackFrame, javaScript: Bool) -> Bool {
        if javaScript { return frame.symbol?.hasPrefix("JS:") == true && !(frame.file ?? "").hasPrefix("node:") }
        guard frame.symbol != nil, frame.method != .kernel, let module = frame.module, !module.hasPrefix("[") else { return false }
        return !systemDirectories.contains { module.hasPrefix($0) }
    }
}
