import ErrnoKernel
import Foundation
import SystemSupport
import Yams

/// A temporary trigger asked for through `POST /api/v1/triggers`: a JSON object with a config
/// trigger's keys (no `armed`/`arm_for`: it is armed while it lives), plus `pid` (only that process)
/// and `duration` (how long it lives). Checked as strictly as the config file; every problem is
/// reported at once.
public struct EphemeralTriggerRequest: Sendable, Equatable {
    public var trigger: Config.Trigger
    public var pid: UInt32?
    public var durationSeconds: Int

    /// Keys of a request, besides a trigger's.
    static let extraKeys = ["pid", "duration"]
    /// A trigger's keys a request may use.
    static let triggerKeys = TriggerReader.keys.filter { $0 != "armed" && $0 != "arm_for" }
    /// Request bodies larger than this are refused.
    public static let maxBytes = 64 << 10
    /// Captures a minute an ad-hoc trigger may take (a configured one may have no limit).
    public static let maxPerMinuteRange = 1...600
    /// Paths and prefixes of one ad-hoc trigger.
    public static let maxPaths = 16

    /// Parses `body`. A missing `name` becomes `adhoc-` and 8 random hex digits; a missing
    /// `duration` is `defaultSeconds`; longer than `maxSeconds` is refused.
    public static func parse(_ body: String, defaultSeconds: Int, maxSeconds: Int) throws(ConfigError) -> EphemeralTriggerRequest {
        let file = "request"
        guard body.utf8.count <= maxBytes else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "the body is over \(maxBytes) bytes")])
        }
        // JSON only, checked by a JSON parser first: YAML's anchors and aliases (which Yams expands,
        // and hashes whole for duplicate keys) never reach the YAML reader.
        guard let data = body.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "expected a JSON object with a trigger's keys")])
        }
        let root: Node?
        do {
            root = try ConfigLoader.compose(body, file: file)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "\(error)")])
        }
        guard var root, case .mapping(var mapping) = root else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "expected a JSON object with a trigger's keys")])
        }
        if mapping["name"] == nil {
            mapping["name"] = Node("adhoc-" + String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(8), Tag(.str, ConfigLoader.resolver))
            root = .mapping(mapping)
        }
        let reader = NodeReader(file: file)
        var pid: UInt32?
        var seconds = defaultSeconds
        let trigger = TriggerReader.readTrigger(root, "", reader, keys: triggerKeys, extraKeys: extraKeys) { key, value, path in
            if key == "pid" {
                if let number = reader.integer(value, path: path, in: Int(KernelLimits.pids.lowerBound)...Int(KernelLimits.pids.upperBound)) {
                    pid = UInt32(number)
                }
                return
            }
            guard let text = reader.string(value, path: path) else { return }
            guard let parsed = DurationText.seconds(text), (1...maxSeconds).contains(parsed) else {
                return reader.fail(value, path, "expected a duration from 1s to \(DurationText.text(maxSeconds)), like 10m")
            }
            seconds = parsed
        }
        if let trigger, !maxPerMinuteRange.contains(trigger.maxPerMinute) {
            reader.fail(root, "max_per_minute", "an ad-hoc trigger captures 1 to \(maxPerMinuteRange.upperBound) times a minute (0, no limit, is for configured ones)")
        }
        if let trigger, trigger.paths.count + trigger.prefixes.count > maxPaths {
            reader.fail(root, "path", "an ad-hoc trigger has at most \(maxPaths) paths and prefixes (the kernel's path budget is shared with the config's)")
        }
        guard reader.issues.isEmpty, var trigger else { throw ConfigError(issues: reader.issues) }
        // Armed while it lives, through the kernel's arming window (narrowed to the pid when given):
        // the kernel stops capturing at the deadline whatever happens to the trigger in user space.
        trigger.armed = .onAlert
        trigger.armForSeconds = seconds
        return EphemeralTriggerRequest(trigger: trigger, pid: pid, durationSeconds: seconds)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
