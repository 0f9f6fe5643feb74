/// A capture as `/api/v1/captures` serves it, as far as the command-line tools print it.
public struct CaptureView: Decodable, Sendable {
    public struct Frame: Decodable, Sendable {
        public let address: String
        public let symbol: String?
        public let offset: Int?
        public let module: String?
        public let file: String?
        public let line: Int?
        public let inlined: Bool?
    }

    public struct Submission: Decodable, Sendable {
        public let tid: Int
        public let user_stack: [Frame]
    }

    public let id: String
    public let time: String
    public let pid: Int
    public let tid: Int
    public let comm: String
    public let syscall: String
    public let path: String
    public let errno: String?
    public let result: Int
    public let user_stack: [Frame]
    public let kernel_stack: [Frame]
    public let submitted_by: Submission?
    /// The application's innermost frame, as the agent picked it.
    public let culprit: Frame?

    /// Lines as `errno_exporter trace` prints a capture: a header (time, pid/tid, comm, syscall,
    /// path, errno or result), the culprit, then the user stack innermost first, then the submitting stack of an
    /// async request; `kernel`: the kernel stack too. Every value from the capture is printed with
    /// control characters escaped (file and function names come from the traced process).
    public func lines(kernel: Bool = false) -> [String] {
        let outcome = errno ?? "= \(result)"
        var lines = ["\(time) pid \(pid) tid \(tid) \(Self.printable(comm)) \(syscall) \(Self.printable(path)) \(outcome) (capture \(id))"]
        if let culprit { lines.append("  culprit: " + Self.describe(culprit)) }
        lines += user_stack.map { "    " + Self.describe($0) }
        if let submitted_by {
            lines.append("  submitted by tid \(submitted_by.tid):")
            lines += submitted_by.user_stack.map { "    " + Self.describe($0) }
        }
        if kernel {
            lines.append("  kernel:")
            lines += kernel_stack.map { "    " + Self.describe($0) }
        }
        return lines
    }

    /// `function file:line` when the line is known (JavaScript, DWARF), else `function+0x1f (module)`,
    /// else `module+address` or the bare address; `[inlined]` marks a function inlined into the next.
    static func describe(_ frame: Frame) -> String {
        let inlined = frame.inlined == true ? " [inlined]" : ""
        guard let symbol = frame.symbol else { return printable("\(frame.address) (\(frame.module ?? "?"))") }
        if let file = frame.file { return printable("\(symbol) \(file):\(frame.line ?? 0)") + inlined }
        let offset = frame.offset.map { "+0x" + String($0, radix: 16) } ?? ""
        return printable("\(symbol)\(offset) (\(frame.module ?? "?"))") + inlined
    }

    /// `text` with control characters (terminal escapes among them) written as `\u{…}`.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
