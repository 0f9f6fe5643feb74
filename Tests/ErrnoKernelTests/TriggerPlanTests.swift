import CErrnoBPF
import Testing

@testable import ErrnoKernel

/// How triggers become the kernel's path maps and settings.
@Suite struct TriggerPlanTests {
    static func trigger(_ name: String, paths: [String] = [], prefixes: [String] = []) -> TriggerSpec {
        TriggerSpec(name: name, paths: paths, prefixes: prefixes)
    }

    static func buffer(_ text: String) -> PathBuffer { PathBuffer(Array(text.utf8)) }

    @Test func exactPathsAreKeyedByFingerprintWithTheirPathAndTheSetOfTheirTriggers() throws {
        let plan = TriggerPlan([Self.trigger("a", paths: ["/etc/nodey.conf"]), Self.trigger("b", paths: ["/etc/nodey.conf", "/etc/hosts"])])
        let entries = try plan.exactPaths(ids: ["a": 0, "b": 5], seed: 7)
        let nodey = Self.buffer("/etc/nodey.conf")
        #expect(entries.count == 2)
        #expect(entries[nodey.fingerprint(seed: 7)] == ExactPath(path: nodey, ids: 1 << 0 | 1 << 5))
        var entry = try #require(entries[nodey.fingerprint(seed: 7)]).kernelEntry
        let stored = withUnsafeBytes(of: &entry.path) { Array($0) }
        #expect(stored == Array("/etc/nodey.conf".utf8) + [UInt8](repeating: 0, count: 256 - 15))
    }

    @Test func theFingerprintStopsAtTheTerminatingWordAndDependsOnTheSeed() {
        // Only bytes up to the NUL's word count: a shorter and a longer path differ.
        #expect(Self.buffer("/etc/nodey.conf").fingerprint(seed: 7) != Self.buffer("/etc/nodey.conf.bak").fingerprint(seed: 7))
        #expect(Self.buffer("/etc/nodey.conf").fingerprint(seed: 7) != Self.buffer("/etc/nodey.con").fingerprint(seed: 7))
        // The value the kernel computed for this path in an earlier integration run (with the
        // seed that was fixed then); another seed gives another fingerprint.
        #expect(Self.buffer("/tmp/cap/fp-missing").fingerprint(seed: 0xcbf2_9ce4_8422_2325) == 0x86ad_10dc_e651_eb3c)
        #expect(Self.buffer("/tmp/cap/fp-missing").fingerprint(seed: 1) != 0x86ad_10dc_e651_eb3c)
        // An 8-byte path's NUL is in the next word: both words count.
        #expect(Self.buffer("/etc/abc").fingerprint(seed: 7) != Self.buffer("/etc/abd").fingerprint(seed: 7))
    }

    /// errno_path_fingerprint is the one implementation (BPF and user space call it); this spells
    /// out its definition independently and compares the two on many paths.
    @Test func theSharedFingerprintMatchesItsDefinition() {
        func reference(_ path: [UInt8], seed: UInt64) -> UInt64 {
            let padded = Array(path.prefix(255)) + [UInt8](repeating: 0, count: 256 - min(path.count, 255))
            var hash = seed
            for start in stride(from: 0, to: 256, by: 8) {
                let word = padded[start..<start + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                hash = (hash ^ word) &* 0x100_0000_01b3
                hash ^= hash >> 29
                if padded[start..<start + 8].contains(0) { break }
            }
            return hash
        }
        var generator = SystemRandomNumberGenerator()
        var seen: Set<UInt64> = []
        for length in 0..<2000 {
            let path = (0..<(length % 300)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            let seed = UInt64.random(in: .min ... .max, using: &generator)
            let fingerprint = PathBuffer(path).fingerprint(seed: seed)
            #expect(fingerprint == reference(path, seed: seed))
            seen.insert(fingerprint)
        }
        #expect(seen.count > 1900, "fingerprints of distinct random paths should rarely collide")
    }

    @Test func aPrefixCarriesTheTriggersOfItsShorterPrefixes() {
        // The LPM trie answers with the longest match only: /etc/ssl/certs/ must also fire /etc/'s trigger.
        let plan = TriggerPlan([
            Self.trigger("etc", prefixes: ["/etc/"]), Self.trigger("ssl", prefixes: ["/etc/ssl/certs/"]), Self.trigger("var", prefixes: ["/var/"]),
        ])
        let sets = plan.prefixes(ids: ["etc": 1, "ssl": 2, "var": 3])
        #expect(sets[Self.buffer("/etc/")] == 1 << 1)
        #expect(sets[Self.buffer("/etc/ssl/certs/")] == 1 << 1 | 1 << 2)
        #expect(sets[Self.buffer("/var/")] == 1 << 3)
        #expect(Self.buffer("/etc/").prefixKey.prefix_bits == 40)
    }

    @Test func rateLimitsBecomeAnIntervalAndAMinutesBurst() {
        var limited = Self.trigger("a", paths: ["/x"])
        limited.maxPerMinute = 10
        let settings = TriggerPlan([limited]).entries[0].kernelSettings()
        #expect(settings.capture_interval_ns == 6_000_000_000)
        #expect(settings.burst_ns == 54_000_000_000)
        var unlimited = limited
        unlimited.maxPerMinute = 0
        #expect(TriggerPlan([unlimited]).entries[0].kernelSettings().capture_interval_ns == 0)
    }

    @Test func flagsSayResultStacksAndComm() {
        var trigger = Self.trigger("a", paths: ["/x"])
        trigger.onSuccess = true
        trigger.kernelStack = false
        trigger.comm = "node"
        let plan = TriggerPlan([trigger])
        let flags = plan.entries[0].kernelSettings().flags
        #expect(flags == TRIGGER_ON_FAILURE.rawValue | TRIGGER_ON_SUCCESS.rawValue | TRIGGER_USER_STACK.rawValue | TRIGGER_COMM.rawValue)
        #expect(plan.wantsSuccesses)
        #expect(!TriggerPlan([Self.trigger("b", paths: ["/y"])]).wantsSuccesses)
    }

    @Test func onAlertTriggersAreArmedOnlyWithinTheirWindow() {
        var trigger = Self.trigger("a", paths: ["/x"])
        trigger.alwaysArmed = false
        let entry = TriggerPlan([trigger]).entries[0]
        #expect(entry.kernelSettings().armed_until_ns == 0)
        let armed = entry.kernelSettings(window: ArmingWindow(untilMonotonicNanoseconds: 42, comm: "node", pid: 7))
        #expect(armed.armed_until_ns == 42)
        #expect(armed.armed_pid == 7)
        #expect(armed.armed_comm_words == KernelSettings.commWords("node"))
        #expect(TriggerPlan([Self.trigger("b", paths: ["/y"])]).entries[0].kernelSettings().armed_until_ns == .max)
    }

    @Test func idsStayWithTheirNamesAndFreedIdsAreReusedLast() {
        let table = TriggerTable()
        _ = table.replace(TriggerPlan([Self.trigger("a"), Self.trigger("b")]))
        let first = table.ids
        let change = table.replace(TriggerPlan([Self.trigger("b"), Self.trigger("c")]))
        #expect(change.removed == [first["a"]!])
        #expect(table.ids["b"] == first["b"])
        #expect(table.ids["c"] != first["a"], "a freed id is reused last")
        #expect(table.names(in: 1 << UInt64(table.ids["c"]!) | 1 << UInt64(table.ids["b"]!)).sorted() == ["b", "c"])
    }
}
