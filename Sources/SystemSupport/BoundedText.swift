/// Text taken from other users' processes, kept within bounds and shown safely.
extension String {
    /// This string if its UTF-8 fits in `maxBytes`; else its longest prefix of whole Unicode scalars
    /// that fits together with `marker`, followed by `marker`. `force` marks even a string that fits
    /// (one cut elsewhere already).
    public func truncated(toUTF8Bytes maxBytes: Int, marker: String, force: Bool = false) -> String {
        guard force || utf8.count > maxBytes else { return self }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        let room = maxBytes - marker.utf8.count
        for scalar in unicodeScalars {
            let size = String(scalar).utf8.count
            if bytes + size > room { break }
            kept.append(scalar)
            bytes += size
        }
        return String(kept) + marker
    }
}

extension Unicode.Scalar {
    /// C0 and C1 controls, DEL, and the line and paragraph separators: what must never reach a
    /// log line, a folded stack or a terminal as itself.
    public var isControlCharacter: Bool {
        value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }
}
