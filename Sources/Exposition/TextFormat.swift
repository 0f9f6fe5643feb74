/// The Prometheus text exposition format, version 0.0.4.
public enum TextFormat {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Encodes families in the order given (callers sort them); families without samples are kept,
    /// with their HELP and TYPE, so a metric is discoverable before its first event.
    public static func encode(_ families: [MetricFamily]) -> String {
        var out = ""
        out.reserveCapacity(families.reduce(0) { $0 + 64 + $1.samples.count * 96 })
        for family in families {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.type.rawValue)\n"
            for sample in family.samples {
                out += family.name
                if !sample.labels.isEmpty {
                    out += "{"
                    for (index, label) in sample.labels.enumerated() {
                        if index > 0 { out += "," }
                        out += label.name
                        out += "=\""
                        out += escapeLabelValue(label.value)
                        out += "\""
                    }
                    out += "}"
                }
                out += " "
                out += formatValue(sample.value)
                out += "\n"
            }
        }
        return out
    }

    /// HELP text escapes backslash and newline.
    public static func escapeHelp(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") }) else { return text }
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Label values escape backslash, double quote and newline.
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Integral values print without a fraction or exponent (exact up to 2^53); others in Swift's
    /// shortest round-tripping form, which Go's ParseFloat reads.
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return String(value)
    }
}
