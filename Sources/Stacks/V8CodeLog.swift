/// V8's code log, as Node.js writes it with `--log-code --log-source-position` (to `--logfile`): for
/// every piece of optimized code, the function it was compiled from and V8's own source position
/// table — which code offset runs which script offset, in which inlined function — with the table
/// of the functions inlined into it. With it a return address in optimized code becomes the frames
/// V8 compiled into that code, innermost first: the function really running there, the functions
/// that called it inside the same code (`inlined`), and the code's own function, each with its
/// script and line. A perf map names only the outermost of them.
///
/// The log is the process's to write: it is read as `AppendedLines` reads (the process user's
/// regular file, no link out of its root, a bound on bytes and line length), and what it says is
/// bounded here — functions, optimized code objects, positions and script lines kept — with every
/// number parsed checked. What passes a bound is dropped and counted (`droppedEntries`).
public final class V8CodeLog: JITSymbolFile {
    /// A function (V8's SharedFunctionInfo) as the log names it.
    struct Function {
        /// Empty for an anonymous function.
        var name: String
        /// The location in the log's name (`name file:line:column`): its script and first line.
        var file: String?
        var line: Int?
        /// The script the function's code says it belongs to: what script offsets count in.
        var scriptID: Int32?
    }

    /// One row of a code object's source position table.
    struct Position {
        let codeOffset: Int32
        /// In the script of the function running there; negative: none.
        let scriptOffset: Int32
        /// Index into `Code.inlinings`; -1: the code's own function.
        let inlining: Int32
    }

    /// Where a function was inlined: the call's script offset in its caller, itself inlined or not.
    struct Inlining {
        /// Index into `Code.inlined`; -1: unknown.
        let functionIndex: Int32
        let callOffset: Int32
        /// The caller's inlining; -1: the code's own function.
        let parent: Int32
    }

    /// A piece of optimized code (baseline, Maglev or TurboFan).
    struct Code {
        let start: UInt64
        let end: UInt64
        /// V8's tier mark: `^` baseline, `+` Maglev, `*` TurboFan.
        let tier: String
        var function: Function
        var positions: [Position] = []
        var inlinings: [Inlining] = []
        /// The inlined functions as they were when the code was made (before any later move).
        var inlined: [Function] = []
        /// Order of creation: a later code object at a reused address wins.
        let sequence: Int
    }

    /// A script: its name and where its lines start, in UTF-16 code units as V8 counts offsets.
    struct Script {
        let name: String
        let lineStarts: [Int32]
        /// The source's length.
        let length: Int32
    }

    static let maxBytes = 128 << 20
    static let maxLineBytes = 8 << 20
    static let maxFunctions = 100_000
    static let maxCodes = 50_000
    /// Rows of the three tables of all code kept: positions, inlinings, inlined functions.
    static let maxTableRows = 1_000_000
    static let maxScriptLines = 2_000_000
    static let maxScripts = 10_000
    static let maxFunctionNameBytes = 8 << 20
    /// Functions inlined into one code object, at most.
    static let maxInlinedPerCode = 4096
    /// Deepest chain of inlined frames followed for one address (each caller's inlining must come
    /// before its callee's in the table, as V8 numbers them, so a chain never loops).
    static let maxInliningDepth = 16

    var lines: AppendedLines
    /// Whether the file's first line said it is V8's log.
    var recognized: Bool?
    var functions: [UInt64: Function] = [:]
    var codes: [UInt64: Code] = [:]
    var scripts: [Int32: Script] = [:]
    var tableRowCount = 0
    var scriptLineCount = 0
    var functionNameBytes = 0
    /// Code or functions were dropped for a bound: addresses the log no longer tells of may have
    /// been reused, so without a perf map to agree the log is not trusted.
    var incomplete = false
    var sequence = 0
    /// The code object of the last `code-creation` line and its function: the next
    /// `code-source-info` line is about it.
    var lastCreated: (start: UInt64, function: UInt64)?
    /// Code starts, sorted, for lookups (rebuilt when code was added).
    private var sortedStarts: [UInt64] = []
    private var startsStale = false
    /// Log entries dropped for a bound (functions, code, positions, script lines) or malformed.
    var droppedEntries = 0

    /// `owner`: the only user whose file is read (the process's); nil: any (tests of the parser).
    public init(path: String, owner: UInt32? = nil) {
        lines = AppendedLines(path: path, owner: owner, maxBytes: Self.maxBytes, maxLineBytes: Self.maxLineBytes)
    }

    /// All of the file that will ever be read has been: a bound was reached.
    public var exhausted: Bool { lines.atByteLimit }
    /// Lines skipped for their length, and entries dropped.
    public var refusedLines: Int { lines.longLines + droppedEntries }

