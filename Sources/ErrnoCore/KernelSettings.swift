import CErrnoBPF
import ErrnoConfig
import Foundation
import KernelNames

/// The config turned into what the BPF program's settings maps hold: numbers, ids, NUL-padded comms.
/// Resolving can fail (a cgroup that does not exist), so it happens before anything is applied.
public struct KernelSettings: Sendable, Equatable {
    var filters: UInt32 = 0
    var labels: UInt32 = 0
    /// Which opt-in labels each counter shows.
    public private(set) var syscallLabels = OptInLabels()
    public private(set) var pathLabels = OptInLabels()
    var excludedErrnos: Set<UInt32> = []
    /// Syscall number → 1-based position of its path argument.
    var pathArguments: [UInt32: UInt32] = [:]
    var commFilter: [String: UInt32] = [:]
    var pids: Set<UInt32> = []
    var cgroupIDs: Set<UInt64> = []
    /// Path syscalls of the config this architecture does not have (arm64 has no open, creat …).
    public private(set) var absentSyscalls: [String] = []
    /// Stack-capture triggers.
    public private(set) var triggers = TriggerPlan([])

    public init(config: Config, syscalls: SyscallNames = SyscallNames()) throws {
        for name in config.syscalls.excludeErrnos {
            if let value = ErrnoNames.value(name) { excludedErrnos.insert(value) }
        }
        for name in config.paths.syscalls {
            guard let position = PathSyscalls.pathArgument[name] else { continue }
            if let number = syscalls.number(name), number < MAX_SYSCALL_NR {
                pathArguments[number] = UInt32(position)
            } else {
                absentSyscalls.append(name)
            }
        }
        for comm in config.filters.comms { commFilter[comm] = UInt32(COMM_INCLUDE.rawValue) }
        for comm in config.filters.excludeComms { commFilter[comm] = UInt32(COMM_EXCLUDE.rawValue) }
        pids = Set(config.filters.pids.map { UInt32($0) })
        cgroupIDs = Set(try config.filters.cgroups.map(Self.cgroupID))

        triggers = TriggerPlan(config.triggers)
        syscallLabels = config.syscalls.extraLabels
        pathLabels = config.paths.extraLabels
        if syscallLabels.pid { labels |= LABEL_SYSCALL_PID.rawValue }
        if syscallLabels.cgroup { labels |= LABEL_SYSCALL_CGROUP.rawValue }
        if pathLabels.pid { labels |= LABEL_PATH_PID.rawValue }
        if pathLabels.cgroup { labels |= LABEL_PATH_CGROUP.rawValue }
        if !excludedErrnos.isEmpty { filters |= FILTER_ERRNOS.rawValue }
        if !config.filters.comms.isEmpty { filters |= FILTER_COMMS_INCLUDE.rawValue }
        if !config.filters.excludeComms.isEmpty { filters |= FILTER_COMMS_EXCLUDE.rawValue }
        if !pids.isEmpty { filters |= FILTER_PIDS.rawValue }
        if !cgroupIDs.isEmpty { filters |= FILTER_CGROUPS.rawValue }
    }

    init() {}

    /// A cgroup v2 id is the inode number of its directory in the cgroup2 mount.
    static func cgroupID(_ path: String) throws -> UInt64 {
        guard let root = cgroup2MountPoint() else {
            throw StartupError("filters.cgroups needs the cgroup v2 hierarchy mounted (no cgroup2 entry in /proc/self/mountinfo)")
        }
        var info = stat()
        guard stat(root + path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw StartupError("filters.cgroups: no cgroup \(path) (\(root + path) is not a directory)")
        }
        return UInt64(info.st_ino)
    }

    /// Where cgroup2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
    public static func cgroup2MountPoint(mountinfo: String? = nil) -> String? {
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

    /// A comm as the kernel stores it: 16 bytes, NUL-padded.
    static func commKey(_ comm: String) -> (UInt64, UInt64) {
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { buffer in
            for (index, byte) in comm.utf8.prefix(15).enumerated() { buffer[index] = byte }
        }
        return words
    }
}
