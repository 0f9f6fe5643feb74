import Foundation
import Yams

/// One problem in a config file, located as precisely as the YAML allows.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    /// Dotted key path, e.g. "syscalls.max_series"; empty for the document itself.
    public let keyPath: String
    public let message: String

    public var description: String {
        let location = line > 0 ? "\(file):\(line):\(column)" : file
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// Every problem found in a config file; thrown by `ConfigLoader` with all of them at once.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let issues: [ConfigIssue]

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Parses and validates config files strictly: unknown keys, wrong types and impossible values are
/// errors, each naming file, line, column and key path; all of them are reported, not only the first.
public enum ConfigLoader {
    public static func load(path: String) throws -> Config {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: path, line: 0, column: 0, keyPath: "", message: "cannot read the config file: \(Self.reason(error))")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> Config {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(issues: [syntaxIssue(error, file: file)])
        }
        let reader = NodeReader(file: file)
        var config = Config()
        if let root, !reader.isNull(root) {
            reader.mapping(root, path: "", keys: ["syscalls"]) { key, value, path in
                switch key {
                case "syscalls":
                    reader.mapping(value, path: path, keys: ["max_series"]) { key, value, path in
                        if key == "max_series", let count = reader.integer(value, path: path, in: Config.maxSeriesRange) {
                            config.syscalls.maxSeries = count
                        }
                    }
                default:
                    break
                }
            }
        }
        if !reader.issues.isEmpty { throw ConfigError(issues: reader.issues) }
        return config
    }

    private static func syntaxIssue(_ error: YamlError, file: String) -> ConfigIssue {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return ConfigIssue(file: file, line: mark.line, column: mark.column, keyPath: "", message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let mark = context.mark
            return ConfigIssue(
                file: file, line: mark.line, column: mark.column, keyPath: "",
                message: "duplicate key \(duplicates.joined(separator: ", ")) in one mapping")
        default:
            return ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "invalid YAML: \(error)")
        }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}

/// Walks a YAML node tree, recording an issue for every node that does not fit the schema.
final class NodeReader {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) {
        self.file = file
    }

    func fail(_ node: Node, _ path: String, _ message: String) {
        let mark = node.mark
        issues.append(ConfigIssue(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, keyPath: path, message: message))
    }

    func isNull(_ node: Node) -> Bool {
        if case let .scalar(scalar) = node { return scalar.style == .plain && node.null != nil }
        return false
    }

    /// Visits each key of a mapping, after rejecting keys not in `keys` (with a hint for near misses).
    /// A null node (`syscalls:` with nothing under it) is an empty mapping.
    func mapping(_ node: Node, path: String, keys: [String], visit: (String, Node, String) -> Void) {
        if isNull(node) { return }
        guard case let .mapping(mapping) = node else {
            fail(node, path, "expected a mapping of \(keys.joined(separator: ", "))")
            return
        }
        for (keyNode, value) in mapping {
            guard case let .scalar(scalar) = keyNode else {
                fail(keyNode, path, "keys must be plain strings")
                continue
            }
            let key = scalar.string
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard keys.contains(key) else {
                let hint = keys.first { Self.editDistance($0, key) <= 2 }.map { "; did you mean \"\($0)\"?" } ?? "; known keys: \(keys.joined(separator: ", "))"
                fail(keyNode, keyPath, "unknown key\(hint)")
                continue
            }
            visit(key, value, keyPath)
        }
    }

    func integer(_ node: Node, path: String, in range: ClosedRange<Int>) -> Int? {
        guard case let .scalar(scalar) = node, scalar.style == .plain, let value = Int(scalar.string) else {
            fail(node, path, "expected an integer")
            return nil
        }
        guard range.contains(value) else {
            fail(node, path, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
