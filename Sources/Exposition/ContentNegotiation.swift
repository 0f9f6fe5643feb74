/// The exposition formats `/metrics` can answer with.
public enum ExpositionFormat: Sendable, Equatable {
    case text004
    case openMetrics100
    case protobufDelimited

    public var contentType: String {
        switch self {
        case .text004: TextFormat.contentType
        case .openMetrics100: OpenMetricsFormat.contentType
        case .protobufDelimited: ProtobufFormat.contentType
        }
    }

    /// The exposition's bytes; `createdSamples: false` leaves OpenMetrics' `_created` lines out.
    public func encode(_ families: [MetricFamily], createdSamples: Bool = true) throws -> [UInt8] {
        switch self {
        case .text004: TextFormat.encode(families)
        case .openMetrics100: OpenMetricsFormat.encode(families, createdSamples: createdSamples)
        case .protobufDelimited: try ProtobufFormat.encode(families)
        }
    }

    /// The format for an `Accept` header (RFC 9110 §12.5.1): the acceptable media range with the
    /// highest q-value that names a format we have; ties go to the earlier range. Anything we do not
    /// understand, or no header at all, gets text 0.0.4, as the Prometheus clients do. Prometheus 3's
    /// `escaping` parameter changes nothing: every name we expose is a legacy name, the same under
    /// each escaping scheme.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text004 }
        var best: (format: ExpositionFormat, quality: Double)?
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
            guard let mediaType = parts.first?.lowercased(), !mediaType.isEmpty else { continue }
            var parameters: [String: String] = [:]
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t\"") }
                if pair.count == 2 { parameters[pair[0].lowercased()] = pair[1] }
            }
            let quality = parameters["q"].flatMap(Double.init).map { min(max($0, 0), 1) } ?? 1
            guard quality > 0, let format = format(mediaType: mediaType, parameters: parameters) else { continue }
            if best == nil || quality > best!.quality { best = (format, quality) }
        }
        return best?.format ?? .text004
    }

    private static func format(mediaType: String, parameters: [String: String]) -> ExpositionFormat? {
        let version = parameters["version"]
        switch mediaType {
        case "application/vnd.google.protobuf":
            let delimitedFamilies = parameters["proto"] == "io.prometheus.client.MetricFamily" && parameters["encoding"] == "delimited"
            return delimitedFamilies ? .protobufDelimited : nil
        case "application/openmetrics-text":
            return version == nil || version == "1.0.0" || version == "0.0.1" ? .openMetrics100 : nil
        case "text/plain":
            // 1.0.0 (Prometheus 3) differs from 0.0.4 only in allowing UTF-8 metric names, which ours
            // are not: the same bytes answer both, under 0.0.4's name that every Prometheus reads.
            return version == nil || version == "0.0.4" || version == "1.0.0" ? .text004 : nil
        case "text/*", "*/*":
            return .text004
        default:
            return nil
        }
    }
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
