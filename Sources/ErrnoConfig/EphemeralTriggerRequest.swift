import ErrnoKernel
import Foundation
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

    /// Parses `body`. A missing `name` becomes `adhoc-` and 8 random hex digits; a missing
    /// `duration` is `defaultSeconds`; longer than `maxSeconds` is refused.
    public static func parse(_ body: String, defaultSeconds: Int, maxSeconds: Int) throws(ConfigError) -> EphemeralTriggerRequest {
        let file = "request"
        guard body.utf8.count <= maxBytes else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: "the body is over \(maxBytes) bytes")])
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
            mapping["name"] = Node("adhoc-" + String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(8))
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
        guard reader.issues.isEmpty, var trigger else { throw ConfigError(issues: reader.issues) }
        // Armed while it lives; with a pid, only for that process (the kernel's arming window).
        trigger.armed = pid == nil ? .always : .onAlert
        trigger.armForSeconds = seconds
        return EphemeralTriggerRequest(trigger: trigger, pid: pid, durationSeconds: seconds)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
