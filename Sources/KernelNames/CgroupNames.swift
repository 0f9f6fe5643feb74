import Glibc
import SystemSupport

/// Resolves cgroup v2 ids (what BPF's bpf_get_current_cgroup_id() returns: the inode number of the
/// cgroup's directory) to paths for the `cgroup` label. A miss re-indexes the whole cgroup2 tree —
/// at most once per scrape — and the index is bounded. No capability is needed: cgroupfs is
/// world-readable. Not thread-safe: each user keeps its own.
public final class CgroupNames {
    /// Marks a cgroup that no longer exists (or never appeared in the tree).
    public static let unknown = "<unknown>"
    static let maxEntries = 100_000

    private let root: String?
    private var paths: [UInt64: String] = [:]
    private var indexedThisScrape = false

    public init(root: String? = Cgroup2Mount.path()) {
        self.root = root
    }

    /// Call at the start of each scrape: allows one re-index.
    public func beginScrape() {
        indexedThisScrape = false
    }

    public func name(_ id: UInt64) -> String {
        if let path = paths[id] { return path }
        if !indexedThisScrape {
            indexedThisScrape = true
            reindex()
        }
        return paths[id] ?? Self.unknown
    }

    private func reindex() {
        guard let root else { return }
        var index: [UInt64: String] = [:]
        var info = stat()
        if stat(root, &info) == 0 { index[UInt64(info.st_ino)] = "/" }
        walk(Array(root.utf8), relative: [], into: &index)
        paths = index
    }

    /// Depth-first over the directories under `directory` (bytes: names need not be UTF-8).
    private func walk(_ directory: [UInt8], relative: [UInt8], into index: inout [UInt64: String]) {
        guard index.count < Self.maxEntries else { return }
        let handle = (directory + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { opendir($0.baseAddress!) } }
        guard let handle else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let path = relative + [0x2F] + name
            index[UInt64(entry.pointee.d_ino)] = LabelValue.encode(path)
            walk(directory + [0x2F] + name, relative: path, into: &index)
        }
    }
}
