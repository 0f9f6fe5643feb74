import Glibc
import Logging
import Synchronization
import SystemSupport

/// The agent's own code pages that start-up left mapped, unmapped once start-up is over.
///
/// Start-up (the config's YAML, the BPF load, building every part, binding the listeners) runs code
/// that never runs again, and the kernel maps an executable's text in blocks around each page touched
/// (fault-around). So after start-up most of the code counts in the agent's RSS (23 MiB of a 42 MiB
/// mapping, measured), while the agent at rest touches under 1 MiB of it. Once every
/// listener is bound, the agent unmaps its executable's code (`madvise(MADV_DONTNEED)` on its
/// private, read-only, executable mappings): the pages stay in the page cache, clean, and code that
/// runs again is mapped again at its next call. Reclaim does the same to any mapped file page; this
/// does it once, at the moment start-up's code is known to be done. The pages become reclaimable
/// page cache: nothing of the agent's state is in them.
///
/// A mapping holding private copies of its pages (a debugger's or a uprobe's breakpoint written into
/// the code) is left alone: unmapping would drop the breakpoint.
final class StartupCode: Sendable {
    /// One mapping of /proc/self/smaps, as far as the release needs it.
    struct Mapping: Equatable {
        let start: UInt
        let end: UInt
        let permissions: String
        let file: FileIdentity
        var residentKiB: Int
        var anonymousKiB: Int
    }

    /// A file by device and inode: what a mapping maps.
    struct FileIdentity: Equatable {
        let major: UInt32
        let minor: UInt32
        let inode: UInt64
    }

    /// What one release did.
    struct Release: Equatable, Sendable {
        /// Code mappings unmapped, and the resident KiB they held.
        let mappings: Int
        let residentKiB: Int
        /// Code mappings left alone because they hold private copies (breakpoints).
        let skipped: Int
    }

    private let pendingListeners: Mutex<Int>
    private let logger: Logger

    /// `listeners`: how many listen addresses the server binds; the release follows the last.
    init(listeners: Int, logger: Logger) {
        pendingListeners = Mutex(listeners)
        self.logger = logger
    }

    /// One listener is bound; after the last, the code is released (once).
    func listening() {
        let isLast = pendingListeners.withLock { pending in
            pending -= 1
            return pending == 0
        }
        guard isLast else { return }
        do {
            let release = try Self.releaseOwnCode()
            logger.info(
                "released start-up code pages", metadata: ["resident_kib": "\(release.residentKiB)", "mappings": "\(release.mappings)", "skipped": "\(release.skipped)"])
        } catch {
            logger.warning("start-up code pages stay mapped", metadata: ["error": "\(error)"])
        }
    }

    /// Why the code could not be released.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The most of /proc/self/smaps read: far more than the agent's (about 100 KiB).
    static let smapsLimit = 8 << 20

    /// An address inside the executable's code: this function's.
    private static let ownCodeAddress: UInt = {
        let function: @convention(c) () -> Void = {}
        return UInt(bitPattern: unsafeBitCast(function, to: UnsafeRawPointer.self))
    }()

    /// Unmaps this process's executable code mappings (see the type's documentation).
    static func releaseOwnCode() throws -> Release {
        guard let smaps = SmallFile.read("/proc/self/smaps", limit: smapsLimit) else { throw Failure(description: "cannot read /proc/self/smaps") }
        guard let (releasable, skipped) = codeMappings(containing: ownCodeAddress, in: mappings(inSmaps: smaps)) else {
            throw Failure(description: "no code mapping holds this executable's code")
        }
        var released = 0, residentKiB = 0
        for mapping in releasable {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(start, Int(mapping.end - mapping.start), MADV_DONTNEED) != 0 {
                throw Failure(description: "madvise(MADV_DONTNEED) of \(String(mapping.start, radix: 16))-\(String(mapping.end, radix: 16)): errno \(errno)")
            }
            released += 1
            residentKiB += mapping.residentKiB
        }
        return Release(mappings: released, residentKiB: residentKiB, skipped: skipped)
    }

    /// The private, read-only, executable mappings of the file whose code holds `address`, without
    /// private copies (to release), and how many such mappings hold private copies (left alone); nil
    /// when no such mapping holds `address`.
    static func codeMappings(containing address: UInt, in mappings: [Mapping]) -> (releasable: [Mapping], skipped: Int)? {
        guard let own = mappings.first(where: { $0.permissions == "r-xp" && $0.start <= address && address < $0.end }), own.file.inode != 0 else {
            return nil
        }
        let code = mappings.filter { $0.permissions == "r-xp" && $0.file == own.file }
        let releasable = code.filter { $0.anonymousKiB == 0 }
        return (releasable, code.count - releasable.count)
    }

    /// The mappings of an smaps text: a header line (`start-end perms offset major:minor inode [path]`)
    /// and its `Rss:` and `Anonymous:` fields. Lines it does not understand are passed over.
    static func mappings(inSmaps text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let header = header(line) {
                mappings.append(header)
            } else if !mappings.isEmpty, let (name, kiB) = field(line) {
                if name == "Rss" { mappings[mappings.count - 1].residentKiB = kiB }
                if name == "Anonymous" { mappings[mappings.count - 1].anonymousKiB = kiB }
            }
        }
        return mappings
    }

    private static func header(_ line: Substring) -> Mapping? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let range = fields[0].split(separator: "-")
        let device = fields[3].split(separator: ":")
        guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), start < end,
            fields[1].count == 4, device.count == 2, let major = UInt32(device[0], radix: 16), let minor = UInt32(device[1], radix: 16),
            let inode = UInt64(fields[4])
        else { return nil }
        return Mapping(start: start, end: end, permissions: String(fields[1]), file: FileIdentity(major: major, minor: minor, inode: inode), residentKiB: 0, anonymousKiB: 0)
    }

    private static func field(_ line: Substring) -> (Substring, Int)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0].hasSuffix(":"), parts[2] == "kB", let value = Int(parts[1]) else { return nil }
        return (parts[0].dropLast(), value)
    }
}
