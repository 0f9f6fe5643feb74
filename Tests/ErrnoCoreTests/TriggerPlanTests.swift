import CErrnoBPF
import ErrnoConfig
import Testing

@testable import ErrnoCore

/// How triggers become the kernel's path maps and settings.
@Suite struct TriggerPlanTests {
    static func trigger(_ name: String, paths: [String] = [], prefixes: [String] = []) -> Config.Trigger {
        Config.Trigger(name: name, paths: paths, prefixes: prefixes)
    }

    @Test func exactPathsAreNULPaddedKeysWithTheSetOfTheirTriggers() {
        let plan = TriggerPlan([Self.trigger("a", paths: ["/etc/nodey.conf"]), Self.trigger("b", paths: ["/etc/nodey.conf", "/etc/hosts"])])
        let sets = plan.exactPaths(ids: ["a": 0, "b": 5])
        let nodey = Array("/etc/nodey.conf".utf8) + [UInt8](repeating: 0, count: 256 - 15)
        #expect(sets.count == 2)
        #expect(sets[nodey] == 1 << 0 | 1 << 5)
        #expect(sets.keys.allSatisfy { $0.count == Int(PATH_BUFFER_LEN) })
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
