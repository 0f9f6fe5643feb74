import Glibc
import SystemSupport

/// One line of `/proc/PID/maps`: an address range of a process and what is mapped there.
public struct Mapping: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    /// Offset in the file of `start`.
    public var fileOffset: UInt64
    public var executable: Bool
    /// Device (major, minor) and inode of the file; inode 0 for anonymous memory.
    public var device: (major: UInt32, minor: UInt32)
    public var inode: UInt64
    /// A file path, a pseudo name like `[vdso]` or `[stack]`, or empty for anonymous memory.
    public var name: String

    public var isFile: Bool { inode != 0 && name.hasPrefix("/") }

    public init(start: UInt64, end: UInt64, fileOffset: UInt64, executable: Bool, device: (major: UInt32, minor: UInt32), inode: UInt64, name: String) {
        self.start = start
        self.end = end
        self.fileOffset = fileOffset
        self.executable = executable
        self.device = device
        self.inode = inode
        self.name = name
    }

    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }

    public static func == (a: Mapping, b: Mapping) -> Bool {
        a.start == b.start && a.end == b.end && a.fileOffset == b.fileOffset && a.executable == b.executable
            && a.device == b.device && a.inode == b.inode && a.name == b.name
    }
}

/// A process's memory map, read from `/proc/PID/maps` (or given as text, for tests).
public struct ProcessMaps: Sendable {
    public let pid: Int32
    public let mappings: [Mapping]
    /// The most of /proc/PID/maps read (a process may map one file tens of thousands of times).
    static let maxTextBytes = 8 << 20

    /// Reads `/proc/PID/maps` now. Throws when the process is gone or not readable.
    public init(pid: Int32) throws {
        guard let text = SmallFile.read("/proc/\(pid)/maps", limit: Self.maxTextBytes), !text.isEmpty else {
            throw StackError.processGone(pid: pid)
        }
        self.init(pid: pid, text: text)
    }

    /// A map recorded elsewhere (e.g. by the kernel at capture time).
    public init(pid: Int32, mappings: [Mapping]) {
        self.pid = pid
        self.mappings = mappings.sorted { $0.start < $1.start }
    }

    public init(pid: Int32, text: String) {
        self.pid = pid
        mappings = text.split(separator: "\n").compactMap(Self.parse).sorted { $0.start < $1.start }
    }

    /// The mapping holding `address`.
    public func mapping(containing address: UInt64) -> Mapping? {
        var low = 0, high = mappings.count
        while low < high {
            let middle = (low + high) / 2
            if mappings[middle].end <= address { low = middle + 1 } else { high = middle }
        }
        return low < mappings.count && mappings[low].contains(address) ? mappings[low] : nil
    }

    /// "7f0e5c200000-7f0e5c228000 r-xp 00028000 08:01 1234567   /usr/lib/x86_64-linux-gnu/libc.so.6"
    static func parse(_ line: Substring) -> Mapping? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let range = fields[0].split(separator: "-")
        let device = fields[3].split(separator: ":")
        guard range.count == 2, device.count == 2,
            let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
            let offset = UInt64(fields[2], radix: 16),
            let major = UInt32(device[0], radix: 16), let minor = UInt32(device[1], radix: 16),
            let inode = UInt64(fields[4])
        else { return nil }
        let name = fields.count > 5 ? String(fields[5].drop { $0 == " " }) : ""
        return Mapping(
            start: start, end: end, fileOffset: offset, executable: fields[1].dropFirst(2).first == "x",
            device: (major, minor), inode: inode, name: name)
    }
}

/// Why a stack could not be (fully) unwound or symbolized.
public enum StackError: Error, Sendable, CustomStringConvertible {
    case processGone(pid: Int32)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .processGone(pid): "process \(pid) is gone (or its maps are not readable)"
        case let .unreadableFile(path, reason): "cannot read \(path): \(reason)"
        }
    }
}
