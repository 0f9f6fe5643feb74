import ErrnoConfig
import ErrnoKernel
import KernelFakes
import Logging
import Foundation
import SystemSupport
import Testing

@testable import Captures

/// Alerts arm triggers through the kernel boundary: checked whole, extended but never shortened.
@Suite struct TriggerArmingTests {
    static func directory() throws -> (FakeKernel, TriggerDirectory) {
        var onAlert = Config.Trigger(name: "on-alert", paths: ["/etc/nodey.conf"])
        onAlert.armed = .onAlert
        onAlert.armForSeconds = 600
        let always = Config.Trigger(name: "always", paths: ["/etc/hosts"])
        var config = Config()
        config.triggers = [onAlert, always]
        let kernel = FakeKernel()
        try kernel.apply(config.kernelSettings())
        return (kernel, TriggerDirectory(kernel: kernel, triggers: config.triggers))
    }

    static let logger = Logger(label: "test")

    static func alert(_ labels: [String: String], firing: Bool = true) -> FiringAlert {
        FiringAlert(firing: firing, labels: labels, fingerprint: "f1")
    }

    @Test func aFiringAlertArmsItsTriggerNarrowedByCommAndPid() throws {
        let (kernel, triggers) = try Self.directory()
        let outcome = try triggers.arm(
            [Self.alert(["alertname": "A", FiringAlert.triggerLabel: "on-alert, always", "comm": "node", "pid": "42"])], logger: Self.logger)
        #expect(outcome.armed.map(\.trigger) == ["on-alert"])
        #expect(outcome.alwaysArmed == ["always"])
        let window = try #require(kernel.windows["on-alert"])
        #expect(window.comm == "node" && window.pid == 42)
        let status = try #require(try triggers.statuses().first { $0.name == "on-alert" })
        #expect(status.armed && status.notifications == 1 && status.arming?.alert == "A")
    }

    @Test func aRepeatExtendsAndNeverShortens() throws {
        let (kernel, triggers) = try Self.directory()
        _ = try triggers.arm([Self.alert([FiringAlert.triggerLabel: "on-alert"])], logger: Self.logger)
        let first = try #require(kernel.windows["on-alert"]).untilMonotonicNanoseconds
        _ = try triggers.arm([Self.alert([FiringAlert.triggerLabel: "on-alert"])], logger: Self.logger)
        #expect(try #require(kernel.windows["on-alert"]).untilMonotonicNanoseconds >= first)
        let resolved = try triggers.arm([Self.alert([FiringAlert.triggerLabel: "on-alert"], firing: false)], logger: Self.logger)
        #expect(resolved.ignored == 1 && resolved.armed.isEmpty)
    }

    @Test func badAlertsArmNothing() throws {
        let (kernel, triggers) = try Self.directory()
        let batches: [[FiringAlert]] = [
            [Self.alert([FiringAlert.triggerLabel: "on-alert"]), Self.alert([FiringAlert.triggerLabel: "nope"])],
            [Self.alert([FiringAlert.triggerLabel: "on-alert", "comm": String(repeating: "x", count: 16)])],
            [Self.alert([FiringAlert.triggerLabel: "on-alert", "pid": "-1"])],
        ]
        for batch in batches {
            #expect(throws: ArmingError.self) { try triggers.arm(batch, logger: Self.logger) }
        }
        #expect(kernel.windows.isEmpty)
        #expect(try triggers.statuses().allSatisfy { $0.notifications == 0 })
    }

    @Test func aReloadDropsTheArmingsOfRemovedTriggers() throws {
        let (_, triggers) = try Self.directory()
        _ = try triggers.arm([Self.alert([FiringAlert.triggerLabel: "on-alert"])], logger: Self.logger)
        triggers.replace([Config.Trigger(name: "always", paths: ["/etc/hosts"])])
        #expect(triggers.arming("on-alert") == nil)
        #expect(try triggers.statuses().map(\.name) == ["always"])
    }

    @Test func aTriggerNamedManyTimesIsArmedOnce() throws {
        let (kernel, triggers) = try Self.directory()
        let named = Array(repeating: "on-alert", count: 80_000).joined(separator: ",")
        let outcome = try triggers.arm([Self.alert([FiringAlert.triggerLabel: named]), Self.alert([FiringAlert.triggerLabel: "on-alert"])], logger: Self.logger)
        #expect(outcome.armed.count == 1)
        #expect(kernel.windows.count == 1)
        #expect(try triggers.statuses().first { $0.name == "on-alert" }?.notifications == 1)
    }

    @Test func unknownNamesAreListedWithinBounds() throws {
        let (_, triggers) = try Self.directory()
        let named = (0..<5_000).map { "nope\($0)" + String(repeating: "x", count: 200) }.joined(separator: ",")
        #expect {
            try triggers.arm([Self.alert([FiringAlert.triggerLabel: named])], logger: Self.logger)
        } throws: { error in
            "\(error)".utf8.count < 2_000 && "\(error)".contains("and 4990 more")
        }
    }
}

/// Polled alerts arm alert by alert: a bad one is reported and the others still arm; an alert seen
/// again only extends its window.
@Suite struct PolledArmingTests {
    static let peers = ["http://am-1:9093"]

    static func polled(_ labels: [String: String], fingerprint: String) -> (alert: FiringAlert, peers: [String]) {
        (FiringAlert(firing: true, labels: labels, fingerprint: fingerprint), peers)
    }

