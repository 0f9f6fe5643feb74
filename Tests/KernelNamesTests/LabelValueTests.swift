import Testing

@testable import KernelNames

/// Inverts `LabelValue.encode`; exists only to prove the mapping lossless.
func decodeLabel(_ value: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var scalars = value.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
        guard scalar == "\\" else {
            bytes += Array(String(scalar).utf8)
            continue
        }
        switch scalars.next() {
        case "\\": bytes.append(UInt8(ascii: "\\"))
        case "x":
            guard let high = scalars.next(), let low = scalars.next(), let byte = UInt8(String(high) + String(low), radix: 16) else { return nil }
            bytes.append(byte)
        default: return nil
        }
    }
    return bytes
}

@Suite struct LabelValueTests {
    @Test func printableUTF8PassesThrough() {
        #expect(LabelValue.encode(Array("/etc/nodey.conf".utf8)) == "/etc/nodey.conf")
        #expect(LabelValue.encode(Array("/tmp/ünïcødé €".utf8)) == "/tmp/ünïcødé €")
        #expect(LabelValue.encode(Array("a<b>".utf8)) == "a<b>")
    }

    @Test func escapesBackslashControlsInvalidUTF8AndALeadingAngle() {
        #expect(LabelValue.encode(Array(#"a\b"#.utf8)) == #"a\\b"#)
        #expect(LabelValue.encode([0x61, 0x0A, 0x62]) == #"a\x0ab"#)
        #expect(LabelValue.encode([0x7F]) == #"\x7f"#)
        #expect(LabelValue.encode([0xFF, 0x41]) == #"\xffA"#)
        #expect(LabelValue.encode([0xC0, 0xAF]) == #"\xc0\xaf"#)  // overlong "/"
        #expect(LabelValue.encode([0xED, 0xA0, 0x80]) == #"\xed\xa0\x80"#)  // a surrogate
        #expect(LabelValue.encode([0xC2, 0x85]) == #"\xc2\x85"#)  // C1 control NEL
        #expect(LabelValue.encode(Array("<other>".utf8)) == #"\x3cother>"#)
        #expect(LabelValue.encode(Array("<other>".utf8)) != LabelValue.other)
    }

    @Test func canonicallyEquivalentNamesGetDifferentValues() {
        // Swift compares strings by canonical equivalence: these pairs would be "equal" labels.
        let pairs: [([UInt8], [UInt8])] = [
            (Array("é".utf8), Array("e\u{301}".utf8)),  // precomposed vs combining acute
            (Array(";".utf8), [0xCD, 0xBE]),  // U+037E GREEK QUESTION MARK
            (Array("Å".utf8), Array("\u{212B}".utf8)),  // ANGSTROM SIGN
            (Array("\u{AC00}".utf8), Array("\u{1100}\u{1161}".utf8)),  // Hangul syllable vs jamo
            (Array("\u{0B4B}".utf8), Array("\u{0B47}\u{0B3E}".utf8)),  // Oriya vowel sign that composes
        ]
        for (a, b) in pairs {
            let (left, right) = (LabelValue.encode(a), LabelValue.encode(b))
            #expect(left != right, "\(a) and \(b) both → \(left)")
            #expect(decodeLabel(left) == a && decodeLabel(right) == b)
        }
        #expect(LabelValue.encode(Array("/srv/café/ünïcode/日本語".utf8)) == "/srv/café/ünïcode/日本語")
        #expect(LabelValue.encode(Array("e\u{301}".utf8)) == #"e\xcc\x81"#)
    }

    @Test func mappingIsLosslessOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x0A, 0x22, 0x2F, 0x3C, 0x5C, 0x61, 0x7F, 0x80, 0xBF, 0xC2, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xED, 0xF0, 0x9F, 0x98, 0x80, 0xF5, 0xFF]
        var seen: [String: [UInt8]] = [:]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            let label = LabelValue.encode(bytes)
            #expect(decodeLabel(label) == bytes, "\(bytes) → \(label)")
            if let previous = seen[label] { #expect(previous == bytes, "collision: \(previous) and \(bytes) → \(label)") }
            seen[label] = bytes
        }
    }
}
