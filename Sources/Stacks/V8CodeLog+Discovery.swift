import Glibc

extension V8CodeLog {
    /// Descriptors of a process looked at, at most, when looking for its log.
    static let maxDescriptorsScanned = 1024
    /// Candidate files (open `*.log` files) checked for V8's first line, at most.
    static let maxCandidates = 8

    /// The V8 log process `pid` is writing: among the files it holds open, the first named `*.log`
    /// that its user owns and that starts as V8's log does (`v8-version,`). V8 keeps its log open
    /// while it runs, wherever `--logfile` put it (the working directory by default). The kernel
    /// shows a descriptor's path as the process sees it when it runs in another mount namespace (a
    /// container), else as this agent does (a process in a chroot): the path is tried through the
    /// process's root first, then as it is, and taken only when it opens the very file the process
    /// holds (same device and inode).
    static func find(pid: Int32, owner: UInt32) -> String? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var scanned = 0, candidates = 0
        while scanned < maxDescriptorsScanned, candidates < maxCandidates, let entry = readdir(directory) {
            scanned += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int32(name) != nil, let target = link("/proc/\(pid)/fd/\(name)"), target.hasPrefix("/"), target.hasSuffix(".log")
            else { continue }
            candidates += 1
            var held = stat()
            guard stat("/proc/\(pid)/fd/\(name)", &held) == 0 else { continue }
            for path in ["/proc/\(pid)/root" + target, target] where startsAsV8Log(path, owner: owner, file: held) {
                return path
            }
        }
        return nil
    }

    private static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return buffer.prefix(count).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    private static func startsAsV8Log(_ path: String, owner: UInt32, file: stat) -> Bool {
        guard let opened = try? TargetFile.open(path, owner: owner) else { return false }
        defer { close(opened.descriptor) }
        guard opened.info.st_dev == file.st_dev, opened.info.st_ino == file.st_ino else { return false }
        let header = Array("v8-version,".utf8)
        var bytes = [UInt8](repeating: 0, count: header.count)
        return pread(opened.descriptor, &bytes, bytes.count, 0) == bytes.count && bytes == header
    }
}
