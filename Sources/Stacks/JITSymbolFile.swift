/// A file a JIT writes for profilers (a perf map, V8's log), read as it grows and within bounds.
public protocol JITSymbolFile: AnyObject {
    /// Reads what was appended since the last call; false when the file cannot be read or is refused.
    @discardableResult func refresh() -> Bool
    /// Lines skipped so far: too long, malformed, or past a bound on what is kept.
    var refusedLines: Int { get }
    /// A bound on the bytes read was reached: the rest of the file never will be.
    var exhausted: Bool { get }
}

/// What reading JIT symbol files refused or cut, since the agent started, by file: the counts only grow.
public struct JITFileTally: Sendable, Equatable {
    public var refusedLines: [FrameNaming: Int] = [:]
    public var truncatedFiles: [FrameNaming: Int] = [:]

    public init() {}

    /// Refreshes `file` (a `kind` of file) and counts what the refresh refused or cut.
    mutating func refresh(_ file: some JITSymbolFile, kind: FrameNaming) -> Bool {
        let (refused, exhausted) = (file.refusedLines, file.exhausted)
        let readable = file.refresh()
        refusedLines[kind, default: 0] += max(0, file.refusedLines - refused)
        if file.exhausted, !exhausted { truncatedFiles[kind, default: 0] += 1 }
        return readable
    }
}
