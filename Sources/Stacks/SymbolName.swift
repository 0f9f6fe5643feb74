import Glibc

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
        guard cut || name.utf8.count > maxBytes else { return name }
        var kept = ""
        var bytes = 0
        for scalar in name.unicodeScalars {
            let size = String(scalar).utf8.count
            if bytes + size > maxBytes - truncationMarker.utf8.count { break }
            kept.unicodeScalars.append(scalar)
            bytes += size
        }
        return kept + truncationMarker
    }
}
