import BPFKit
import CErrnoBPF
import Glibc
import Logging
import Stacks
import SystemSupport

/// The uprobes that link a libuv pool thread's syscall to the thread that submitted the request
/// (Node.js async fs calls): on the path-taking `uv_fs_*` functions (exported, in the dynamic symbol
/// table) and libuv's internal `uv__work_submit` and `uv__fs_work` (in the full symbol table). Attached only while a trigger has `async_stacks`, to the binaries of the processes
/// such triggers can match: each process's executable and any mapped library named like libuv or
/// libnode. A binary without those symbols is skipped with one log line and counted, never probed.
/// Used under `KernelHandle`'s lock; the /proc scan for candidates runs without it.
final class AsyncStackProbes {
    /// Path-taking fs requests `(loop, req, path, …, cb)`, with the callback's argument position.
    static let requestFunctions: [(name: String, callbackPosition: UInt64)] = [
        ("uv_fs_open", 6), ("uv_fs_stat", 4), ("uv_fs_lstat", 4), ("uv_fs_statfs", 4), ("uv_fs_access", 5), ("uv_fs_unlink", 4),
        ("uv_fs_mkdir", 5), ("uv_fs_mkdtemp", 4), ("uv_fs_rmdir", 4), ("uv_fs_scandir", 5), ("uv_fs_opendir", 4),
        ("uv_fs_readlink", 4), ("uv_fs_realpath", 4), ("uv_fs_chmod", 5), ("uv_fs_chown", 6), ("uv_fs_rename", 5),
        ("uv_fs_copyfile", 6), ("uv_fs_link", 5), ("uv_fs_symlink", 6),
    ]
    /// The internal functions, all required.
    static let internalFunctions = ["uv__work_submit", "uv__fs_work"]
    /// Submitted requests no pool thread started within this long (cancelled, or their process
    /// died) are swept from `async_requests`.
    static let staleRequestNanoseconds = UInt64(AsyncProbeStats.requestExpirySeconds) * 1_000_000_000

    struct Programs {
        let request: BPFProgram
        let workSubmit: BPFProgram
        let fsWork: BPFProgram
    }

    private struct FileKey: Hashable {
        let device: UInt64
        let inode: UInt64

        init(_ identity: FileIdentity) {
            device = identity.device
            inode = identity.inode
        }
    }

    let programs: Programs
    private let logger: Logger
    private var attached: [FileKey: (path: String, links: [BPFLink])] = [:]
    private var skipped: Set<FileKey> = []
    /// Binaries skipped, by reason (symbols_missing, attach_failed).
    private(set) var skips: [String: UInt64] = [:]
    /// Submitted requests swept because no pool thread started them.
    private(set) var expiredRequests: UInt64 = 0

    init(programs: Programs, logger: Logger) {
        self.programs = programs
        self.logger = logger
    }

    var uprobeCount: Int { attached.values.reduce(0) { $0 + $1.links.count } }

    /// Node.js executables on the agent's PATH: probed even before any process runs them, so that a
    /// short-lived script started later is covered (uprobes belong to the file, not to a process).
    static func nodeExecutables() -> [String] {
        let path = ProcessInfoPath.value
        var found: [String] = []
        for directory in path.split(separator: ":") {
            for name in ["node", "nodejs"] {
                var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                if realpath("\(directory)/\(name)", &resolved) != nil {
                    let file = String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if !found.contains(file) { found.append(file) }
                }
            }
        }
        return found
    }

    /// A binary worth probing: the path to open it by, and the path to show.
    struct Candidate {
        let path: String
        let shownAs: String
    }

    /// Attaches to `candidates` not seen before (each binary's symbols are checked once).
    func refresh(_ candidates: [Candidate]) {
        for candidate in candidates { consider(candidate.path, shownAs: candidate.shownAs) }
    }

