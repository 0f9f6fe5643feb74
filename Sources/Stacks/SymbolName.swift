import Glibc
import SystemSupport

/// Frame names come from files a captured process controls (ELF symbols, perf maps): each is kept
/// to at most `maxBytes` bytes of UTF-8, a longer one cut at a character boundary and marked.
enum SymbolName {
    static let maxBytes = 1024
    static let truncationMarker = "…[truncated]"

    /// A NUL-terminated name from a file, copied up to the bound (never the whole of a name that
    /// runs on for megabytes).
    static func copy(_ name: UnsafePointer<CChar>) -> String {
        let length = strnlen(name, maxBytes + 1)
        let text = String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self)
        return length > maxBytes ? bounded(text, cut: true) : text
    }

    /// `name` within the bound; `cut` marks a name already cut elsewhere (by the demangler).
    static func bounded(_ name: String, cut: Bool = false) -> String {
        name.truncated(toUTF8Bytes: maxBytes, marker: truncationMarker, force: cut)
    }
}