    /// Reads what was appended since the last call. False when the file cannot be read, is refused
    /// or is not V8's log.
    @discardableResult
    public func refresh() -> Bool {
        let readable = lines.read { line in
            if recognized == nil { recognized = line.starts(with: "v8-version,".utf8) }
            guard recognized == true else { return false }
            consume(line)
            return true
        }
        return readable && recognized == true
    }

    func added(_ code: Code) {
        guard codes[code.start] != nil || codes.count < Self.maxCodes else {
            incomplete = true
            return droppedEntries += 1
        }
        codes[code.start] = code
        startsStale = true
    }

    /// Forgets the code at `start`, giving its rows back to the budget.
    func removeCode(at start: UInt64) {
        guard let code = codes.removeValue(forKey: start) else { return }
        tableRowCount -= code.positions.count + code.inlinings.count + code.inlined.count
        startsStale = true
    }

    /// Whether what the log says can be taken without a perf map agreeing: its last read reached
    /// its end, no bound stopped it and nothing was dropped for a bound.
    public var trustedAlone: Bool { lines.caughtUp && !exhausted && !incomplete }

    /// The name of an inlined function the log never named.
    static let unnamedFunction = "(function not in the log)"

    /// The optimized code covering `address`; of several (V8 reuses freed code space), the newest.
    func code(at address: UInt64) -> Code? {
        if startsStale {
            sortedStarts = codes.keys.sorted()
            startsStale = false
        }
        var low = 0, high = sortedStarts.count
        while low < high {
            let middle = (low + high) / 2
            if sortedStarts[middle] <= address { low = middle + 1 } else { high = middle }
        }
        var best: Code?
        for index in stride(from: low - 1, through: max(0, low - 64), by: -1) {
            guard let code = codes[sortedStarts[index]], address < code.end else { continue }
            if best == nil || code.sequence > best!.sequence { best = code }
        }
        return best
    }

    /// The frames V8 compiled into the code at `address` (for a caller, the byte before its return
    /// address), innermost first: inlined functions, then the code's own; nil when no optimized
    /// code the log told of covers it.
    public func frames(at address: UInt64) -> [JITFrame]? {
        guard let code = code(at: address) else { return nil }
        let offset = address - code.start
        var frames: [JITFrame] = []
        var position = code.position(at: offset)
        var depth = 0
        while let current = position, current.inlining >= 0, depth < Self.maxInliningDepth {
            depth += 1
            guard let inlining = code.inlinings.element(current.inlining) else { break }
            let function = code.inlined.element(inlining.functionIndex)
            frames.append(frame(code.tier, function, scriptOffset: current.scriptOffset, inlined: true))
            // A caller numbered after its callee is not V8's: the chain ends at the code's own function.
            position = inlining.parent < current.inlining
                ? Position(codeOffset: current.codeOffset, scriptOffset: inlining.callOffset, inlining: inlining.parent)
                : Position(codeOffset: current.codeOffset, scriptOffset: -1, inlining: -1)
        }
        // Where the walk stopped early, the row is an inlined function's: not an offset in the code's own script.
        let ownOffset = position.map { $0.inlining < 0 ? $0.scriptOffset : -1 } ?? -1
        var outer = frame(code.tier, code.function, scriptOffset: ownOffset, inlined: false)
        outer.offset = offset
        return frames + [outer]
    }

    private func frame(_ tier: String, _ function: Function?, scriptOffset: Int32, inlined: Bool) -> JITFrame {
        let script = function?.scriptID.flatMap { scripts[$0] }
        let line = script.flatMap { $0.line(at: scriptOffset) } ?? function?.line
        let name = function.map { "JS:" + tier + $0.name } ?? "JS:" + tier + Self.unnamedFunction
        return JITFrame(symbol: name, file: script?.name ?? function?.file, line: line, inlined: inlined, offset: nil)
    }
}

extension V8CodeLog.Code {
    /// The source position table's row for code `offset`: the last one starting at or before it.
    func position(at offset: UInt64) -> V8CodeLog.Position? {
        var low = 0, high = positions.count
        while low < high {
            let middle = (low + high) / 2
            if UInt64(positions[middle].codeOffset) <= offset { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? positions[low - 1] : nil
    }
}

extension V8CodeLog.Script {
    /// The 1-based line of script `offset`; nil outside the script.
    func line(at offset: Int32) -> Int? {
        guard offset >= 0, offset <= length else { return nil }
        var low = 0, high = lineStarts.count
        while low < high {
            let middle = (low + high) / 2
            if lineStarts[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? low : nil
    }
}