    /// Node.js on PATH and the libuv binaries of running processes with one of `comms` (nil: any).
    /// Reads /proc only: runs without the kernel handle's lock.
    static func candidates(comms: Set<String>?) -> [Candidate] {
        var found = nodeExecutables().map { Candidate(path: $0, shownAs: $0) }
        guard let directory = opendir("/proc") else { return found }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            if let comms {
                guard let comm = Self.read("/proc/\(pid)/comm")?.split(separator: "\n").first, comms.contains(String(comm)) else { continue }
            }
            guard let maps = try? ProcessMaps(pid: pid) else { continue }
            let executable = Self.link("/proc/\(pid)/exe")
            // A process in this mount namespace's root sees files where the agent does; others
            // (containers) through /proc/PID/root.
            let root = Self.sameFile("/proc/\(pid)/root", "/") ? "" : "/proc/\(pid)/root"
            for mapping in maps.mappings where mapping.executable && mapping.isFile {
                let file = mapping.name.split(separator: "/").last.map(String.init) ?? ""
                guard mapping.name == executable || file.hasPrefix("libuv") || file.hasPrefix("libnode") else { continue }
                found.append(Candidate(path: root + mapping.name, shownAs: mapping.name))
            }
        }
        return found
    }

    private func consider(_ path: String, shownAs name: String) {
        // A binary seen before is passed over without parsing it. Both looks open the file as the
        // image does (inside the process's root); what is recorded is the file the image opened.
        guard let seen = ElfImage.identity(ofFileAt: path).map(FileKey.init), attached[seen] == nil, !skipped.contains(seen),
            let image = try? ElfImage(path: path, displayPath: name, searchDebugFiles: false)
        else { return }
        let key = FileKey(image.identity)
        guard attached[key] == nil, !skipped.contains(key) else { return }
        let missing = (Self.internalFunctions + ["uv_fs_open"]).filter { !image.defines($0) }
        guard missing.isEmpty else {
            // Most executables are not libuv users: only a binary with part of libuv is worth a word.
            if image.defines("uv_fs_open") || image.defines("uv_loop_init") {
                logger.warning(
                    "async stacks unavailable for this binary: libuv symbols missing (stripped symbol table?); its pool-thread captures carry no submitting stack",
                    metadata: ["binary": "\(name)", "missing": "\(missing.joined(separator: ","))"])
                skips["symbols_missing", default: 0] += 1
            }
            skipped.insert(key)
            return
        }
        // Attached through the descriptor the image opened and checked (non-blocking, a regular
        // file, inside the process's root), at offsets read from it: `path` may point elsewhere by
        // now (a FIFO renamed over it, a link out of a container's root).
        func attach(_ program: BPFProgram, _ function: String, cookie: UInt64 = 0) throws -> BPFLink {
            guard let offset = image.fileOffset(ofFunction: function) else {
                throw AttachFailure(description: "no loadable segment holds \(function)")
            }
            return try program.attachUprobe(binary: image.openedFilePath, offset: offset, cookie: cookie)
        }
        do {
            // The image, and so its descriptor, lives until every uprobe is attached.
            let links = try withExtendedLifetime(image) {
                var links = [try attach(programs.workSubmit, "uv__work_submit"), try attach(programs.fsWork, "uv__fs_work")]
                for function in Self.requestFunctions where image.defines(function.name) {
                    links.append(try attach(programs.request, function.name, cookie: function.callbackPosition))
                }
                return links
            }
            attached[key] = (name, links)
            logger.info("async stacks: uprobes attached", metadata: ["binary": "\(name)", "uprobes": "\(links.count)"])
        } catch {
            logger.warning("async stacks: attaching uprobes failed", metadata: ["binary": "\(name)", "error": "\(error)"])
            skips["attach_failed", default: 0] += 1
            skipped.insert(key)
        }
    }

    /// Why a binary's uprobes could not be placed, before the kernel was asked.
    struct AttachFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Deletes submitted requests older than `staleRequestNanoseconds` from `requests` (the
    /// `async_requests` map): the kernel side forgets only requests that reach a pool thread.
    func sweep(_ requests: BPFMap, now: UInt64) {
        let submittedOffset = MemoryLayout<async_submission>.offset(of: \async_submission.submitted_ns)!
        for (key, value) in requests.entries() {
            let submitted = value.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: submittedOffset, as: UInt64.self) }
            if submitted &+ Self.staleRequestNanoseconds < now {
                try? requests.delete(keyBytes: key)
                expiredRequests += 1
            }
        }
    }

    /// Detaches every uprobe (no trigger wants async stacks any more).
    func detachAll() {
        for (_, binary) in attached { binary.links.forEach { $0.detach() } }
        attached.removeAll()
        skipped.removeAll()
    }

    private enum ProcessInfoPath {
        static let value: String = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    }

    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    private static func read(_ path: String) -> String? {
        SmallFile.read(path, limit: 256).flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, Int(PATH_MAX))
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
