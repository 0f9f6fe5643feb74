import Foundation

/// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on unified hosts,
/// /sys/fs/cgroup/unified on hybrid ones. Used to resolve cgroup filters and to name cgroup ids.
public enum Cgroup2Mount {
    /// The mount point from `mountinfo` (default: this process's /proc/self/mountinfo); nil without one.
    public static func path(mountinfo: String? = nil) -> String? {
        guard let text = mountinfo ?? MountInfo.ownText() else { return nil }
        guard let mount = MountInfo.entries(text).first(where: { $0.type == "cgroup2" && $0.root == "/" }) else { return nil }
        return String(mount.mountPoint).replacingOccurrences(of: "\\040", with: " ")
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
