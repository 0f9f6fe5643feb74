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
            for sample in family.samples { appendSample(sample, name: family.name, to: &out) }
        }
        return out
    }

    /// `name{label="value",…} value\n`, as the text format and OpenMetrics both write a sample.
    static func appendSample(_ sample: Sample, name: String, to out: inout String) {
        out += name
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

    /// HELP text escapes backslash and newline.
    public static func escapeHelp(_ text: String) -> String { escape(text, quotes: false) }

    /// Label values escape backslash, double quote and newline.
    public static func escapeLabelValue(_ value: String) -> String { escape(value, quotes: true) }

    static func escape(_ text: String, quotes: Bool) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || (quotes && $0 == UInt8(ascii: "\"")) }) else {
            return text
        }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(scalar)
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
