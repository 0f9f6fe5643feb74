import ErrnoKernel
import Foundation
import KernelNames
import SystemSupport
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
    /// Larger files are refused: a config is a page of YAML, not a data set.
    public static let maxBytes = 1 << 20

    public static func load(path: String) throws -> Config {
        try parse(try read(path, what: "config file"), file: path)
    }

    /// A YAML file's text; too large or unreadable is a `ConfigError` naming the file.
    static func read(_ path: String, what: String) throws -> String {
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size <= maxBytes else {
                throw ConfigError(issues: [ConfigIssue(file: path, line: 0, column: 0, keyPath: "", message: "the \(what) is \(size) bytes; at most \(maxBytes) are read")])
            }
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: path, line: 0, column: 0, keyPath: "", message: "cannot read the \(what): \(Self.reason(error))")])
        }
    }

    /// The document's root node (nil when empty); a syntax error is a located `ConfigError`.
    /// Composed with Yams' basic resolver: a plain scalar resolves to `!!str` and `NodeReader` reads
    /// each as its key's schema says. (The default resolver's first use compiles seven regular
    /// expressions with ICU, loading ICU's regex code and tables into an agent that reads none of
    /// the tags they give.) A side effect: keys are compared as strings, so `1:` beside `"1":` is a
    /// duplicate key.
    static let resolver = Resolver.basic

    static func compose(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text, resolver)
        } catch let error as YamlError {
            throw ConfigError(issues: [syntaxIssue(error, file: file)])
        }
    }

    public static func parse(_ text: String, file: String) throws -> Config {
        let root = try compose(text, file: file)
        let reader = NodeReader(file: file)
        var config = Config()
        if let root, !reader.isNull(root) {
            reader.mapping(root, path: "", keys: ["syscalls", "paths", "filters", "triggers", "captures", "alerts", "symbolization"]) { key, value, path in
                switch key {
                case "symbolization": readSymbolization(value, path, reader, &config.symbolization)
                case "alerts": config.alerts = AlertsReader.read(value, path, reader, configFile: file)
                case "syscalls": readSyscalls(value, path, reader, &config.syscalls)
                case "paths": readPaths(value, path, reader, &config.paths)
                case "triggers": config.triggers = TriggerReader.read(value, path, reader)
                case "captures": readCaptures(value, path, reader, &config.captures)
                default: readFilters(value, path, reader, &config.filters)
                }
            }
        }
        if !reader.issues.isEmpty { throw ConfigError(issues: reader.issues) }
        return config
    }

    private static func readSyscalls(_ node: Node, _ path: String, _ reader: NodeReader, _ syscalls: inout Config.Syscalls) {
        reader.mapping(node, path: path, keys: ["labels", "max_series", "exclude_errnos"]) { key, value, path in
            switch key {
            case "labels": syscalls.extraLabels = readLabels(value, path, reader, fixed: Config.Syscalls.fixedLabels)
            case "max_series":
                if let count = reader.integer(value, path: path, in: Config.maxSeriesRange) { syscalls.maxSeries = count }
            default:
                syscalls.excludeErrnos = reader.strings(value, path: path) { name in
                    ErrnoNames.value(name) == nil ? "unknown errno name \"\(name)\" (use the symbolic name, e.g. EAGAIN)" : nil
                }
            }
        }
    }

    private static func readPaths(_ node: Node, _ path: String, _ reader: NodeReader, _ paths: inout Config.Paths) {
        reader.mapping(node, path: path, keys: ["syscalls", "labels", "max_series", "rewrite"]) { key, value, path in
            switch key {
            case "labels": paths.extraLabels = readLabels(value, path, reader, fixed: Config.Paths.fixedLabels)
            case "syscalls":
                paths.syscalls = reader.strings(value, path: path) { name in
                    guard PathSyscalls.pathArgument[name] == nil else { return nil }
                    let known = PathSyscalls.pathArgument.keys.sorted().joined(separator: ", ")
                    return "\"\(name)\" is not a path syscall errno_exporter knows; known: \(known)"
                }
            case "max_series":
                if let count = reader.integer(value, path: path, in: Config.maxSeriesRange) { paths.maxSeries = count }
            default:
                paths.rewrite = reader.list(value, path: path) { item, path in
                    var regex: String?, replacement: String?
                    reader.mapping(item, path: path, keys: ["regex", "replacement"]) { key, value, path in
                        let text = reader.string(value, path: path)
                        if key == "regex" { regex = text } else { replacement = text }
                        if key == "regex", let text {
                            do { _ = try NSRegularExpression(pattern: text) } catch { reader.fail(value, path, "invalid regular expression: \(Self.reason(error))") }
                        }
                    }
                    guard let regex, let replacement else {
                        reader.fail(item, path, "a rewrite rule needs both regex and replacement")
                        return nil
                    }
                    return Config.RewriteRule(regex: regex, replacement: replacement)
                }
            }
        }
    }

    /// A counter's label list: its fixed labels, each once, plus any opt-in ones.
    private static func readLabels(_ node: Node, _ path: String, _ reader: NodeReader, fixed: [String]) -> OptInLabels {
        let allowed = fixed + OptInLabels.names
        var seen: Set<String> = []
        let labels = reader.strings(node, path: path) { label in
            if !allowed.contains(label) { return "unknown label \"\(label)\"; labels are \(fixed.joined(separator: ", ")), optionally pid, cgroup" }
            if !seen.insert(label).inserted { return "label \"\(label)\" is listed twice" }
            return nil
        }
        let missing = fixed.filter { !labels.contains($0) }
        if !missing.isEmpty, case .sequence = node {
            reader.fail(node, path, "\(missing.joined(separator: ", ")) cannot be left out; labels are \(fixed.joined(separator: ", ")), optionally pid, cgroup")
        }
        return OptInLabels(pid: labels.contains("pid"), cgroup: labels.contains("cgroup"))
    }

    private static func readFilters(_ node: Node, _ path: String, _ reader: NodeReader, _ filters: inout Config.Filters) {
        let validComm = commProblem
        reader.mapping(node, path: path, keys: ["comms", "exclude_comms", "pids", "cgroups"]) { key, value, path in
            switch key {
            case "comms": filters.comms = reader.strings(value, path: path, validate: validComm)
            case "exclude_comms":
                filters.excludeComms = reader.strings(value, path: path, validate: validComm)
            case "pids":
                filters.pids = reader.list(value, path: path) { item, path in reader.integer(item, path: path, in: Int(KernelLimits.pids.lowerBound)...Int(KernelLimits.pids.upperBound)) }
            default:
                filters.cgroups = reader.strings(value, path: path) { cgroup in
                    cgroup.hasPrefix("/") ? nil : "a cgroup v2 path starts with / (relative to the cgroup2 mount), e.g. /system.slice"
                }
            }
        }
        for comm in Set(filters.comms).intersection(filters.excludeComms).sorted() {
            reader.fail(node, path, "comm \"\(comm)\" is both in comms and exclude_comms")
        }
    }

    private static func readCaptures(_ node: Node, _ path: String, _ reader: NodeReader, _ captures: inout Config.Captures) {
        reader.mapping(node, path: path, keys: ["keep", "user_stack_bytes", "buffer_bytes"]) { key, value, path in
            switch key {
            case "keep":
                if let count = reader.integer(value, path: path, in: Config.Captures.keepRange) { captures.keep = count }
            case "user_stack_bytes":
                guard let bytes = reader.integer(value, path: path, in: Config.Captures.userStackBytesRange) else { return }
                if bytes % 8 != 0 { reader.fail(value, path, "must be a multiple of 8") } else { captures.userStackBytes = bytes }
            default:
                guard let bytes = reader.integer(value, path: path, in: Config.Captures.bufferBytesRange) else { return }
                if bytes != 0, bytes & (bytes - 1) != 0 || bytes < 4096 {
                    reader.fail(value, path, "must be 0 (automatic) or a power of two of at least 4096")
                } else {
                    captures.bufferBytes = bytes
                }
            }
        }
    }

    private static func readSymbolization(_ node: Node, _ path: String, _ reader: NodeReader, _ symbolization: inout Config.Symbolization) {
        reader.mapping(node, path: path, keys: ["debuginfod_urls", "cache_dir", "cache_max_bytes", "timeout"]) { key, value, path in
            switch key {
            case "debuginfod_urls":
                symbolization.debuginfodURLs = reader.strings(value, path: path) { AlertsReader.urlProblem($0, what: "debuginfod") }
                if symbolization.debuginfodURLs?.count ?? 0 > Config.Symbolization.maxServers {
                    reader.fail(value, path, "at most \(Config.Symbolization.maxServers) servers")
                }
            case "cache_dir":
                guard let directory = reader.string(value, path: path) else { return }
                let parts = directory.split(separator: "/")
                if !directory.hasPrefix("/") || parts.contains("..") || parts.contains(".") || directory.utf8.count > 1024 {
                    reader.fail(value, path, "an absolute path without . or .. (at most 1024 bytes)")
                } else {
                    symbolization.cacheDirectory = directory
                }
            case "cache_max_bytes":
                let range = Config.Symbolization.cacheMaxBytesRange
                if let bytes = reader.integer(value, path: path, in: Int(range.lowerBound)...Int(range.upperBound)) { symbolization.cacheMaxBytes = Int64(bytes) }
            default:
                guard let text = reader.string(value, path: path) else { return }
                guard let seconds = DurationText.seconds(text), Config.Symbolization.timeoutRange.contains(seconds) else {
                    return reader.fail(value, path, "expected a duration from 1s to 10m, like 30s")
                }
                symbolization.timeoutSeconds = seconds
            }
        }
    }

    /// A comm as the kernel keeps it: 1 to `KernelLimits.commBytes` bytes. Nil when valid, else the problem.
    static func commProblem(_ comm: String) -> String? {
        KernelLimits.isComm(comm)
            ? nil : "a comm is 1 to \(KernelLimits.commBytes) bytes (the kernel truncates longer names); got \(comm.utf8.count)"
    }

    static func syntaxIssue(_ error: YamlError, file: String) -> ConfigIssue {
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

    static func reason(_ error: any Error) -> String {
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

    /// A sequence, each item read by `read` (nil items are dropped; their issues are recorded).
    func list<Item>(_ node: Node, path: String, read: (Node, String) -> Item?) -> [Item] {
        if isNull(node) { return [] }
        guard case let .sequence(sequence) = node else {
            fail(node, path, "expected a list")
            return []
        }
        return sequence.enumerated().compactMap { index, item in read(item, "\(path)[\(index)]") }
    }

    func string(_ node: Node, path: String) -> String? {
        guard case let .scalar(scalar) = node else {
            fail(node, path, "expected a string")
            return nil
        }
        return scalar.string
    }

    /// A list of strings; `validate` returns a message for an invalid one.
    func strings(_ node: Node, path: String, validate: (String) -> String? = { _ in nil }) -> [String] {
        list(node, path: path) { item, path in
            guard let text = string(item, path: path) else { return nil }
            if let problem = validate(text) {
                fail(item, path, problem)
                return nil
            }
            return text
        }
    }

    func boolean(_ node: Node, path: String) -> Bool? {
        guard case let .scalar(scalar) = node, scalar.style == .plain, let value = node.bool else {
            fail(node, path, "expected true or false")
            return nil
        }
        return value
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
