/// One line of a /proc/PID/mountinfo (`id parent major:minor root mountpoint options [tags…] - type
/// source options`), as far as the agent needs it: which device, which part of it, where, and of
/// what file system type.
public struct MountInfo: Sendable, Equatable {
    public let major: UInt32
    public let minor: UInt32
    /// The mounted directory inside the file system (`/` for its root).
    public let root: Substring
    /// Where it is mounted, as the kernel escapes it (a space is `\040`).
    public let mountPoint: Substring
    public let type: Substring

    /// The most of a mountinfo read: a host with thousands of container mounts stays under it.
    public static let limit = 16 << 20

    /// This process's mount table; nil when it cannot be read.
    public static func ownText() -> String? {
        SmallFile.read("/proc/self/mountinfo", limit: limit)
    }

    /// The mounts of a mountinfo text; lines it cannot read are passed over.
    public static func entries(_ text: String) -> [MountInfo] {
        text.split(separator: "\n").compactMap { line in
            // The type follows " - " (a " - " inside a field would be escaped).
            guard let separator = line.firstRange(of: " - ") else { return nil }
            let fields = line[..<separator.lowerBound].split(separator: " ")
            let device = fields.count > 4 ? fields[2].split(separator: ":") : []
            guard device.count == 2, let major = UInt32(device[0]), let minor = UInt32(device[1]),
                let type = line[separator.upperBound...].split(separator: " ").first
            else { return nil }
            return MountInfo(major: major, minor: minor, root: fields[3], mountPoint: fields[4], type: type)
        }
    }
}
