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
}
