/// Text for HTML and SVG (XML): `&`, `<`, `>`, `"` and `'` escaped scalar by scalar — a `Character`
/// (grapheme cluster) may merge a `<` into the mark before it (after U+0600, say), and a per-Character
/// escaper would miss it.
public enum MarkupText {
    public static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
