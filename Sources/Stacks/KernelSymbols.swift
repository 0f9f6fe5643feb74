import Glibc
import Synchronization
import SystemSupport

/// The kernel's symbols from `/proc/kallsyms`, read and parsed at the first lookup (parsing 100,000+
/// lines is not worth delaying start-up for, nor holding 5 MB of text for, in an agent that may
/// never capture a kernel stack). Addresses show to whoever *opened* the file with CAP_SYSLOG, so the
/// agent opens it at start, before dropping capabilities, and keeps the descriptor until then.
public final class KernelSymbols: Sendable {
    private struct Table {
        var starts: [UInt64] = []
        var names: [String] = []
    }

    /// The open `/proc/kallsyms`, until the first lookup reads it.
    private let file: Mutex<Int32?>
    private let table = Mutex<Table?>(nil)
    /// The running kernel's GNU build ID (hex), from its notes; nil when it has none.
    public let buildID: String?

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

    /// The symbol at or before `address`, and the offset into it.
    public func symbol(at address: UInt64) -> (name: String, offset: UInt64)? {
        let table = parsed()
        var low = 0, high = table.starts.count
        while low < high {
            let middle = (low + high) / 2
            if table.starts[middle] <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        return (table.names[low - 1], address - table.starts[low - 1])
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
                return SmallFile.readBytes(descriptor: fd, limit: 256 << 20) ?? []
            }
            var symbols: [(UInt64, String)] = []
            symbols.reserveCapacity(200_000)
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 3)
                guard fields.count >= 3, let type = fields[1].first, type == "t" || type == "T" || type == "W" || type == "w",
                    let address = UInt64(fields[0], radix: 16), address != 0
                else { continue }
                let module = fields.count > 3 ? " " + fields[3] : ""
                symbols.append((address, String(fields[2]) + module))
            }
            symbols.sort { $0.0 < $1.0 }
            let parsed = Table(starts: symbols.map(\.0), names: symbols.map(\.1))
            table = parsed
            return parsed
        }
    }
}
