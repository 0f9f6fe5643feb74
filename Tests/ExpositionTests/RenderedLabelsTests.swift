import Testing

@testable import Exposition

/// Labels rendered once by a collector write exactly what the writers render per scrape.
@Suite struct RenderedLabelsTests {
    static let labels = [
        Label("syscall", "openat"), Label("path", "/tmp/a\"b\\c\nd ünï€😀"), Label("errno", "ENOENT"), Label("comm", "x"),
    ]

    func family(rendered: Bool, inOrder: Bool = false) -> MetricFamily {
        let samples = [
            rendered ? Sample(labels: RenderedLabels(Self.labels), value: 3, created: 1_764_000_000.25)
                : Sample(labels: Self.labels, value: 3, created: 1_764_000_000.25),
            rendered ? Sample(labels: RenderedLabels([Label("syscall", "stat")]), value: 1) : Sample(labels: [Label("syscall", "stat")], value: 1),
        ]
        return MetricFamily(name: "errno_path_failures_total", help: "h", type: .counter, samples: samples, samplesInOrder: inOrder)
    }

    @Test func textAndOpenMetricsAreTheSameBytesEitherWay() {
        #expect(TextFormat.encode([family(rendered: true)]) == TextFormat.encode([family(rendered: false)]))
        #expect(OpenMetricsFormat.encode([family(rendered: true)]) == OpenMetricsFormat.encode([family(rendered: false)]))
        let text = String(decoding: TextFormat.encode([family(rendered: true)]), as: UTF8.self)
        #expect(text.contains(#"{syscall="openat",path="/tmp/a\"b\\c\nd ünï€😀",errno="ENOENT",comm="x"} 3"#), "\(text)")
    }

    @Test func changedLabelsAreRenderedAgainAndASampleEqualsItsUnrenderedTwin() {
        var sample = Sample(labels: RenderedLabels(Self.labels), value: 1)
        #expect(sample == Sample(labels: Self.labels, value: 1))
        sample.labels = [Label("comm", "y")]
        #expect(sample.renderedLabels == nil)
        let family = MetricFamily(name: "m", help: "h", type: .gauge, samples: [sample])
        #expect(String(decoding: TextFormat.encode([family]), as: UTF8.self).contains(#"m{comm="y"} 1"#))
    }

    @Test func theLabelsReadBackExactlyFromTheRendering() {
        let sets: [[Label]] = [
            [], Self.labels, [Label("path", "")], [Label("path", "\\")], [Label("path", "ends with \\")], [Label("path", "\\n is not \n")],
            [Label("path", "\"\"\""), Label("comm", "={},\"")], [Label("cgroup", "/a,b=\"c\"}")],
        ]
        for labels in sets {
            #expect(RenderedLabels(labels).labels == labels)
        }
    }

    @Test func renderingsAreEqualExactlyWhenTheirLabelsAre() {
        #expect(RenderedLabels(Self.labels) == RenderedLabels(Self.labels))
        #expect(Set([RenderedLabels(Self.labels), RenderedLabels(Self.labels)]).count == 1)
        // A value that looks like two labels is one value: escaping keeps it apart.
        #expect(RenderedLabels([Label("a", #"x",b="y"#)]) != RenderedLabels([Label("a", "x"), Label("b", "y")]))
        #expect(RenderedLabels([Label("path", "a\n")]) != RenderedLabels([Label("path", "a\\n")]))
    }

    @Test func aProducerSaysItsSamplesAreInOrderOrTheyAreSorted() {
        let shuffled = MetricFamily(name: "m", help: "h", type: .gauge, samples: family(rendered: false).samples.reversed())
        #expect(shuffled.sorted().samples.map(\.labels) == family(rendered: false).samples.map(\.labels))
        var edited = family(rendered: true, inOrder: true)
        edited.samples.reverse()  // an edit makes the producer's word void
        #expect(edited.sorted().samples.map(\.labels) == family(rendered: false).samples.map(\.labels))
    }
}
