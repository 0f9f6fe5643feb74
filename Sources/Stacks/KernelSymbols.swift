import Glibc
import Synchronization
import SystemSupport

/// The kernel's symbols from `/proc/kallsyms`, read and parsed at the first lookup (parsing 100,000+
/// lines is not worth delaying start-up for, nor holding 5 MB of text for, in an agent that may
/// never capture a kernel stack). Addresses show to whoever *opened* the file with CAP_SYSLOG, so the
/// agent opens it at start, before dropping capabilities, and keeps the descriptor until then.
public final class KernelSymbols: Sendable {
    /// Text symbols by address: names (each followed, for a module's symbol, by a tab and the
    /// module) packed in one byte array, so 100,000 symbols cost their bytes, not 100,000 strings.
    struct Table {
        /// Start addresses, ascending.
        var starts: [UInt64] = []
        /// Where each symbol's text ends in `text`; it starts where the previous one ends.
        var ends: [UInt32] = []
        var text: [UInt8] = []
    }

    /// The open `/proc/kallsyms`, until the first lookup reads it.
    private let file: Mutex<Int32?>
    private let table = Mutex<Table?>(nil)
    /// The running kernel's GNU build ID (hex), from its notes; nil when it has none.
    public let buildID: String?
    /// The most of kallsyms read.
    static let maxBytes = 256 << 20

    /// Opens `/proc/kallsyms` (or `path`); text symbols only. Empty when addresses are hidden. The
    /// build ID comes from the kernel's ELF notes at `notesPath`.
    public init(path: String = "/proc/kallsyms", notesPath: String = "/sys/kernel/notes") {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        file = Mutex(fd >= 0 ? fd : nil)
        buildID = SmallFile.readBytes(notesPath, limit: 1 << 16).flatMap(BuildID.fromNotes).map(BuildID.hex)
    }

    deinit {
        if let fd = file.withLock({ $0 }) { close(fd) }
    }

    public var count: Int { parsed().starts.count }

    /// The symbol at or before `address` (with its module, for a module's symbol), and the offset into it.
    public func symbol(at address: UInt64) -> (name: String, module: String?, offset: UInt64)? {
        let table = parsed()
        var low = 0, high = table.starts.count
        while low < high {
            let middle = (low + high) / 2
            if table.starts[middle] <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let index = low - 1
        let text = table.text[(index == 0 ? 0 : Int(table.ends[index - 1]))..<Int(table.ends[index])]
        let tab = text.firstIndex(of: UInt8(ascii: "\t"))
        let name = String(decoding: text[..<(tab ?? text.endIndex)], as: UTF8.self)
        let module = tab.map { String(decoding: text[(text.index(after: $0))...], as: UTF8.self) }
        return (name, module, address - table.starts[index])
    }

    private func parsed() -> Table {
        table.withLock { table in
            if let table { return table }
            let bytes = file.withLock { file -> [UInt8] in
                guard let fd = file else { return [] }
                defer {
                    close(fd)
                    file = nil
                }
                return SmallFile.readBytes(descriptor: fd, limit: Self.maxBytes) ?? []
            }
            let parsed = Self.parse(bytes)
            table = parsed
            return parsed
        }
    }

    /// The text symbols (`t`, `T`, `w`, `W`) of kallsyms text — lines of `address type name`, then
    /// `\t[module]` for a module's — sorted by address. Works on bytes: this runs once over 5 MB.
    static func parse(_ bytes: [UInt8]) -> Table {
        var symbols: [(address: UInt64, start: Int, end: Int)] = []
        symbols.reserveCapacity(bytes.count / 40)
        bytes.withUnsafeBufferPointer { text in
            var lineStart = 0
            while lineStart < text.count {
                let newline = memchr(text.baseAddress! + lineStart, Int32(UInt8(ascii: "\n")), text.count - lineStart)
                let lineEnd = newline.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - text.baseAddress! } ?? text.count
                defer { lineStart = lineEnd + 1 }
                // `address type name`: at least one hex digit, a space, a type, a space, a name.
                var cursor = lineStart, address: UInt64 = 0, digits = 0
                while cursor < lineEnd, let digit = hexValue(text[cursor]), digits < 16 {
                    address = address << 4 | UInt64(digit)
                    digits += 1
                    cursor += 1
                }
                guard digits > 0, address != 0, lineEnd - cursor >= 4, text[cursor] == UInt8(ascii: " "), text[cursor + 2] == UInt8(ascii: " ")
                else { continue }
                switch text[cursor + 1] {
                case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "w"), UInt8(ascii: "W"): break
                default: continue
                }
                symbols.append((address, cursor + 3, lineEnd))
            }
        }
        symbols.sort { $0.address < $1.address }
        var table = Table()
        table.starts.reserveCapacity(symbols.count)
        table.ends.reserveCapacity(symbols.count)
        for symbol in symbols {
            // A module's symbol keeps `name\t[module]`, as kallsyms writes it.
            table.text.append(contentsOf: bytes[symbol.start..<symbol.end])
            table.starts.append(symbol.address)
            table.ends.append(UInt32(table.text.count))  // at most `maxBytes`, well within 32 bits
        }
        return table
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
