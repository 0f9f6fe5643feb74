import CElfUtils
import Glibc

/// Opens files on a captured process's behalf — its ELF files, debug files, perf map — which that
/// process's user controls: a path under `/proc/PID/root/` is resolved inside that root
/// (`RESOLVE_IN_ROOT`, so no symlink, however absolute or relative, leads out of it), magic links
/// are refused everywhere, and the path is first opened as a path only (`O_PATH`, which runs no
/// driver's open: a device is never opened for real) and checked — a regular file, of an allowed
/// owner, within the size bound — before it is reopened for reading without blocking.
enum TargetFile {
    /// Why a file was refused.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case unopenable(errno: Int32)
        case notRegular
        case wrongOwner(uid: UInt32)
        case tooLarge(bytes: Int64)

        var description: String {
            switch self {
            case let .unopenable(code): String(cString: strerror(code))
            case .notRegular: "not a regular file"
            case let .wrongOwner(uid): "owned by uid \(uid), not a user allowed here"
            case let .tooLarge(bytes): "\(bytes) bytes, more than allowed"
            }
        }
    }

    /// An open regular file and what `fstat` said of it.
    struct Opened {
        let descriptor: Int32
        let info: stat
    }

    /// Opens `path` read-only. `owner`: the only uid allowed to own it; `maxBytes`: refuse larger.
    static func open(_ path: String, owner: UInt32? = nil, maxBytes: Int64 = .max) throws(Refusal) -> Opened {
        try open(path, owners: owner.map { [$0] }, maxBytes: maxBytes)
    }

    /// Opens `path` read-only. `owners`: the uids allowed to own it (nil: any).
    static func open(_ path: String, owners: Set<UInt32>?, maxBytes: Int64 = .max) throws(Refusal) -> Opened {
        let (rootPath, inside) = split(path)
        var rootDescriptor: Int32 = AT_FDCWD
        if let rootPath {
            rootDescriptor = celfutils_open_directory_path(rootPath)
            guard rootDescriptor >= 0 else { throw .unopenable(errno: errno) }
        }
        defer { if rootDescriptor != AT_FDCWD { close(rootDescriptor) } }
        let resolve = UInt64(RESOLVE_NO_MAGICLINKS) | (rootPath == nil ? 0 : UInt64(RESOLVE_IN_ROOT))
        let pathOnly = celfutils_openat2(rootDescriptor, inside, UInt64(celfutils_o_path_flags()), resolve)
        guard pathOnly >= 0 else { throw .unopenable(errno: errno) }
        defer { close(pathOnly) }
        var info = stat()
        guard fstat(pathOnly, &info) == 0 else { throw .unopenable(errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular }
        if let owners, !owners.contains(info.st_uid) { throw .wrongOwner(uid: info.st_uid) }
        guard Int64(info.st_size) <= maxBytes else { throw .tooLarge(bytes: Int64(info.st_size)) }
        // The checked file itself, through this process's descriptor of it.
        let descriptor = Glibc.open("/proc/self/fd/\(pathOnly)", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw .unopenable(errno: errno) }
        var reopened = stat()
        guard fstat(descriptor, &reopened) == 0, reopened.st_ino == info.st_ino, reopened.st_dev == info.st_dev else {
            close(descriptor)
            throw .notRegular
        }
        return Opened(descriptor: descriptor, info: reopened)
    }

    /// `/proc/PID/root/usr/lib/x` → (`/proc/PID/root`, `usr/lib/x`); any other path → (nil, path).
    static func split(_ path: String) -> (root: String?, inside: String) {
        let parts = path.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[1] == "proc", Int32(parts[2]) != nil, parts[3].hasPrefix("root/") else {
            return (nil, path)
        }
        let inside = parts[3].dropFirst("root/".count)
        return ("/proc/\(parts[2])/root", inside.isEmpty ? "." : String(inside))
    }

    /// The owner of process `pid` (its real uid, as /proc/PID shows it); nil when it is gone.
    static func processOwner(_ pid: Int32) -> UInt32? {
        var info = stat()
        return stat("/proc/\(pid)", &info) == 0 ? info.st_uid : nil
    }
}
