import SystemSupport
import Yams

/// Reads `triggers:`: a list of stack-capture triggers, each checked on its own and against the others.
enum TriggerReader {
    static let keys = ["name", "path", "path_prefix", "comm", "result", "stacks", "max_per_minute", "armed", "arm_for", "async_stacks"]

    static func read(_ node: Node, _ path: String, _ reader: NodeReader) -> [Config.Trigger] {
        var names: Set<String> = []
        let triggers = reader.list(node, path: path) { item, path -> Config.Trigger? in
            guard let trigger = readTrigger(item, path, reader) else { return nil }
            if !names.insert(trigger.name).inserted {
                reader.fail(item, path, "trigger name \"\(trigger.name)\" is used twice")
                return nil
            }
            return trigger
        }
        if triggers.count > Config.maxTriggers {
            reader.fail(node, path, "\(triggers.count) triggers; at most \(Config.maxTriggers) (one trigger may list many paths)")
        }
        for (kind, count) in [("paths", triggers.reduce(0) { $0 + Set($1.paths).count }), ("path prefixes", triggers.reduce(0) { $0 + Set($1.prefixes).count })]
        where count > Config.maxTriggerPaths {
            reader.fail(node, path, "\(count) \(kind) in all triggers; at most \(Config.maxTriggerPaths)")
        }
        return triggers
    }

    /// One trigger. `extraKeys` are accepted besides the trigger's own and handed to `extra`.
    static func readTrigger(
        _ node: Node, _ path: String, _ reader: NodeReader, keys: [String] = keys, extraKeys: [String] = [],
        extra: (String, Node, String) -> Void = { _, _, _ in }
    ) -> Config.Trigger? {
        var name: String?
        var fields = Config.Trigger(name: "")
        var valid = true
        reader.mapping(node, path: path, keys: keys + extraKeys) { key, value, path in
            let failuresBefore = reader.issues.count
            defer { if reader.issues.count != failuresBefore { valid = false } }
            if extraKeys.contains(key) { return extra(key, value, path) }
            switch key {
            case "name":
                guard let text = reader.string(value, path: path) else { return }
                if text.isEmpty || text.utf8.count > 64 || !text.utf8.allSatisfy(isNameByte) {
                    reader.fail(value, path, "a trigger name is 1 to 64 of A-Z a-z 0-9 _ . - (it becomes a label value and a URL parameter)")
                } else {
                    name = text
                }
            case "path", "path_prefix":
                var paths: [String] = []
                if case .sequence = value {
                    paths = reader.strings(value, path: path, validate: pathProblem)
                    if paths.isEmpty { reader.fail(value, path, "an empty list matches nothing") }
                } else if let text = reader.string(value, path: path) {
                    if let problem = pathProblem(text) { reader.fail(value, path, problem) } else { paths = [text] }
                }
                if key == "path" { fields.paths = paths } else { fields.prefixes = paths }
            case "comm":
                guard let text = reader.string(value, path: path) else { return }
                if let problem = ConfigLoader.commProblem(text) { reader.fail(value, path, problem) } else { fields.comm = text }
            case "result":
                if let result = choice(value, path, reader, Config.Trigger.Result.self) { fields.result = result }
            case "stacks":
                let names = reader.strings(value, path: path) { name in
                    Config.Trigger.Stack(rawValue: name) == nil ? "unknown stack \"\(name)\"; stacks are user, kernel" : nil
                }
                fields.stacks = Set(names.compactMap(Config.Trigger.Stack.init(rawValue:)))
            case "max_per_minute":
                if let count = reader.integer(value, path: path, in: 0...60_000) { fields.maxPerMinute = count }
            case "armed":
                if let arming = choice(value, path, reader, Config.Trigger.Arming.self) { fields.armed = arming }
            case "async_stacks":
                if let flag = reader.boolean(value, path: path) { fields.asyncStacks = flag }
            default:
                guard let text = reader.string(value, path: path) else { return }
                if let seconds = DurationText.seconds(text), (1...604_800).contains(seconds) {
                    fields.armForSeconds = seconds
                } else {
                    reader.fail(value, path, "expected a duration from 1s to 7d, like 30s, 10m, 1h or 1h30m")
                }
            }
        }
        if reader.isNull(node) { reader.fail(node, path, "a trigger needs at least a name and a path or path_prefix") }
        guard case .mapping = node else { return nil }
        if name == nil, !reader.issues.contains(where: { $0.keyPath == "\(path).name" }) {
            reader.fail(node, path, "a trigger needs a name")
        }
        if fields.paths.isEmpty, fields.prefixes.isEmpty, !reader.issues.contains(where: { $0.keyPath.hasPrefix("\(path).path") }) {
            reader.fail(node, path, "a trigger needs path (exact paths) or path_prefix")
        }
        guard valid, let name, !fields.paths.isEmpty || !fields.prefixes.isEmpty else { return nil }
        fields.name = name
        return fields
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "a trigger path cannot be empty" }
        if path.utf8.contains(0) { return "a path cannot contain a NUL byte" }
        if path.utf8.count > Config.maxTriggerPathBytes {
            return "\(path.utf8.count) bytes; the kernel compares at most \(Config.maxTriggerPathBytes) bytes of a path (use path_prefix for longer ones)"
        }
        return nil
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ node: Node, _ path: String, _ reader: NodeReader, _ type: Choice.Type
    ) -> Choice? where Choice.RawValue == String {
        guard let text = reader.string(node, path: path) else { return nil }
        guard let value = Choice(rawValue: text) else {
            reader.fail(node, path, "\"\(text)\" is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }
}
