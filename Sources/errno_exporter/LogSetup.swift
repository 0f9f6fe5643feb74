import ArgumentParser
import BPFKit
import ErrnoAgent
import Logging

/// `--log.format` values.
typealias LogFormat = LineLogHandler.Format

extension LineLogHandler.Format: ExpressibleByArgument {}

/// Installs the process-wide log handler and routes libbpf's messages into it.
enum LogSetup {
    static func bootstrap(level: Logger.Level, format: LogFormat) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "errno_exporter")
        logger.logLevel = level
        let libbpfLogger = logger
        LibBPFLog.route(maxLevel: level == .debug || level == .trace ? .debug : .warning) { libbpfLevel, line in
            libbpfLogger.log(level: libbpfLevel == .warning ? .warning : .debug, "\(line)", metadata: ["component": "libbpf"])
        }
        return logger
    }
}
