import Foundation

/// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on unified hosts,
/// /sys/fs/cgroup/unified on hybrid ones. Used to resolve cgroup filters and to name cgroup ids.
public enum Cgroup2Mount {
    /// The mount point from `mountinfo` (default: this process's /proc/self/mountinfo); nil without one.
    public static func path(mountinfo: String? = nil) -> String? {
        guard let text = mountinfo ?? (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) else { return nil }
        for line in text.split(separator: "\n") {
            // "36 35 0:30 / /sys/fs/cgroup rw,… shared:9 - cgroup2 cgroup2 rw": the type follows " - ".
            guard let separator = line.range(of: " - ") else { continue }
            let fields = line[..<separator.lowerBound].split(separator: " ")
            if line[separator.upperBound...].hasPrefix("cgroup2 "), fields.count > 4, fields[3] == "/" {
                return String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            }
        }
        return nil
    }

    /// The id of the cgroup at `path` (absolute, inside the hierarchy: no `.` or `..` component) —
    /// the inode number of its directory, what BPF's cgroup helpers return; nil when the hierarchy
    /// is not mounted or there is no such cgroup.
    public static func id(of path: String, root: String? = Self.path()) -> UInt64? {
        guard let root, path.hasPrefix("/"), !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else { return nil }
        var info = stat()
        guard lstat(root + path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return UInt64(info.st_ino)
    }
}
