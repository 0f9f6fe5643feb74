import CLibBPF
import Synchronization

/// Where libbpf's own messages go (verifier logs, CO-RE relocation notes, warnings).
public enum LibBPFLog {
    /// Severity as libbpf reports it.
    public enum Level: Int, Sendable, Comparable {
        case warning, info, debug

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        init(_ level: libbpf_print_level) {
            self = switch level {
            case LIBBPF_WARN: .warning
            case LIBBPF_INFO: .info
            default: .debug
            }
        }
    }

    /// Receives one libbpf message, without its trailing newline.
    public typealias Sink = @Sendable (Level, String) -> Void

    private static let sink = Mutex<Sink?>(nil)

    /// Sends every libbpf message up to `maxLevel` to `sink`.
    public static func route(maxLevel: Level, to sink: @escaping Sink) {
        Self.sink.withLock { $0 = sink }
        let level: libbpf_print_level = switch maxLevel {
        case .warning: LIBBPF_WARN
        case .info: LIBBPF_INFO
        case .debug: LIBBPF_DEBUG
        }
        clibbpf_set_log_sink({ level, line in
            guard let line, let sink = LibBPFLog.sink.withLock({ $0 }) else { return }
            sink(Level(level), String(cString: line))
        }, level)
    }

    /// libbpf's version, e.g. "1.1".
    public static var libraryVersion: String {
        String(String(cString: libbpf_version_string()).drop { $0 == "v" })
    }
}
