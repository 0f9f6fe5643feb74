import Glibc

/// Reads a text file that a captured process keeps appending to (a JIT's perf map, V8's log) line by
/// line, picking up where the last read stopped: the file is opened with `TargetFile`'s rules each
/// time (regular, the process user's, no link out of its root, without blocking) and must be the
/// file first read (same device and inode: a link swapped in later leads nowhere); at most
/// `maxBytes` are read in all and `maxBytesPerRead` per call (a long file is read over several
/// captures, none stalled by it), and a line longer than `maxLineBytes` is skipped and counted,
/// never buffered whole.
struct AppendedLines {
    let path: String
    /// The only user whose file is read (the process's); nil: any (tests of the parsers).
    let owner: UInt32?
    let maxBytes: Int
    let maxLineBytes: Int
    static let maxBytesPerRead = 16 << 20
    /// The file's device and inode, once read.
    private var identity: (device: UInt64, inode: UInt64)?
    private(set) var bytesRead = 0
    /// The last read reached the file's end (not a bound on bytes).
    private(set) var caughtUp = false
    /// Lines skipped for being longer than `maxLineBytes`.
    private(set) var longLines = 0
    private var partialLine: [UInt8] = []
    private var partialTooLong = false

    init(path: String, owner: UInt32?, maxBytes: Int, maxLineBytes: Int) {
        self.path = path
        self.owner = owner
        self.maxBytes = maxBytes
        self.maxLineBytes = maxLineBytes
    }

    /// All of `maxBytes` has been read: the rest of the file never will be.
    var atByteLimit: Bool { bytesRead >= maxBytes }

    /// Hands each complete line appended since the last call (without its newline) to `line`, which
    /// returns false to stop reading for good. False when the file cannot be opened, is refused or
    /// fails to read.
    mutating func read(_ line: (ArraySlice<UInt8>) -> Bool) -> Bool {
        guard let opened = try? TargetFile.open(path, owner: owner) else { return false }
        defer { close(opened.descriptor) }
        let found = (device: UInt64(opened.info.st_dev), inode: UInt64(opened.info.st_ino))
        guard identity.map({ $0 == found }) ?? true else { return false }
        identity = found
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let stop = min(maxBytes, bytesRead + Self.maxBytesPerRead)
        caughtUp = false
        while bytesRead < stop {
            let wanted = min(chunk.count, stop - bytesRead)
            let count = chunk.withUnsafeMutableBytes { pread(opened.descriptor, $0.baseAddress, wanted, off_t(bytesRead)) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return false }
            guard count > 0 else {
                caughtUp = true
                return true
            }
            bytesRead += count
            guard split(chunk[0..<count], into: line) else {
                bytesRead = maxBytes
                return true
            }
        }
        return true
    }

    private mutating func split(_ bytes: ArraySlice<UInt8>, into line: (ArraySlice<UInt8>) -> Bool) -> Bool {
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let piece = bytes[start..<newline]
            start = newline + 1
            defer {
                partialLine.removeAll(keepingCapacity: true)
                partialTooLong = false
            }
            if partialTooLong || partialLine.count + piece.count > maxLineBytes {
                longLines += 1
                continue
            }
            let keepGoing: Bool
            if partialLine.isEmpty {
                keepGoing = line(piece)
            } else {
                partialLine += piece
                keepGoing = line(partialLine[...])
            }
            if !keepGoing { return false }
        }
        let rest = bytes[start...]
        if partialTooLong || partialLine.count + rest.count > maxLineBytes {
            partialTooLong = true
            partialLine.removeAll(keepingCapacity: true)
        } else {
            partialLine += rest
        }
        return true
    }
}
