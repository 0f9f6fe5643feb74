import BPFKit
import Glibc
import SystemSupport

/// Checks, before touching BPF, what the kernel and the process must offer, so that a missing
/// feature is reported by name instead of as a verifier dump or an EPERM.
public enum Preflight {
    public static let btfPath = "/sys/kernel/btf/vmlinux"

    /// Capabilities the agent needs to load and attach its programs (linux/capability.h numbers).
    static let neededCapabilities: [(bit: Int, name: String)] = [(39, "CAP_BPF"), (38, "CAP_PERFMON")]
    static let capSysAdmin = 21

    public static func check() throws {
        guard access(btfPath, R_OK) == 0 else {
            throw StartupError(
                "kernel BTF not found at \(btfPath): errno_exporter needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux 5.5 or later)")
        }
        let missing = missingCapabilities()
        if !missing.isEmpty {
            throw StartupError(
                "missing \(missing.joined(separator: ", ")): run errno_exporter as root, or grant them "
                    + "(systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_DAC_READ_SEARCH)")
        }
    }

    /// The needed capabilities absent from the effective set (CAP_SYS_ADMIN covers both, as on pre-5.8 kernels).
    public static func missingCapabilities() -> [String] {
        guard let effective = effectiveCapabilities() else { return [] }
        if effective & (1 << UInt64(capSysAdmin)) != 0 { return [] }
        return neededCapabilities.filter { effective & (1 << UInt64($0.bit)) == 0 }.map(\.name)
    }

    static func effectiveCapabilities() -> UInt64? {
        guard let status = SmallFile.read("/proc/self/status", limit: 1 << 16) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 16)
        }
        return nil
    }

    /// Turns a load or attach failure into what happened: an unresolved kernel function or helper
    /// by name, a verifier rejection with the end of its log, a refusal despite the capabilities
    /// being held. Privileges are judged by the capabilities themselves, never by the errno.
    public static func explain(_ error: any Error) -> any Error {
        guard let bpfError = error as? BPFError else { return error }
        let log = bpfError.log
        if let unresolved = log.first(where: { $0.contains("extern") && $0.contains("not found") }) {
            return StartupError(
                "\(bpfError.operation): \(unresolved.trimmingPrefix("libbpf: ")) — this kernel lacks a kernel function the program uses; "
                    + "the agent probes for it and loads a program without it, so this is a bug: please report it with this line")
        }
        if let begin = log.firstIndex(where: { $0.contains("-- BEGIN PROG LOAD LOG --") }) {
            let program = log[begin].split(separator: "'").dropFirst().first.map(String.init) ?? "?"
            let body = log[(begin + 1)...].prefix { !$0.contains("-- END PROG LOAD LOG --") }.filter { !$0.isEmpty }
            return StartupError(
                "the kernel's verifier rejected program \(program) (\(bpfError.reason)); the end of its log: "
                    + body.suffix(4).joined(separator: " | ") + " — please report it with the output of --log.level=debug")
        }
        switch bpfError.code {
        case EPERM, EACCES:
            let missing = missingCapabilities()
            if !missing.isEmpty {
                return StartupError("\(bpfError) — missing \(missing.joined(separator: ", ")): run as root or grant them")
            }
            return StartupError(
                "\(bpfError) — the kernel refused BPF although CAP_BPF and CAP_PERFMON are held: kernel lockdown or an LSM policy forbids it here")
        case ENOENT where bpfError.operation.hasPrefix("attach"), ENOTSUP where bpfError.operation.hasPrefix("attach"):
            return StartupError("\(bpfError) — this kernel cannot attach tp_btf/sys_exit (needs Linux 5.5+ with BTF)")
        default:
            return error
        }
    }
}
