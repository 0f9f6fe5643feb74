import Glibc
import Logging
import Synchronization
import SystemSupport

/// The agent's own code pages that start-up left mapped, dropped from its page tables once start-up
/// is over, and again after the first scrape.
///
/// Start-up (the config's YAML, the BPF load, building every part, binding the listeners) runs code
/// that never runs again, and the kernel maps an executable's text in blocks around each page touched
/// (fault-around). So after start-up most of the code counts in the agent's RSS (23 MiB of a 42 MiB
/// mapping, measured), while the agent at rest touches under 1 MiB of it. Once every listener is
/// bound, the agent drops the resident pages of its executable's code (`madvise(MADV_DONTNEED)` on
/// its private, read-only, executable mappings; the mappings stay): the pages stay in the page
/// cache, clean, and code that runs again is mapped again at its next call. The first scrape runs
/// code of its own too (lazy initialisation of the exposition's types and tables, first reads of the
/// maps), so the pages are dropped once more after it: later scrapes map back only the code every
/// scrape runs (the agent at rest after ten scrapes, default config, with `make text-order`'s layout:
/// RSS 24.8–25.0 → 23.5–23.8 MiB, measured on Linux 6.18). Reclaim does the same to any mapped file
/// page; this does it at the two moments one-time code is known to be done. Nothing of the agent's
/// state is in those pages. What falls is RSS, and the pages' protection from reclaim as mapped
/// executable pages; the page cache stays charged to the agent's memory cgroup until reclaimed.
///
/// A mapping holding private copies of its pages (a debugger's or a uprobe's breakpoint written into
/// the code), or whose smaps entry does not say, is left alone: dropping it would drop the
/// breakpoint. A breakpoint written between the read of smaps and the madvise (microseconds, twice
/// per run) would be lost; the agent places none in itself.
///
/// An executable on 9p (a QEMU guest's shared root) is left mapped: 9p without a cache mode does not
/// keep a mapped file's pages cached, so every page dropped would be read again over the transport
/// (the 6.1 guest's suites ran 1.7–3.4 times slower with it).
final class StartupCode: Sendable {
    /// One mapping of /proc/self/smaps, as far as the release needs it.
    struct Mapping: Equatable {
        let start: UInt
        let end: UInt
        let permissions: String
        let file: FileIdentity
        var residentKiB: Int
        /// Private (copied-on-write) KiB; nil when smaps did not say.
        var anonymousKiB: Int?
    }

    /// A file by device and inode: what a mapping maps.
    struct FileIdentity: Equatable {
        let major: UInt32
        let minor: UInt32
        let inode: UInt64
    }

    /// What one release did.
    struct Release: Equatable, Sendable {
        /// Code mappings whose pages were dropped, and the resident KiB they held.
        var mappings = 0
        var residentKiB = 0
        /// Code mappings left alone: they hold private copies (breakpoints), or smaps did not say.
        var skipped = 0
        /// Code mappings madvise refused, with its error.
        var failures: [String] = []
        /// Why nothing was dropped (the file system), when so.
        var keptBecause: String?
    }

    /// File systems that do not keep a mapped file's pages cached.
    static let uncachedFileSystems: Set<Substring> = ["9p"]

    private let pendingListeners: Mutex<Int>
    private let scrapeServedBefore = Atomic(false)
    private let releaseCode: @Sendable () throws -> Release
    private let logger: Logger

    /// `listeners`: how many listen addresses the server binds; the release follows the last.
    /// `releaseCode`: what a release does (tests count the calls).
    init(listeners: Int, logger: Logger, releaseCode: @escaping @Sendable () throws -> Release = StartupCode.releaseOwnCode) {
        pendingListeners = Mutex(listeners)
        self.releaseCode = releaseCode
        self.logger = logger
    }

    /// One listener is bound; after the last, the code is released (once).
    func listening() {
        let isLast = pendingListeners.withLock { pending in
            pending -= 1
            return pending == 0
        }
        if isLast { release(after: "listening") }
    }

