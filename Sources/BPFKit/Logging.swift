import CLibBPF

/// Where libbpf's own messages go (verifier logs, CO-RE relocation notes, warnings).
public enum LibBPFLog {
    /// Severity as libbpf reports it.
    public enum Level: Sendable {
        case warning, info, debug
    }

    /// Installs `sink` for every libbpf message up to `maxLevel`. `sink` must be a plain function.
    public static func route(maxLevel: Level, to sink: @convention(c) (libbpf_print_level, UnsafePointer<CChar>?) -> Void) {
        let level: libbpf_print_level = switch maxLevel {
        case .warning: LIBBPF_WARN
        case .info: LIBBPF_INFO
        case .debug: LIBBPF_DEBUG
        }
        clibbpf_set_log_sink(sink, level)
    }

    /// libbpf's version, e.g. "1.1".
    public static var libraryVersion: String {
        String(String(cString: libbpf_version_string()).drop { $0 == "v" })
    }
}
