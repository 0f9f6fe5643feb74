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
    /// The labels of a sample made without a rendering (empty otherwise: one reference to copy, not two).
    private var plainLabels: [Label]
    public var labels: [Label] {
        get { renderedLabels?.labels ?? plainLabels }
        set {
            plainLabels = newValue
            renderedLabels = nil
        }
    }
    public var value: Double
    /// An example event behind the value (OpenMetrics writes it; the text format has no place for it).
    public var exemplar: Exemplar?
    /// For a counter: seconds since the epoch at which it was known to be zero, so a scraper sees its
    /// first rise (`_created` in OpenMetrics, `created_timestamp` in protobuf; text 0.0.4 has none).
    public var created: Double?
    /// `labels` as both text formats write them (`{name="value",…}`), when the producer keeps them
    /// rendered across scrapes (`RenderedLabels`); the writers render them otherwise.
    public private(set) var renderedLabels: RenderedLabels?

    public init(labels: [Label] = [], value: Double, exemplar: Exemplar? = nil, created: Double? = nil) {
        plainLabels = labels
        self.value = value
        self.exemplar = exemplar
        self.created = created
    }

    /// A sample whose labels were rendered once, by `RenderedLabels(labels)`.
    public init(labels: RenderedLabels, value: Double, created: Double? = nil) {
        self.init(value: value, created: created)
        renderedLabels = labels
    }

    /// Equal labels, value, exemplar and creation time (the rendering is a cache of the labels).
    public static func == (lhs: Sample, rhs: Sample) -> Bool {
        lhs.labels == rhs.labels && lhs.value == rhs.value && lhs.exemplar == rhs.exemplar && lhs.created == rhs.created
    }
}

/// A label set as both text formats write it (`{name="value",…}`, escaped as they escape), made once
/// for a series that is exposed at every scrape. Only the rendering is kept: 50,000 series would
/// keep 50,000 label arrays and path strings besides (~240 bytes each) for the few readers of the
/// labels themselves (the protobuf encoder, `Sample.labels` and what compares them), which read
/// them back from it. Label names are plain (letters, digits, `_`: Prometheus' own rule), so two
/// renderings are equal exactly when their label sets are byte for byte (values escape one way).
public struct RenderedLabels: Sendable, Hashable {
    let bytes: [UInt8]

    /// `labels`' names must be plain (`[a-zA-Z_][a-zA-Z0-9_]*`), as every metric label's is.
    public init(_ labels: [Label]) {
        assert(labels.allSatisfy { $0.name.utf8.allSatisfy { byte in byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) } }, "label names are plain")
        var writer = ExpositionWriter(capacity: 128)
        writer.appendLabels(labels, always: false)
        // Kept for the series' life: copied to its size (the writer's capacity is a guess; a path
        // series' rendering is ~100 bytes, and 50,000 series keep 50,000 of them).
        let rendered = writer.bytes
        bytes = [UInt8](unsafeUninitializedCapacity: rendered.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: rendered)
        }
    }

    /// The labels, read back from the rendering (`ExpositionWriter.appendLabels`: `{`, then
    /// `name="value"` joined by `,`, then `}`, nothing at all for no labels; values escape `\`, `"`
    /// and newline with a backslash, and nothing else).
    public var labels: [Label] {
        var labels: [Label] = []
        var index = bytes.startIndex + 1  // past "{"
        while index < bytes.endIndex, bytes[index] != UInt8(ascii: "}") {
            let nameStart = index
            while bytes[index] != UInt8(ascii: "=") { index += 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            index += 2  // past `="`
            let valueStart = index
            var escaped = false
            while bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            let value = bytes[valueStart..<index]
            labels.append(Label(name, escaped ? Self.unescaped(value) : String(decoding: value, as: UTF8.self)))
            index += 1  // past the closing quote
            if bytes[index] == UInt8(ascii: ",") { index += 1 }
        }
        return labels
    }

    /// The rendering of the first `count` (≥ 1) labels, or of all when there are fewer, without
    /// the closing brace: equal for two renderings exactly when their first `count` labels are.
    public func leading(_ count: Int) -> ArraySlice<UInt8> {
        precondition(count >= 1)
        var quotes = 0, index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 1  // the escaped byte: never a label's quote
            } else if bytes[index] == UInt8(ascii: "\"") {
                quotes += 1
                if quotes == 2 * count { return bytes[...index] }  // the closing quote of label `count`
            }
            index += 1
        }
        return bytes.dropLast()
    }

    private static func unescaped(_ value: ArraySlice<UInt8>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.count)
        var index = value.startIndex
        while index < value.endIndex {
            if value[index] == UInt8(ascii: "\\") {
                index += 1
                bytes.append(value[index] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : value[index])
            } else {
                bytes.append(value[index])
            }
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
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
    public var samples: [Sample] {
        didSet { samplesInOrder = false }
    }
    /// The producer put `samples` in exposition order (`labelsPrecede`) already.
    private var samplesInOrder: Bool

    /// `samplesInOrder`: the samples are in exposition order already (a collector that keeps its
    /// series sorted); else `sorted()` checks, and sorts them if need be.
    public init(name: String, help: String, type: MetricType, samples: [Sample], samplesInOrder: Bool = false) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
        self.samplesInOrder = samplesInOrder
    }

    /// Samples sorted by label values, for a deterministic exposition. Samples already in order cost
    /// one comparison each, or nothing when the producer said so.
    public func sorted() -> MetricFamily {
        if samplesInOrder || zip(samples, samples.dropFirst()).allSatisfy({ !Self.labelsPrecede($1.labels, $0.labels) }) { return self }
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
