import Glibc

/// Why a debuginfod cache directory is refused: another user could plant debug files in it.
public struct DebugInfoCacheProblem: Error, Sendable, CustomStringConvertible {
    public let directory: String
    public let reason: String
    public var description: String { "symbolization.cache_dir \(directory): \(reason)" }
}

/// libdebuginfod's on-disk cache: `<directory>/<build ID>/debuginfo` (and other artifacts beside it).
/// The fetcher checks the directory is the agent's own, reads cached files without the network, and
/// keeps the whole under `cacheMaxBytes`, least recently used out first.
extension DebugInfoFetcher {
    /// Creates `directory` (mode 0700, with its missing parents) and checks where it leads: a
    /// directory of this user's, writable by no one else, under directories only root or this user
    /// can change (or sticky ones, like /tmp). Links on the way are resolved first (systemd's
    /// `CacheDirectory=` with `DynamicUser=` is one); the resolved path is returned and used from then on.
    static func prepareCache(_ directory: String) throws(DebugInfoCacheProblem) -> String {
        func problem(_ reason: String) -> DebugInfoCacheProblem { DebugInfoCacheProblem(directory: directory, reason: reason) }
        let components = directory.split(separator: "/")
        guard directory.hasPrefix("/"), !components.contains("."), !components.contains("..") else {
            throw problem("not an absolute path without . or ..")
        }
        let me = geteuid()
        var current = ""
        for component in components {
            current += "/" + component
            if mkdir(current, 0o700) != 0, errno != EEXIST { throw problem("cannot create \(current): \(String(cString: strerror(errno)))") }
            var link = stat()
            // A link another user planted (in /tmp, say) could lead anywhere.
            if lstat(current, &link) == 0, link.st_mode & S_IFMT == S_IFLNK, link.st_uid != 0, link.st_uid != me {
                throw problem("\(current) is a link of uid \(link.st_uid)")
            }
        }
        guard let real = realpath(directory, nil) else { throw problem("cannot resolve it: \(String(cString: strerror(errno)))") }
        let resolved = String(cString: real)
        free(real)
        current = ""
        let resolvedComponents = resolved.split(separator: "/")
        for (index, component) in resolvedComponents.enumerated() {
            current += "/" + component
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw problem("\(current) is not a directory") }
            let othersMayWrite = info.st_mode & 0o022 != 0
            if index == resolvedComponents.count - 1 {
                guard info.st_uid == me else { throw problem("\(current) must belong to uid \(me)") }
                // Ours but open to others (a Kubernetes emptyDir is 0777): closed.
                if othersMayWrite, chmod(current, 0o700) != 0 { throw problem("\(current) is writable by others and cannot be made private") }
            } else if info.st_uid != 0 && info.st_uid != me || othersMayWrite && info.st_mode & S_ISVTX == 0 {
                throw problem("\(current) can be changed by another user")
            }
        }
        // libdebuginfod's own cleaning goes by access time, which a debug file in use (parsed once,
        // kept open) does not renew: the size cap does the evicting instead.
        let ageFile = "\(resolved)/max_unused_age_s"
        var age = stat()
        if lstat(ageFile, &age) != 0 {
            let fd = open(ageFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                _ = "315360000".withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        return resolved
    }

    /// Renews a cached file's access time (eviction goes least recently used first).
    static func touch(_ path: String) {
        // UTIME_NOW and UTIME_OMIT (<sys/stat.h> macros Swift does not import): access now, modification kept.
        let now = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1), timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)]
        _ = utimensat(AT_FDCWD, path, now, AT_SYMLINK_NOFOLLOW)
    }

    /// Removes `<build ID>/` when all it holds is libdebuginfod's record of a miss (an empty file).
    static func removeMissEntry(_ buildID: String, in directory: String) {
        var info = stat()
        guard BuildID.isHex(buildID), lstat("\(directory)/\(buildID)/debuginfo", &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size == 0 else { return }
        removeCacheEntry(buildID, in: directory)
    }

    /// `<directory>/<build ID>/debuginfo` when it holds a file (libdebuginfod records a miss as an
    /// empty file without permissions); its access time is renewed, for eviction.
    static func cachedFile(_ buildID: String, in directory: String) -> String? {
        let path = "\(directory)/\(buildID)/debuginfo"
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0, info.st_mode & 0o400 != 0, info.st_uid == geteuid()
        else { return nil }
        touch(path)
        return path
    }

    /// Removes one build ID's entry (its regular files, then the directory).
    static func removeCacheEntry(_ buildID: String, in directory: String) {
        guard BuildID.isHex(buildID) else { return }
        let entry = "\(directory)/\(buildID)"
        for (name, _) in files(in: entry) { unlink("\(entry)/\(name)") }
        rmdir(entry)
    }

    /// Sums the cache and removes the least recently used entries (never `keeping`) until it holds
    /// at most `maxBytes`. Returns the bytes left and the entries removed.
    static func trimCache(_ directory: String, maxBytes: Int64, keeping: String?) -> (bytes: Int64, evicted: Int) {
        var entries: [(buildID: String, bytes: Int64, lastUse: Int)] = []
        for name in directoryNames(in: directory) where BuildID.isHex(name) {
            let files = files(in: "\(directory)/\(name)")
            let bytes = files.reduce(Int64(0)) { $0 &+ max(Int64($1.info.st_size), 0) }
            let lastUse = files.map { max($0.info.st_atim.tv_sec, $0.info.st_mtim.tv_sec) }.max() ?? 0
            entries.append((name, bytes, lastUse))
        }
        var total = entries.reduce(Int64(0)) { $0 &+ $1.bytes }
        var evicted = 0
        for entry in entries.sorted(by: { $0.lastUse < $1.lastUse }) where total > maxBytes && entry.buildID != keeping {
            removeCacheEntry(entry.buildID, in: directory)
            total -= entry.bytes
            evicted += 1
        }
        return (total, evicted)
    }

    /// The subdirectories of `path` (not following links).
    private static func directoryNames(in path: String) -> [String] {
        entries(in: path).filter { $0.info.st_mode & S_IFMT == S_IFDIR }.map(\.name)
    }

    /// The regular files in `path` (not following links), with their status.
    private static func files(in path: String) -> [(name: String, info: stat)] {
        entries(in: path).filter { $0.info.st_mode & S_IFMT == S_IFREG }
    }

    private static func entries(in path: String) -> [(name: String, info: stat)] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var found: [(String, stat)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != "..", found.count < 100_000 else { continue }
            var info = stat()
            if fstatat(dirfd(directory), name, &info, AT_SYMLINK_NOFOLLOW) == 0 { found.append((name, info)) }
        }
        return found
    }
}
