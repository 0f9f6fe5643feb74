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

        var libbpf: libbpf_print_level {
            switch self {
            case .warning: LIBBPF_WARN
            case .info: LIBBPF_INFO
            case .debug: LIBBPF_DEBUG
            }
        }
    }

    /// Receives one libbpf message, without its trailing newline.
    public typealias Sink = @Sendable (Level, String) -> Void

    private struct State {
        var sink: Sink?
        /// Warnings since `collectingWarnings` began (a load's verifier log, unresolved externs).
        var collected: [String]?
    }

    private static let state = Mutex(State())

    /// Sends every libbpf message up to `maxLevel` to `sink`.
    public static func route(maxLevel: Level, to sink: @escaping Sink) {
        state.withLock { $0.sink = sink }
        install(maxLevel)
    }

    private static func install(_ maxLevel: Level) {
        clibbpf_set_log_sink({ level, line in
            guard let line else { return }
            let text = String(cString: line)
            let sink = LibBPFLog.state.withLock { state -> Sink? in
                if level == LIBBPF_WARN { state.collected?.append(contentsOf: text.split(separator: "\n").map(String.init)) }
                return state.sink
            }
            sink?(Level(level), text)
        }, maxLevel.libbpf)
    }

    /// Runs `body` and returns, with its result, the warnings libbpf printed meanwhile.
    static func collectingWarnings<T>(_ body: () -> T) -> (T, [String]) {
        let routed = state.withLock { state in
            state.collected = []
            return state.sink != nil
        }
        if !routed { install(.warning) }
        let result = body()
        let warnings = state.withLock { state in
            defer { state.collected = nil }
            return state.collected ?? []
        }
        return (result, warnings)
    }

    /// libbpf's version, e.g. "1.1".
    public static var libraryVersion: String {
        String(String(cString: libbpf_version_string()).drop { $0 == "v" })
    }
}
