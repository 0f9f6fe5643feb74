/// The OpenMetrics 1.0.0 text format: TYPE lines name the family (a counter's without `_total`),
/// HELP escapes `\`, newline and `"`, counter samples may carry an exemplar and are followed by
/// their `_created` sample, and the exposition ends with `# EOF`.
public enum OpenMetricsFormat {
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// `createdSamples: false` leaves the `_created` lines out (a Prometheus without created-timestamp
    /// support stores each as a series of its own).
    public static func encode(_ families: [MetricFamily], createdSamples: Bool = true) -> [UInt8] {
        var out = ExpositionWriter(capacity: families.reduce(16) { $0 + 64 + $1.samples.count * 128 })
        for family in families {
            let name = family.type == .counter && family.name.hasSuffix("_total") ? String(family.name.dropLast(6)) : family.name
            let familyName = Array(family.name.utf8)
            out.append("# TYPE ")
            out.append(name)
            out.append(" ")
            out.append(family.type.rawValue)
            out.append("\n# HELP ")
            out.append(name)
            out.append(" ")
            out.appendEscaped(family.help, quotes: true)
            out.append("\n")
            guard family.type == .counter else {
                for index in family.samples.indices { out.appendSample(family.samples[index], name: familyName) }
                continue
            }
            let created = Array((name + "_created").utf8)
            for index in family.samples.indices {
                let sample = family.samples[index]
                out.appendSample(sample, name: familyName, exemplars: true)
                if createdSamples, let timestamp = sample.created {
                    var line = sample
                    line.value = timestamp
                    line.exemplar = nil
                    out.appendSample(line, name: created, timestamp: true)
                }
            }
        }
        out.append("# EOF\n")
        return out.bytes
    }
}
