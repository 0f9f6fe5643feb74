import ErrnoConfig
import Foundation

/// `paths.rewrite`, compiled: each rule replaces every match in turn. The agent's own markers
/// (values starting with `<`) are left alone.
public struct PathRewriter: @unchecked Sendable {  // NSRegularExpression is immutable once built
    private let rules: [(regex: NSRegularExpression, template: String)]

    public init(_ rules: [Config.RewriteRule]) throws {
        self.rules = try rules.map { (try NSRegularExpression(pattern: $0.regex), $0.replacement) }
    }

    public func rewrite(_ value: String) -> String {
        guard !rules.isEmpty, !value.hasPrefix("<") else { return value }
        var current = value
        for rule in rules {
            current = rule.regex.stringByReplacingMatches(
                in: current, range: NSRange(current.startIndex..., in: current), withTemplate: rule.template)
        }
        return current
    }
}
