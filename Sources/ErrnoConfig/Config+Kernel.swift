import ErrnoKernel
import Foundation
import KernelNames
import SystemSupport

extension Config {
    /// What the BPF program is sized with (fixed until a restart).
    public var kernelOptions: KernelOptions {
        var options = KernelOptions()
        options.syscallSeries = syscalls.maxSeries
        options.pathSeries = paths.maxSeries
        options.userStackBytes = captures.userStackBytes
        options.captureBufferBytes = captures.bufferBytes
        return options
    }

    /// The config resolved into what the kernel's settings maps hold: names to numbers, cgroup paths
    /// to ids. Fails (before anything is applied) when a cgroup does not exist.
    public func kernelSettings(syscalls names: SyscallNames = SyscallNames()) throws -> KernelSettings {
        var settings = KernelSettings()
        for name in syscalls.excludeErrnos {
            if let value = ErrnoNames.value(name) { settings.excludedErrnos.insert(value) }
        }
        for name in paths.syscalls {
            guard let position = PathSyscalls.pathArgument[name], let number = names.number(name), number < KernelLimits.maxSyscallNumber else {
                continue
            }
            settings.pathArguments[number] = UInt32(position)
        }
        settings.includedComms = filters.comms
        settings.excludedComms = filters.excludeComms
        settings.pids = Set(filters.pids.map { UInt32($0) })
        settings.cgroupIDs = Set(try filters.cgroups.map(Self.cgroupID))
        settings.syscallPID = syscalls.extraLabels.pid
        settings.syscallCgroup = syscalls.extraLabels.cgroup
        settings.pathPID = paths.extraLabels.pid
        settings.pathCgroup = paths.extraLabels.cgroup
        settings.triggers = TriggerPlan(triggers.map(\.spec))
        return settings
    }

    /// Path syscalls of the config this architecture does not have (arm64 has no open, creat …).
    public func absentPathSyscalls(_ names: SyscallNames = SyscallNames()) -> [String] {
        paths.syscalls.filter { PathSyscalls.pathArgument[$0] != nil && names.number($0) == nil }
    }

    /// A cgroup v2 id is the inode number of its directory in the cgroup2 mount.
    static func cgroupID(_ path: String) throws -> UInt64 {
        guard let root = Cgroup2Mount.path() else {
            throw StartupError("filters.cgroups needs the cgroup v2 hierarchy mounted (no cgroup2 entry in /proc/self/mountinfo)")
        }
        guard let id = Cgroup2Mount.id(of: path, root: root) else {
            throw StartupError("filters.cgroups: no cgroup \(path) (\(root + path) is not a directory)")
        }
        return id
    }
}

extension Config.Trigger {
    /// The trigger as the kernel needs it.
    public var spec: TriggerSpec {
        var spec = TriggerSpec(name: name, paths: paths, prefixes: prefixes)
        spec.comm = comm
        spec.onFailure = result != .success
        spec.onSuccess = result != .failure
        spec.userStack = stacks.contains(.user)
        spec.kernelStack = stacks.contains(.kernel)
        spec.maxPerMinute = maxPerMinute
        spec.alwaysArmed = armed == .always
        spec.asyncStacks = asyncStacks
        return spec
    }
}
