import Foundation

/// The Prometheus text exposition format, version 0.0.4.
public enum TextFormat {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Encodes families in the order given (callers sort them); families without samples are kept,
    /// with their HELP and TYPE, so a metric is discoverable before its first event.
    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var out = ExpositionWriter(capacity: families.reduce(0) { $0 + 64 + $1.samples.count * 128 })
        for family in families {
            let name = Array(family.name.utf8)
            out.append("# HELP ")
            out.append(family.name)
            out.append(" ")
            out.appendEscaped(family.help, quotes: false)
            out.append("\n# TYPE ")
            out.append(family.name)
            out.append(" ")
            out.append(family.type.rawValue)
            out.append("\n")
            // By index: a for-in loop would copy (retain and release) every sample.
            for index in family.samples.indices { out.appendSample(family.samples[index], name: name) }
        }
        return out.bytes
    }

    /// Seconds with three decimals, rounded down to the millisecond: `1764000000.250`.
    static func formatMilliseconds(_ seconds: Double) -> String {
        let milliseconds = (seconds * 1000).rounded(.down)
        guard milliseconds.isFinite, abs(milliseconds) < 9.007_199_254_740_992e15 else { return formatValue(seconds) }
        let whole = Int64(milliseconds)
        let fraction = String(abs(whole % 1000))
        return (whole < 0 && whole > -1000 ? "-" : "") + String(whole / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
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

/// The bytes of a text exposition (0.0.4 or OpenMetrics): appends strings as UTF-8, escapes label
/// values and HELP text byte by byte (`\`, newline and `"` are ASCII, so UTF-8 stays intact).
struct ExpositionWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func appendEscaped(_ text: String, quotes: Bool) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || (quotes && $0 == UInt8(ascii: "\"")) }) else {
            bytes.append(contentsOf: utf8)
            return
        }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            default: bytes.append(byte)
            }
        }
    }

    /// `name{label="value",…} value\n`, as the text format and OpenMetrics both write a sample;
    /// with `exemplars` (OpenMetrics), a sample's exemplar follows as ` # {labels} value timestamp`.
    /// `timestamp` writes the value as seconds with milliseconds, rounded down (a created time must
    /// not come after the instant it stands for; protobuf truncates it alike).
    mutating func appendSample(_ sample: Sample, name: [UInt8], exemplars: Bool = false, timestamp: Bool = false) {
        bytes.append(contentsOf: name)
        if let rendered = sample.renderedLabels {
            bytes.append(contentsOf: rendered.bytes)
        } else {
            appendLabels(sample.labels, always: false)
        }
        bytes.append(UInt8(ascii: " "))
        append(timestamp ? TextFormat.formatMilliseconds(sample.value) : TextFormat.formatValue(sample.value))
        if exemplars, let exemplar = sample.exemplar {
            append(" # ")
            appendLabels(exemplar.labels, always: true)
            bytes.append(UInt8(ascii: " "))
            append(TextFormat.formatValue(exemplar.value))
            if let timestamp = exemplar.timestamp {
                bytes.append(UInt8(ascii: " "))
                append(String(format: "%.3f", timestamp))
            }
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func appendLabels(_ labels: [Label], always: Bool) {
        guard always || !labels.isEmpty else { return }
        bytes.append(UInt8(ascii: "{"))
        for (index, label) in labels.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(label.name)
            bytes.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
            appendEscaped(label.value, quotes: true)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
    }
}
