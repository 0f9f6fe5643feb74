import BPFKit
import CErrnoBPF
import KernelNames

/// What this binary is: shown by `--version`, the landing page and `errno_exporter_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"
    public static let revision = String(cString: errno_build_revision())
    public static var libbpfVersion: String { LibBPFLog.libraryVersion }

    public static var summary: String {
        "errno_exporter, version \(version) (revision: \(revision), libbpf: \(libbpfVersion), arch: \(SyscallNames.Architecture.current.rawValue))"
    }
}
