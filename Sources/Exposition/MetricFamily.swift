/// The kind of a metric family, as the exposition formats name it.
public enum MetricType: String, Sendable {
    case counter
    case gauge
}

/// One label pair of a sample.
public struct Label: Sendable, Hashable {
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One value of a family, identified by its labels (in the family's label order).
public struct Sample: Sendable, Equatable {
    public var labels: [Label]
    public var value: Double
    /// An example event behind the value (OpenMetrics writes it; the text format has no place for it).
    public var exemplar: Exemplar?
    /// For a counter: seconds since the epoch at which it was known to be zero, so a scraper sees its
    /// first rise (`_created` in OpenMetrics, `created_timestamp` in protobuf; text 0.0.4 has none).
    public var created: Double?

    public init(labels: [Label] = [], value: Double, exemplar: Exemplar? = nil, created: Double? = nil) {
        self.labels = labels
        self.value = value
        self.exemplar = exemplar
        self.created = created
    }
}

/// An OpenMetrics exemplar: labels pointing at one event (e.g. a stack capture), its value and time.
public struct Exemplar: Sendable, Equatable {
    public var labels: [Label]
    public var value: Double
    /// Seconds since the epoch.
    public var timestamp: Double?

    public init(labels: [Label], value: Double, timestamp: Double? = nil) {
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }
}

/// A named set of samples of one type: the unit every collector produces and every encoder writes.
///
/// `name` is the family's base name; for counters it ends in `_total`, as in the text format.
public struct MetricFamily: Sendable, Equatable {
    public let name: String
    public let help: String
    public let type: MetricType
    public var samples: [Sample]

    public init(name: String, help: String, type: MetricType, samples: [Sample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }

    /// Samples sorted by label values, for a deterministic exposition. Samples already in order (a
    /// collector that keeps its series sorted) cost one comparison each.
    public func sorted() -> MetricFamily {
        if zip(samples, samples.dropFirst()).allSatisfy({ !Self.labelsPrecede($1.labels, $0.labels) }) { return self }
        var copy = self
        copy.samples.sort { Self.labelsPrecede($0.labels, $1.labels) }
        return copy
    }

    /// The order of samples in an exposition: by the first label that differs (its name, then its
    /// value), then the shorter label set first.
    public static func labelsPrecede(_ lhs: [Label], _ rhs: [Label]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right {
            if left.name != right.name { return left.name < right.name }
            return left.value < right.value
        }
        return lhs.count < rhs.count
    }
}

/// Something that produces fresh metric families at scrape time. Collectors read their sources
/// (BPF maps, /proc) when asked; nothing is pushed into a registry between scrapes.
public protocol Collector: Sendable {
    func collect() throws -> [MetricFamily]
}
