import CErrnoBPF
import ErrnoConfig
import Testing

@testable import ErrnoCore

/// How triggers become the kernel's path maps and settings.
@Suite struct TriggerPlanTests {
    static func trigger(_ name: String, paths: [String] = [], prefixes: [String] = []) -> Config.Trigger {
        Config.Trigger(name: name, paths: paths, prefixes: prefixes)
    }

    @Test func exactPathsAreKeyedByFingerprintWithTheirPathAndTheSetOfTheirTriggers() throws {
        let plan = TriggerPlan([Self.trigger("a", paths: ["/etc/nodey.conf"]), Self.trigger("b", paths: ["/etc/nodey.conf", "/etc/hosts"])])
        let entries = try plan.exactPaths(ids: ["a": 0, "b": 5])
        let nodey = Array("/etc/nodey.conf".utf8) + [UInt8](repeating: 0, count: 256 - 15)
        let key = withUnsafeBytes(of: TriggerPlan.fingerprint(nodey).littleEndian) { Array($0) }
        #expect(entries.count == 2)
        #expect(entries[key] == withUnsafeBytes(of: (UInt64(1) << 0 | 1 << 5).littleEndian) { Array($0) } + nodey)
        #expect(entries.values.allSatisfy { $0.count == MemoryLayout<trigger_exact_entry>.size })
    }

    @Test func theFingerprintStopsAtTheTerminatingWord() {
        func buffer(_ text: String) -> [UInt8] { Array(text.utf8) + [UInt8](repeating: 0, count: 256 - text.utf8.count) }
        // Only bytes up to the NUL's word count: a shorter and a longer path differ, padding does not matter.
        #expect(TriggerPlan.fingerprint(buffer("/etc/nodey.conf")) != TriggerPlan.fingerprint(buffer("/etc/nodey.conf.bak")))
        #expect(TriggerPlan.fingerprint(buffer("/etc/nodey.conf")) != TriggerPlan.fingerprint(buffer("/etc/nodey.con")))
        // The kernel's value for this path (errno_exporter.h's definition, computed independently).
        #expect(TriggerPlan.fingerprint(buffer("/tmp/cap/fp-missing")) == 0x86ad_10dc_e651_eb3c)
        // An 8-byte path's NUL is in the next word: both words count.
        #expect(TriggerPlan.fingerprint(buffer("/etc/abc")) != TriggerPlan.fingerprint(buffer("/etc/abd")))
    }

    @Test func aPrefixCarriesTheTriggersOfItsShorterPrefixes() {
        // The LPM trie answers with the longest match only: /etc/ssl/certs/ must also fire /etc/'s trigger.
        let plan = TriggerPlan([
            Self.trigger("etc", prefixes: ["/etc/"]), Self.trigger("ssl", prefixes: ["/etc/ssl/certs/"]), Self.trigger("var", prefixes: ["/var/"]),
        ])
        let sets = plan.prefixes(ids: ["etc": 1, "ssl": 2, "var": 3])
        func set(_ prefix: String) -> UInt64? {
            let bits = withUnsafeBytes(of: UInt32(prefix.utf8.count * 8).littleEndian) { Array($0) }
            return sets[bits + Array(prefix.utf8) + [UInt8](repeating: 0, count: 256 - prefix.utf8.count)]
        }
        #expect(set("/etc/") == 1 << 1)
        #expect(set("/etc/ssl/certs/") == 1 << 1 | 1 << 2)
        #expect(set("/var/") == 1 << 3)
    }

    @Test func rateLimitsBecomeAnIntervalAndAMinutesBurst() {
        var limited = Self.trigger("a", paths: ["/x"])
        limited.maxPerMinute = 10
        let entry = TriggerPlan([limited]).entries[0]
        let settings = entry.kernelSettings()
        #expect(settings.capture_interval_ns == 6_000_000_000)
        #expect(settings.burst_ns == 54_000_000_000)
        var unlimited = limited
        unlimited.maxPerMinute = 0
        #expect(TriggerPlan([unlimited]).entries[0].kernelSettings().capture_interval_ns == 0)
    }

    @Test func flagsSayResultStacksAndComm() {
        var trigger = Self.trigger("a", paths: ["/x"])
        trigger.result = .any
        trigger.stacks = [.user]
        trigger.comm = "node"
        let plan = TriggerPlan([trigger])
        let flags = plan.entries[0].kernelSettings().flags
        #expect(flags == TRIGGER_ON_FAILURE.rawValue | TRIGGER_ON_SUCCESS.rawValue | TRIGGER_USER_STACK.rawValue | TRIGGER_COMM.rawValue)
        #expect(plan.wantsSuccesses)
        #expect(!TriggerPlan([Self.trigger("b", paths: ["/y"])]).wantsSuccesses)
    }
}
