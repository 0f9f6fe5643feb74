/// What names a process's JIT code: V8's code log, which knows optimized code's inlined functions
/// and lines, and the perf map, which names every code object once. Where both cover an address,
/// they must agree on the code (its start and its name); else the perf map, which is written as
/// code is made, names the newer code. Without a perf map the log is taken only while it is
/// complete (`V8CodeLog.trustedAlone`).
public struct JITSymbols {
    public var codeLog: V8CodeLog?
    public var perfMap: PerfMap?

    public init(codeLog: V8CodeLog? = nil, perfMap: PerfMap? = nil) {
        self.codeLog = codeLog
        self.perfMap = perfMap
    }

    /// The frames of JIT code at `address` (for a caller, the byte before its return address),
    /// innermost first, and what named them; nil when neither source covers it.
    public func frames(at address: UInt64) -> (frames: [JITFrame], namedBy: FrameNaming)? {
        let mapped = perfMap?.symbol(at: address)
        if let codeLog, let logged = codeLog.frames(at: address), let outer = logged.last {
            if let (name, offset) = mapped {
                if offset == outer.offset, PerfMap.sourceLocation(of: name).function == outer.symbol { return (logged, .v8Log) }
            } else if codeLog.trustedAlone {
                return (logged, .v8Log)
            }
        }
        guard let (name, offset) = mapped else { return nil }
        let (function, file, line) = PerfMap.sourceLocation(of: name)
        return ([JITFrame(symbol: function, file: file, line: line, inlined: false, offset: offset)], .perfMap)
    }
}
