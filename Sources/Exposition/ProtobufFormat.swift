import CMetricsProto

/// The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages,
/// encoded by protobuf-c; counters carry their exemplar and created timestamp.
public enum ProtobufFormat {
    public static let contentType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

    /// Thrown only when protobuf-c cannot allocate.
    public struct OutOfMemory: Error {}

    public static func encode(_ families: [MetricFamily]) throws -> [UInt8] {
        var out: [UInt8] = []
        for family in families {
            guard let builder = errno_family_new(family.name, family.help, family.type == .counter ? 1 : 0) else { throw OutOfMemory() }
            defer { errno_family_free(builder) }
            for sample in family.samples {
                guard errno_family_add_metric(builder, sample.value) == 0 else { throw OutOfMemory() }
                for label in sample.labels where errno_family_add_label(builder, label.name, label.value) != 0 {
                    throw OutOfMemory()
                }
                // A created time protobuf's Timestamp cannot hold is left out, not an error.
                if family.type == .counter, let created = sample.created, created >= 0, created < 1e15,
                    errno_family_set_created(builder, created) != 0
                {
                    throw OutOfMemory()
                }
                if family.type == .counter, let exemplar = sample.exemplar {
                    guard errno_family_set_exemplar(builder, exemplar.value, exemplar.timestamp ?? -1) == 0 else { throw OutOfMemory() }
                    for label in exemplar.labels where errno_family_add_exemplar_label(builder, label.name, label.value) != 0 {
                        throw OutOfMemory()
                    }
                }
            }
            let size = errno_family_delimited_size(builder)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: size))
            out.withUnsafeMutableBufferPointer { errno_family_write_delimited(builder, $0.baseAddress! + start) }
        }
        return out
    }
}
