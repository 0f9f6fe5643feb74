import BPFKit
import Foundation
import Logging
import SystemSupport

/// Writes one line per message to stderr, as logfmt (`ts=… level=… msg="…" key=value`) or JSON,
/// the two formats Prometheus' own binaries offer.
public struct LineLogHandler: LogHandler {
    let label: String
    let format: Format
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    /// The line formats.
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()),
            ("level", Self.name(event.level)),
            ("msg", "\(event.message)"),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append((key, "\(value)"))
        }
        let line = switch format {
        case .logfmt: fields.map { "\($0)=\(Self.logfmtValue($1))" }.joined(separator: " ")
        case .json: "{" + fields.map { "\(Self.jsonString($0)):\(Self.jsonString($1))" }.joined(separator: ",") + "}"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warn"
        case .error, .critical: "error"
        }
    }

    static func timestamp() -> String { RFC3339.format(Date(), fractionDigits: 3) }

    /// Longest value a log line carries (paths, stacks and frame names come from other users'
    /// processes); a longer one is cut and marked.
    static let maxValueBytes = 4096

    /// A logfmt value: bare when it is plain, else quoted with every control character (C0, DEL,
    /// C1, line and paragraph separators) escaped as JSON escapes them, so no value can start a
    /// line or move the cursor; cut at `maxValueBytes`.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isControlCharacter }
        return needsQuotes ? jsonString(value) : bounded(value)
    }

    static func bounded(_ value: String) -> String {
        value.truncated(toUTF8Bytes: maxValueBytes, marker: "…[truncated]")
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in bounded(value).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.isControlCharacter: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension LineLogHandler {
    /// Installs this handler process-wide and routes libbpf's messages into it.
    public static func bootstrap(level: Logger.Level, format: Format) -> Logger {
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
