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
        let javaScript = frames.filter { $0.symbol?.hasPrefix("JS:") == true }
        if !javaScript.isEmpty {
            return javaScript.first { !($0.file ?? "").hasPrefix("node:") }
        }
        // Every module outside the system's library directories is the application's, the main
        // executable included wherever it is (/usr/bin/…).
        return frames.first { frame in
            guard frame.symbol != nil, frame.method != .kernel, let module = frame.module, !module.hasPrefix("[") else { return false }
            return !systemDirectories.contains { module.hasPrefix($0) }
        }
    }
}
