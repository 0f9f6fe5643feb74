import CErrnoBPF
import Foundation

/// The `path` label: how a path_failure_key's bytes and flags become a label value.
///
/// The bytes go through `LabelValue.encode` (lossless, see there), so these markers cannot collide
/// with a real path: an encoded value never starts with `<` and never holds a `\` that is not
/// followed by `\` or `x`.
/// - `<empty>`: the empty path (`open("")`); an empty label value would mean "no label" to Prometheus.
/// - `<null>`: a NULL path pointer; `<unreadable>`: a pointer that faulted.
/// - a path longer than the kernel buffer (255 bytes) keeps its first 255 bytes followed by `\<truncated>`.
/// - `<other>`: every path of a (syscall, errno, comm) that found the path map full.
public enum PathLabel {
    public static let empty = "<empty>"
    public static let null = "<null>"
    public static let unreadable = "<unreadable>"
    public static let truncatedSuffix = #"\<truncated>"#

    public static func value<Bytes: Collection>(flags: UInt32, path: Bytes) -> String where Bytes.Element == UInt8 {
        if flags & PATH_NULL.rawValue != 0 { return null }
        if flags & PATH_UNREADABLE.rawValue != 0 { return unreadable }
        let bytes = path.prefix { $0 != 0 }
        if bytes.isEmpty { return empty }
        let encoded = LabelValue.encode(bytes)
        return flags & PATH_TRUNCATED.rawValue != 0 ? encoded + truncatedSuffix : encoded
    }
}

/// `paths.rewrite`, compiled: each rule replaces every match in turn. The agent's own markers
/// (values starting with `<`) are left alone.
public struct PathRewriter: @unchecked Sendable {  // NSRegularExpression is immutable once built
    private let rules: [(regex: NSRegularExpression, template: String)]

    public init(_ rules: [(regex: String, replacement: String)]) throws {
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
