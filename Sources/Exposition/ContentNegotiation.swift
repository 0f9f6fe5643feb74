/// The exposition formats `/metrics` can answer with.
public enum ExpositionFormat: Sendable, Equatable {
    case text004
    case openMetrics100

    public var contentType: String {
        switch self {
        case .text004: TextFormat.contentType
        case .openMetrics100: OpenMetricsFormat.contentType
        }
    }

    public func encode(_ families: [MetricFamily]) -> String {
        switch self {
        case .text004: TextFormat.encode(families)
        case .openMetrics100: OpenMetricsFormat.encode(families)
        }
    }

    /// The format for an `Accept` header (RFC 9110 §12.5.1): the acceptable media range with the
    /// highest q-value that names a format we have; ties go to the earlier range. Anything we do not
    /// understand, or no header at all, gets text 0.0.4, as the Prometheus clients do.
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
            guard quality > 0, let format = format(mediaType: mediaType, version: parameters["version"]) else { continue }
            if best == nil || quality > best!.quality { best = (format, quality) }
        }
        return best?.format ?? .text004
    }

    private static func format(mediaType: String, version: String?) -> ExpositionFormat? {
        switch mediaType {
        case "application/openmetrics-text" where version == nil || version == "1.0.0" || version == "0.0.1":
            .openMetrics100
        case "text/plain" where version == nil || version == "0.0.4", "text/*", "*/*":
            .text004
        default:
            nil
        }
    }
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
