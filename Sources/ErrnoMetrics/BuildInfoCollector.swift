import ErrnoKernel
import Exposition

/// `errno_exporter_build_info`: constant 1 with what this binary is.
public struct BuildInfoCollector: Collector {
    public init() {}

    public func collect() throws -> [MetricFamily] {
        [MetricFamily(
            name: "errno_exporter_build_info",
            help: "A metric with a constant '1' value labeled by version, revision and libbpf_version.",
            type: .gauge,
            samples: [Sample(
                labels: [Label("version", BuildInfo.version), Label("revision", BuildInfo.revision), Label("libbpf_version", BuildInfo.libbpfVersion)],
                value: 1)])]
    }
}