    @Test func badAlertsAreReportedAndTheOthersArm() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        let outcome = triggers.arm(
            polled: [
                Self.polled(["alertname": "Unknown", FiringAlert.triggerLabel: "nope"], fingerprint: "a"),
                Self.polled([FiringAlert.triggerLabel: "on-alert", "pid": "-1"], fingerprint: "b"),
                Self.polled([FiringAlert.triggerLabel: "always"], fingerprint: "c"),
                Self.polled(["alertname": "Good", FiringAlert.triggerLabel: "on-alert", "comm": "node"], fingerprint: "d"),
            ], seenBefore: [], logger: TriggerArmingTests.logger)
        #expect(outcome.new == [.unknownTrigger: 1, .invalid: 1, .alwaysArmed: 1, .armed: 1])
        #expect(kernel.windows["on-alert"]?.comm == "node")
        let status = try #require(try triggers.statuses().first { $0.name == "on-alert" })
        #expect(status.armed && status.notifications == 1 && status.arming?.alert == "Good")
        #expect(status.arming?.source == .poll(peers: Self.peers))
        #expect("\(status.arming!.source)" == "poll http://am-1:9093")
    }

    @Test func anAlertSeenAgainExtendsItsWindowWithoutCountingANotification() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        let alert = Self.polled(["alertname": "A", FiringAlert.triggerLabel: "on-alert"], fingerprint: "f")
        _ = triggers.arm(polled: [alert], seenBefore: [], logger: TriggerArmingTests.logger)
        let first = try #require(kernel.windows["on-alert"]).untilMonotonicNanoseconds
        let again = triggers.arm(polled: [alert], seenBefore: [alert.alert.identity], logger: TriggerArmingTests.logger)
        #expect(again.new.isEmpty)
        #expect(try #require(kernel.windows["on-alert"]).untilMonotonicNanoseconds >= first)
        #expect(try triggers.statuses().first { $0.name == "on-alert" }?.notifications == 1)
    }

    @Test func aPollNeverShortensALongerWindow() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        let far = MonotonicClock.nanoseconds() + 3_600_000_000_000
        let arming = Arming(window: ArmingWindow(untilMonotonicNanoseconds: far), until: Date().addingTimeInterval(3600), alert: "Long", fingerprint: nil, source: .webhook)
        _ = try triggers.extendArming("on-alert", arming, windows: ["long": arming.window], notification: true)
        _ = triggers.arm(polled: [Self.polled([FiringAlert.triggerLabel: "on-alert"], fingerprint: "x")], seenBefore: [], logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.untilMonotonicNanoseconds == far)
    }

    @Test func anOpenWindowKeepsItsProcessArmedUntilItEnds() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        let soon = MonotonicClock.nanoseconds() + 50_000_000
        let short = Arming(window: ArmingWindow(untilMonotonicNanoseconds: soon, comm: "a"), until: Date(), alert: "A", fingerprint: nil, source: .webhook)
        _ = try triggers.extendArming("on-alert", short, windows: ["a": short.window], notification: true)
        let b = Self.polled(["alertname": "B", FiringAlert.triggerLabel: "on-alert", "comm": "b"], fingerprint: "b")
        _ = triggers.arm(polled: [b], seenBefore: [], logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.comm == nil, "a's window is open: both comms")
        usleep(100_000)
        _ = triggers.arm(polled: [b], seenBefore: [b.alert.identity], logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.comm == "b", "a's window ended: b's alone")
    }

    @Test func manyAlertsFoldIntoOneWindowForAnyProcess() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        let alerts = (0...TriggerDirectory.maxAlertWindows).map {
            Self.polled(["alertname": "A\($0)", FiringAlert.triggerLabel: "on-alert", "pid": "\($0 + 1)"], fingerprint: "\($0)")
        }
        _ = triggers.arm(polled: alerts, seenBefore: [], logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.pid == nil && kernel.windows["on-alert"]?.comm == nil)
    }

    @Test func alertsArmingOneTriggerNarrowItOnlyByWhatTheyShare() throws {
        let (kernel, triggers) = try TriggerArmingTests.directory()
        _ = triggers.arm(
            polled: [
                Self.polled(["alertname": "A", FiringAlert.triggerLabel: "on-alert", "comm": "nginx"], fingerprint: "a"),
                Self.polled(["alertname": "B", FiringAlert.triggerLabel: "on-alert", "comm": "nginx", "pid": "42"], fingerprint: "b"),
            ], seenBefore: [], logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.comm == "nginx" && kernel.windows["on-alert"]?.pid == nil)
        #expect(try triggers.statuses().first { $0.name == "on-alert" }?.notifications == 1, "one arming for the poll")
        _ = try triggers.arm(
            [TriggerArmingTests.alert([FiringAlert.triggerLabel: "on-alert", "comm": "a"]), TriggerArmingTests.alert([FiringAlert.triggerLabel: "on-alert", "comm": "b"])],
            logger: TriggerArmingTests.logger)
        #expect(kernel.windows["on-alert"]?.comm == nil, "a webhook batch merges the same way")
    }

    @Test func aPeerCannotHideAnAlertBehindAnotherOnesFingerprint() {
        let honest = FiringAlert(firing: true, labels: ["alertname": "A", "instance": "me:9717"], fingerprint: "f")
        let forged = FiringAlert(firing: true, labels: ["alertname": "A", "instance": "elsewhere:9717"], fingerprint: "f")
        #expect(honest.identity != forged.identity)
        #expect(FiringAlert(firing: true, labels: ["a": "b,c=d"], fingerprint: nil).identity != FiringAlert(firing: true, labels: ["a": "b", "c": "d"], fingerprint: nil).identity)
    }
}
