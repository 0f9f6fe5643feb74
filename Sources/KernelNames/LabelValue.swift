import Foundation

/// Turns kernel bytes (a comm, later a path) into a Prometheus label value, which must be UTF-8.
///
/// The mapping is deterministic and lossless — two different byte strings never share a value:
/// - valid UTF-8 other than control characters and `\` passes through unchanged;
/// - `\` becomes `\\`;
/// - every byte of invalid UTF-8, every control character (0x00–0x1F, 0x7F) and a leading `<`
///   becomes `\xHH` (two lowercase hex digits);
/// - so does every byte of a character Unicode makes canonically equivalent to other text: combining
///   marks, singletons such as U+037E (equivalent to `;`), Hangul conjoining jamo and the few
///   marks that compose with the letter before them. Otherwise `e` + U+0301 and `é`, two different
///   file names, would be equal strings to Swift (and to any normalizing consumer).
/// Values starting with `<` are therefore free for the agent's own markers such as `<other>`.
public enum LabelValue {
    /// Marks series that stand for every key that did not fit in a full map.
    public static let other = "<other>"

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = ""
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        var first = true
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte < 0x20 || byte == 0x7F || (first && byte == UInt8(ascii: "<")) {
                    appendEscaped(byte, to: &out)
                } else if byte == UInt8(ascii: "\\") {
                    out += "\\\\"
                } else {
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                }
                index = bytes.index(after: index)
            } else if let (scalar, next) = decodeScalar(bytes, at: index) {
                if isCanonicallyInert(scalar) {
                    out.unicodeScalars.append(scalar)
                } else {
                    for byte in bytes[index..<next] { appendEscaped(byte, to: &out) }
                }
                index = next
            } else {
                appendEscaped(byte, to: &out)
                index = bytes.index(after: index)
            }
            first = false
        }
        return out
    }

    /// Letters with combining class 0 that nonetheless compose with the character before them
    /// (Unicode's NFC_Quick_Check=Maybe outside the combining marks and Hangul jamo).
    private static let composingLetters: Set<UInt32> = [
        0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0C56, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57,
        0x0DCF, 0x0DDF, 0x102E, 0x1B35, 0x110A7, 0x11127, 0x1133E, 0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930,
    ]

    /// Whether a scalar is only ever equivalent to itself: not a combining mark, not a jamo or a
    /// composing letter, and its own canonical composition (not a singleton like U+212B ANGSTROM SIGN).
    static func isCanonicallyInert(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if scalar.properties.canonicalCombiningClass != .notReordered { return false }
        if (0x1100...0x11FF).contains(value) || (0xA960...0xA97F).contains(value) || (0xD7B0...0xD7FF).contains(value) { return false }
        if composingLetters.contains(value) { return false }
        guard scalar.properties.canonicalCombiningClass == .notReordered, value >= 0x300 else { return true }
        let alone = String(Character(scalar))
        return alone.precomposedStringWithCanonicalMapping.unicodeScalars.elementsEqual([scalar])
    }

    private static func appendEscaped(_ byte: UInt8, to out: inout String) {
        let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        out += "\\x"
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
    }

    /// Decodes one well-formed multi-byte UTF-8 scalar (no overlongs, surrogates or values past U+10FFFF).
    private static func decodeScalar<Bytes: Collection>(_ bytes: Bytes, at start: Bytes.Index) -> (Unicode.Scalar, Bytes.Index)? where Bytes.Element == UInt8 {
        let lead = bytes[start]
        let (length, initial, minimum): (Int, UInt32, UInt32) = switch lead {
        case 0xC2...0xDF: (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (4, UInt32(lead & 0x07), 0x10000)
        default: (0, 0, 0)
        }
        guard length > 0 else { return nil }
        var value = initial
        var index = bytes.index(after: start)
        for _ in 1..<length {
            guard index != bytes.endIndex, bytes[index] & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(bytes[index] & 0x3F)
            index = bytes.index(after: index)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        if scalar.properties.generalCategory == .control { return nil }  // C1 controls are escaped too
        return (scalar, index)
    }
}
