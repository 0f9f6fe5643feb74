import Foundation

/// One label matcher as Alertmanager writes them — `name="value"`, `name!="value"`, `name=~"regex"`,
/// `name!~"regex"` — for picking which polled alerts are this node's. As in Alertmanager, a regex
/// matches the whole value, and a label the alert lacks has the empty value.
public struct AlertMatcher: Sendable, Equatable, CustomStringConvertible {
    /// How the label's value is compared: equal, not equal, matches the regex, does not match it.
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    public let name: String
    public let op: Operator
    public let value: String
    /// The anchored regex, for `=~` and `!~`.
    private let regex: Regex?

    /// NSRegularExpression is immutable and thread-safe once built.
    private struct Regex: @unchecked Sendable, Equatable {
        let expression: NSRegularExpression
        static func == (a: Regex, b: Regex) -> Bool { a.expression.pattern == b.expression.pattern }
    }

    /// Longest matcher text accepted.
    public static let maxBytes = 4096

    public init(name: String, op: Operator, value: String) throws(AlertMatcherError) {
        guard Self.isLabelName(name) else { throw AlertMatcherError("\"\(name)\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)") }
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual:
            regex = nil
        case .matches, .notMatches:
            // What ICU would take but Alertmanager's RE2 refuses (every poll would get a 400).
            let unsupported = ["(?=", "(?!", "(?<=", "(?<!", "(?>", "*+", "++", "?+", "}+"] + (1...9).map { "\\\($0)" }
            if let construct = unsupported.first(where: { value.contains($0) }) {
                throw AlertMatcherError("\"\(construct)\" in \"\(value)\": Alertmanager's regular expressions (RE2) have no lookaround, backreferences or possessive quantifiers")
            }
            do {
                regex = Regex(expression: try NSRegularExpression(pattern: "\\A(?:\(value))\\z", options: [.dotMatchesLineSeparators]))
            } catch {
                throw AlertMatcherError("invalid regular expression \"\(value)\"")
            }
        }
    }

    /// Parses `name op value`, the value bare or double-quoted (with `\"`, `\\` and `\n` escapes).
    public init(parsing text: String) throws(AlertMatcherError) {
        guard text.utf8.count <= Self.maxBytes else { throw AlertMatcherError("a matcher is at most \(Self.maxBytes) bytes") }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let name = String(trimmed.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        var rest = trimmed.dropFirst(name.count).drop { $0 == " " }
        guard let op = [Operator.notMatches, .matches, .notEqual, .equal].first(where: { rest.hasPrefix($0.rawValue) }) else {
            throw AlertMatcherError("\"\(text)\" is not a matcher like instance=\"host:9717\" (operators =, !=, =~, !~)")
        }
        rest = rest.dropFirst(op.rawValue.count).drop { $0 == " " }
        try self.init(name: name, op: op, value: try Self.unquote(String(rest)))
    }

    /// Whether `labels` satisfy the matcher (a missing label is the empty value).
    public func matches(_ labels: [String: String]) -> Bool {
        let actual = labels[name] ?? ""
        switch op {
        case .equal: return actual == value
        case .notEqual: return actual != value
        case .matches, .notMatches:
            let range = NSRange(actual.startIndex..., in: actual)
            let found = regex?.expression.firstMatch(in: actual, range: range) != nil
            return op == .matches ? found : !found
        }
    }

    /// The matcher as Alertmanager's `filter` parameter takes it (value quoted and escaped).
    public var description: String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\(name)\(op.rawValue)\"\(escaped)\""
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    static func unquote(_ text: String) throws(AlertMatcherError) -> String {
        guard text.hasPrefix("\"") else {
            guard !text.contains("\"") else { throw AlertMatcherError("unbalanced quotes in \(text)") }
            return text.trimmingCharacters(in: .whitespaces)
        }
        var value = "", escaping = false, closed = false
        for character in text.dropFirst() {
            if closed { throw AlertMatcherError("text after the closing quote in \(text)") }
            if escaping {
                value.append(character == "n" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "\"" {
                closed = true
            } else {
                value.append(character)
            }
        }
        guard closed else { throw AlertMatcherError("missing closing quote in \(text)") }
        return value
    }
}

/// A matcher that cannot be parsed or compiled.
public struct AlertMatcherError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
