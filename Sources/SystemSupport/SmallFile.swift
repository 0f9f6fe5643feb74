import Glibc

/// Whole small files, read up to a limit (procfs ones report size 0, so they are read until EOF).
public enum SmallFile {
    public static func read(_ path: String, limit: Int) -> String? {
        guard let bytes = readBytes(path, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func readBytes(_ path: String, limit: Int, from offset: Int = 0) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readBytes(descriptor: fd, limit: limit, from: offset)
    }

    /// What an open file holds from `offset` (it is read from there until EOF or `limit`).
    public static func readBytes(descriptor fd: Int32, limit: Int, from offset: Int = 0) -> [UInt8]? {
        if lseek(fd, off_t(offset), SEEK_SET) < 0 { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}