    /// A scrape was served (answered 200); after the first, the code is released again (once).
    func scrapeServed() {
        if scrapeServedBefore.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            release(after: "the first scrape")
        }
    }

    private func release(after moment: String) {
        do {
            let release = try releaseCode()
            if let reason = release.keptBecause {
                logger.info("start-up code pages stay mapped", metadata: ["after": "\(moment)", "reason": "\(reason)"])
                return
            }
            logger.info(
                "released start-up code pages",
                metadata: ["after": "\(moment)", "resident_kib": "\(release.residentKiB)", "mappings": "\(release.mappings)", "skipped": "\(release.skipped)"])
            if !release.failures.isEmpty {
                logger.warning("some start-up code pages stay mapped", metadata: ["errors": "\(release.failures.joined(separator: "; "))"])
            }
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

    /// Drops the resident pages of this process's executable code mappings (see the type's
    /// documentation); a mapping madvise refuses is reported and the others still released.
    static func releaseOwnCode() throws -> Release {
        guard let smaps = SmallFile.read("/proc/self/smaps", limit: smapsLimit) else { throw Failure(description: "cannot read /proc/self/smaps") }
        guard let (releasable, skipped) = codeMappings(containing: ownCodeAddress, in: mappings(inSmaps: smaps)) else {
            throw Failure(description: "no code mapping holds this executable's code")
        }
        var release = Release(skipped: skipped)
        if let file = releasable.first?.file, let mountinfo = MountInfo.ownText(),
            let type = fileSystemType(major: file.major, minor: file.minor, inMountinfo: mountinfo), uncachedFileSystems.contains(type)
        {
            release.keptBecause = "the executable is on \(type), which does not keep mapped pages cached"
            return release
        }
        for mapping in releasable {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(start, Int(mapping.end - mapping.start), MADV_DONTNEED) != 0 {
                release.failures.append("madvise(MADV_DONTNEED) of \(String(mapping.start, radix: 16))-\(String(mapping.end, radix: 16)): errno \(errno)")
                continue
            }
            release.mappings += 1
            release.residentKiB += mapping.residentKiB
        }
        return release
    }

    /// The private, read-only, executable mappings of the file whose code holds `address`, without
    /// private copies (to release), and how many such mappings hold private copies or do not say
    /// (left alone); nil when no such mapping holds `address`.
    static func codeMappings(containing address: UInt, in mappings: [Mapping]) -> (releasable: [Mapping], skipped: Int)? {
        guard let own = mappings.first(where: { $0.permissions == "r-xp" && $0.start <= address && address < $0.end }), own.file.inode != 0 else {
            return nil
        }
        let code = mappings.filter { $0.permissions == "r-xp" && $0.file == own.file }
        let releasable = code.filter { $0.anonymousKiB == 0 }
        return (releasable, code.count - releasable.count)
    }

    /// The type of the file system mounted from device `major:minor`, from a mountinfo text; nil
    /// when no line says.
    static func fileSystemType(major: UInt32, minor: UInt32, inMountinfo text: String) -> Substring? {
        MountInfo.entries(text).first { $0.major == major && $0.minor == minor }?.type
    }

    /// The mappings of an smaps text: a header line (`start-end perms offset major:minor inode [path]`)
    /// and its `Rss:` and `Anonymous:` fields. Other fields are passed over; so is a header it cannot
    /// read, with the fields that follow it.
    static func mappings(inSmaps text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        var current: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let header = header(line) {
                mappings.append(header)
                current = mappings.count - 1
            } else if let (name, kiB) = field(line) {
                guard let current else { continue }
                if name == "Rss" { mappings[current].residentKiB = kiB }
                if name == "Anonymous" { mappings[current].anonymousKiB = kiB }
            } else if line.split(separator: " ", maxSplits: 1).first?.hasSuffix(":") != true {
                current = nil  // a header line it cannot read: its fields are not the last mapping's
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
        return Mapping(start: start, end: end, permissions: String(fields[1]), file: FileIdentity(major: major, minor: minor, inode: inode), residentKiB: 0, anonymousKiB: nil)
    }

    private static func field(_ line: Substring) -> (Substring, Int)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0].hasSuffix(":"), parts[2] == "kB", let value = Int(parts[1]) else { return nil }
        return (parts[0].dropLast(), value)
    }
}
