
/// A path as the kernel read it from a syscall's argument.
public enum PathReading: Sendable, Equatable {
    /// The syscall got a NULL pointer.
    case null
    /// The pointer faulted.
    case unreadable
    /// The bytes up to the NUL; `truncated` when the path was longer than the kernel's buffer.
    case bytes([UInt8], truncated: Bool)
}

/// The `path` label: how a path the kernel read becomes a label value.
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

    public static func value(_ reading: PathReading) -> String {
        switch reading {
        case .null: return null
        case .unreadable: return unreadable
        case let .bytes(bytes, truncated):
            if bytes.isEmpty { return empty }
            let encoded = LabelValue.encode(bytes)
            return truncated ? encoded + truncatedSuffix : encoded
        }
    }
}
