import Foundation
import Testing

@testable import BPFKit

/// What BPFKit computes without the kernel: CPU counts for per-CPU sums, errors, key decoding, logging.
@Suite struct BPFKitTests {
    /// /sys/devices/system/cpu/possible, e.g. "0-1" or "0,2-3": the count of CPUs it names.
    static func possibleFromSysfs() throws -> Int {
        let text = try String(contentsOfFile: "/sys/devices/system/cpu/possible", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try text.split(separator: ",").reduce(0) { count, range in
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            let width = try #require(bounds.count == 1 ? 1 : bounds.count == 2 ? bounds[1] - bounds[0] + 1 : nil)
            return count + width
        }
    }

    @Test func perCPUSlotsAreThePossibleCPUs() throws {
        #expect(PossibleCPUs.count == (try Self.possibleFromSysfs()))
    }

    @Test func errorsNameTheOperationAndTheErrno() {
        let error = BPFError("load BPF object", code: -EPERM)
        #expect(error.code == EPERM)
        #expect(error.description.hasPrefix("load BPF object: "))
        #expect(error.description.hasSuffix("(errno \(EPERM))"))
        #expect(throws: BPFError.self) { try BPFError.check("attach", -EINVAL) }
        #expect(throws: Never.self) { try BPFError.check("attach", 0) }
    }

    @Test func counterKeysReadBackAsTheirStruct() {
        struct Key: Equatable {
            var number: UInt32
            var errno: UInt32
        }
        let entry = CounterEntry(key: withUnsafeBytes(of: Key(number: 257, errno: 2)) { Array($0) }, value: 9)
        #expect(entry.key(as: Key.self) == Key(number: 257, errno: 2))
    }

    @Test func libbpfReportsItsVersion() {
        let parts = LibBPFLog.libraryVersion.split(separator: ".")
        #expect(parts.count >= 2 && parts.allSatisfy { Int($0) != nil }, "\(LibBPFLog.libraryVersion)")
        #expect(LibBPFLog.Level.warning < .info && LibBPFLog.Level.info < .debug)
    }
}
