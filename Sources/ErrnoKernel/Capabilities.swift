import CCapabilities
import Glibc

/// Linux capabilities by name, and dropping all but a chosen few once the programs are attached.
///
/// After attach the agent needs only CAP_BPF: every later bpf(2) call (map reads at scrape, map
/// writes at reload, program info) goes through descriptors it already holds, but Debian and most
/// distributions set kernel.unprivileged_bpf_disabled, which refuses bpf(2) to a process without it.
public enum Capabilities {
    /// linux/capability.h, in number order.
    public static let names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// What `--capabilities.keep` keeps by default: CAP_BPF for map access; CAP_SYS_PTRACE and
    /// CAP_DAC_READ_SEARCH to read a captured process's /proc/PID/maps, perf map and ELF files (any user's).
    public static let defaultKeep = ["CAP_BPF", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"]
    /// Added to the default while a trigger has async_stacks: creating a uprobe event for a Node.js
    /// binary started later needs CAP_PERFMON, and on recent kernels CAP_SYS_ADMIN.
    public static let asyncStacksKeep = ["CAP_PERFMON", "CAP_SYS_ADMIN"]

    /// The bit mask of `names` (case-insensitive, `CAP_` optional); throws on an unknown name.
    public static func mask(_ list: [String]) throws -> UInt64 {
        try list.reduce(0) { mask, name in
            let canonical = name.uppercased().hasPrefix("CAP_") ? name.uppercased() : "CAP_" + name.uppercased()
            guard let bit = names.firstIndex(of: canonical) else {
                throw StartupError("--capabilities.keep: unknown capability \"\(name)\"; known: \(names.joined(separator: ", "))")
            }
            return mask | 1 << UInt64(bit)
        }
    }

    /// Names of the capabilities set in `mask`.
    public static func names(in mask: UInt64) -> [String] {
        names.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }

    /// Keeps only `mask` in the effective, permitted and bounding sets; clears inheritable and ambient.
    public static func keepOnly(_ mask: UInt64) throws {
        let result = errno_keep_capabilities(mask)
        guard result == 0 else {
            let reason = String(cString: strerror(-result))
            throw StartupError("cannot drop capabilities to \(names(in: mask).joined(separator: ",")): \(reason) (is every kept capability held now?)")
        }
    }
}
