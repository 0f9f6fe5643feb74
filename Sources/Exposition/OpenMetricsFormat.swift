/// The OpenMetrics 1.0.0 text format: TYPE lines name the family (a counter's without `_total`),
/// HELP escapes `\`, newline and `"`, and the exposition ends with `# EOF`.
public enum OpenMetricsFormat {
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    public static func encode(_ families: [MetricFamily]) -> String {
        var out = ""
        out.reserveCapacity(families.reduce(16) { $0 + 64 + $1.samples.count * 96 })
        for family in families {
            let name = family.type == .counter && family.name.hasSuffix("_total") ? String(family.name.dropLast(6)) : family.name
            out += "# TYPE \(name) \(family.type.rawValue)\n"
            out += "# HELP \(name) \(TextFormat.escape(family.help, quotes: true))\n"
            for sample in family.samples { TextFormat.appendSample(sample, name: family.name, to: &out) }
        }
        out += "# EOF\n"
        return out
    }
}
