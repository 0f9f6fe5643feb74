/// Frame names come from files a captured process controls (ELF symbols, perf maps): each is kept
/// to at most `maxBytes` bytes of UTF-8, a longer one cut at a character boundary and marked.
enum SymbolName {
    static let maxBytes = 1024
    static let truncationMarker = "…[truncated]"

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
