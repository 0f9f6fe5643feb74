import Foundation
import Testing

@testable import Exposition

/// Created times of counters known only by their values: zero now, above zero since the previous
/// gather, reset since the previous gather; gauges and samples that know their own are left alone.
@Suite struct CounterCreationTests {
    static func families(_ counters: [String: Double], own: Double? = nil) -> [MetricFamily] {
        [
            MetricFamily(
                name: "c_total", help: "c", type: .counter,
                samples: counters.sorted { $0.key < $1.key }.map { Sample(labels: [Label("k", $0.key)], value: $0.value) }),
            MetricFamily(name: "g", help: "g", type: .gauge, samples: [Sample(value: 1)]),
            MetricFamily(name: "own_total", help: "o", type: .counter, samples: [Sample(value: 9, created: own)]),
        ]
    }

    static func created(_ families: [MetricFamily]) -> [String: Double?] {
        Dictionary(uniqueKeysWithValues: families[0].samples.map { ($0.labels[0].value, $0.created) })
    }

    @Test func createdFollowsZeroFirstSightAndResets() throws {
        let creation = CounterCreation(countingSince: 10)
        var gathered = Self.families(["zero": 0, "counted": 5], own: 7)
        creation.stamp(&gathered, gatheredAt: 20, collectedAt: 21)
        #expect(Self.created(gathered) == ["zero": 20, "counted": 10])
        #expect(gathered[1].samples[0].created == nil, "a gauge has no created time")
        #expect(gathered[2].samples[0].created == 7, "a sample that knows its own keeps it")

        gathered = Self.families(["zero": 1, "counted": 2, "new": 4])
        creation.stamp(&gathered, gatheredAt: 30, collectedAt: 31)
        #expect(Self.created(gathered) == ["zero": 20, "counted": 20, "new": 20], "counted went down: reset since 20")

        // A gather that began before the latest keeps what is known and invents nothing.
        gathered = Self.families(["zero": 1, "late": 3])
        creation.stamp(&gathered, gatheredAt: 25, collectedAt: 32)
        #expect(Self.created(gathered) == ["zero": 20, "late": nil])

        // A series that went away and comes back is a new counter.
        gathered = Self.families(["counted": 2])
        creation.stamp(&gathered, gatheredAt: 40, collectedAt: 41)
        gathered = Self.families(["counted": 2, "zero": 3])
        creation.stamp(&gathered, gatheredAt: 50, collectedAt: 51)
        #expect(Self.created(gathered) == ["counted": 20, "zero": 40])

        // A gather whose collector failed (no family at all) forgets nothing.
        var failed = [Self.families([:])[1]]
        creation.stamp(&failed, gatheredAt: 60, collectedAt: 61)
        gathered = Self.families(["counted": 2, "zero": 3])
        creation.stamp(&gathered, gatheredAt: 70, collectedAt: 71)
        #expect(Self.created(gathered) == ["counted": 20, "zero": 40])
    }

    @Test func aConcurrentGatherThatReadEarlierIsNoReset() {
        let creation = CounterCreation(countingSince: 10)
        var first = Self.families(["cpu": 10])
        creation.stamp(&first, gatheredAt: 100, collectedAt: 105)
        // Began at 102, before the first had read (by 105): its lower value may be the older one.
        var second = Self.families(["cpu": 9])
        creation.stamp(&second, gatheredAt: 102, collectedAt: 106)
        #expect(Self.created(second) == ["cpu": 10])
        // Began after every earlier read was done: lower is a reset, since the last gather began.
        var third = Self.families(["cpu": 5])
        creation.stamp(&third, gatheredAt: 110, collectedAt: 111)
        #expect(Self.created(third) == ["cpu": 102])
    }

    @Test func createdTimesRoundDownToTheMillisecond() {
        #expect(TextFormat.formatMilliseconds(1_764_000_000.2509) == "1764000000.250")
        #expect(TextFormat.formatMilliseconds(1_764_000_000.9999) == "1764000000.999")
        #expect(TextFormat.formatMilliseconds(1_764_000_000) == "1764000000.000")
        #expect(TextFormat.formatMilliseconds(0.05) == "0.050")
    }

    @Test func openMetricsWritesCreatedAfterEachCounterSample() {
        let family = MetricFamily(
            name: "errno_path_failures_total", help: "h", type: .counter,
            samples: [Sample(labels: [Label("path", "/etc/nodey.conf")], value: 3, created: 1_764_000_000.25), Sample(labels: [Label("path", "/x")], value: 1)])
        let openMetrics = String(decoding: OpenMetricsFormat.encode([family]), as: UTF8.self)
        #expect(openMetrics.contains("""
            errno_path_failures_total{path="/etc/nodey.conf"} 3
            errno_path_failures_created{path="/etc/nodey.conf"} 1764000000.250
            errno_path_failures_total{path="/x"} 1
            # EOF
            """), "\(openMetrics)")
        #expect(!String(decoding: TextFormat.encode([family]), as: UTF8.self).contains("_created"), "text 0.0.4 has no created samples")
    }

    @Test func protobufCountersCarryCreatedTimestampAsField3() throws {
        let family = MetricFamily(name: "c_total", help: "h", type: .counter, samples: [Sample(value: 3, created: 1_764_000_000.5)])
        let bytes = try ProtobufFormat.encode([family])
        // Counter { value = 3 (field 1, fixed64); created_timestamp (field 3) = { seconds (1) = 1764000000, nanos (2) = 5e8 } }
        var timestamp: [UInt8] = [0x08]
        var seconds: UInt64 = 1_764_000_000
        while seconds >= 0x80 { timestamp.append(UInt8(seconds & 0x7F) | 0x80); seconds >>= 7 }
        timestamp.append(UInt8(seconds))
        timestamp += [0x10, 0x80, 0xCA, 0xB5, 0xEE, 0x01]
        let counter: [UInt8] = [0x09] + withUnsafeBytes(of: Double(3).bitPattern.littleEndian, Array.init) + [0x1A, UInt8(timestamp.count)] + timestamp
        #expect(bytes.count > counter.count)
        #expect((0...(bytes.count - counter.count)).contains { Array(bytes[$0..<$0 + counter.count]) == counter }, "\(bytes)")
        let gauge = MetricFamily(name: "g", help: "h", type: .gauge, samples: [Sample(value: 3, created: 1)])
        #expect(try ProtobufFormat.encode([gauge]).count < bytes.count, "gauges carry no created time")
    }
}
