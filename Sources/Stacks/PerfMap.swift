import Glibc
import Synchronization

/// A JIT's symbol file, `/tmp/perf-PID.map` ("START SIZE name" per line, hex), as Node.js writes it
/// with `--perf-basic-prof`. The file only grows while the process runs: `refresh()` parses the
/// lines appended since the last read, so a burst of captures does not re-read it. The file is the
/// process's user's to write: it is read only when that user owns it (as perf does), as a regular
/// file opened without blocking and without following links out of the process's root, and within
/// bounds — bytes read, entries kept, line and name lengths — past which it is read no further.
public final class PerfMap: JITSymbolFile {
    struct Entry {
        let start: UInt64
        let end: UInt64
        let name: String
    }

    /// Bytes read from one map at most, entries kept, bytes of names kept, and the longest line
    /// parsed: one map costs at most about 13 MB.
    static let maxBytes = 32 << 20
    static let maxEntries = 100_000
    static let maxNameBytes = 8 << 20
    static let maxLineBytes = 4096

    public var path: String { lines.path }
    private var lines: AppendedLines
    private var entries: [Entry] = []
    private var sorted = true
    private var nameBytes = 0
    /// Set once a bound was reached: the rest of the file is not read.
    public var exhausted: Bool { lines.atByteLimit }

    /// `owner`: the only user whose file is read (the process's); nil: any (tests of the parser).
    public init(path: String, owner: UInt32? = nil) {
        lines = AppendedLines(path: path, owner: owner, maxBytes: Self.maxBytes, maxLineBytes: Self.maxLineBytes)
    }

    public var entryCount: Int { entries.count }
    /// Lines skipped: too long, or not `START SIZE name`.
    public var refusedLines: Int { lines.longLines + unparsedLines }
    private var unparsedLines = 0

    /// Reads what was appended since the last call. False when the file does not exist or is
    /// refused (not a regular file, not the process user's).
    @discardableResult
    public func refresh() -> Bool {
        lines.read { line in
            guard let entry = Self.parse(Array(line)) else {
                unparsedLines += 1
                return true
            }
            if let last = entries.last, last.start > entry.start { sorted = false }
            entries.append(entry)
            nameBytes += entry.name.utf8.count
            return entries.count < Self.maxEntries && nameBytes < Self.maxNameBytes
        }
    }

    /// The symbol covering `address`; the most recently written one when code was moved or
    /// replaced (V8 reuses addresses after garbage collection).
    public func symbol(at address: UInt64) -> (name: String, offset: UInt64)? {
        if !sorted {
            // Stable: among entries with one start, the later line stays later.
            entries = entries.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
            sorted = true
        }
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        var index = low - 1
        // Look back a little for a covering entry (entries may overlap after code moves).
        var looked = 0
        while index >= 0, looked < 64 {
            let entry = entries[index]
            if address < entry.end { return (entry.name, address - entry.start) }
            index -= 1
            looked += 1
        }
        return nil
    }

    static func parse(_ line: [UInt8]) -> Entry? {
        let text = String(decoding: line, as: UTF8.self)
        let fields = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        let hex: (Substring) -> UInt64? = { UInt64($0.hasPrefix("0x") ? $0.dropFirst(2) : $0, radix: 16) }
        guard fields.count == 3, let start = hex(fields[0]), let size = hex(fields[1]), size > 0
        else { return nil }
        return Entry(start: start, end: start &+ size, name: SymbolName.bounded(String(fields[2])))
    }

    /// Splits a V8 name like `JS:*loadConfig /srv/app/server.js:9:22` into the function and its
    /// source location; names without a location come back whole.
    public static func sourceLocation(of name: String) -> (function: String, file: String?, line: Int?) {
        guard let space = name.lastIndex(of: " ") else { return (name, nil, nil) }
        let location = name[name.index(after: space)...]
        let parts = location.split(separator: ":", omittingEmptySubsequences: false)
        // file:line:column (the file itself may hold colons, e.g. file:///…).
        guard parts.count >= 3, let line = Int(parts[parts.count - 2]), Int(parts[parts.count - 1]) != nil else {
            return (name, nil, nil)
        }
        let file = parts.dropLast(2).joined(separator: ":")
        return (String(name[..<space]), file, line)
    }
}
