import ErrnoKernel
import Foundation
import SystemSupport

/// A watch asked for through `POST /api/v1/watches`: a JSON object with exactly one target — `pid`
/// (a process), `comm` (every process of that name) or `cgroup` (a cgroup v2 path and its
/// descendants) — and optional `paths_only`, `duration` (`5m`) and `events_per_second` (the
/// stream's rate; the summary counts every failure whatever it is). Every problem is reported at once.
public struct WatchRequest: Sendable, Equatable {
    /// The target as the user named it (a cgroup by path; resolved when the watch starts).
    public enum Target: Sendable, Equatable {
        case pid(UInt32)
        case comm(String)
        case cgroup(String)
    }

    public var target: Target
    public var pathsOnly = false
    public var durationSeconds: Int
    public var eventsPerSecond = WatchRequest.defaultEventsPerSecond

    public static let defaultEventsPerSecond = 1000
    public static let eventsPerSecondRange = 1...100_000
    /// Request bodies larger than this are refused.
    public static let maxBytes = 4096
    static let keys: Set<String> = ["pid", "comm", "cgroup", "paths_only", "duration", "events_per_second"]

    public init(target: Target, pathsOnly: Bool = false, durationSeconds: Int, eventsPerSecond: Int = Self.defaultEventsPerSecond) {
        self.target = target
        self.pathsOnly = pathsOnly
        self.durationSeconds = durationSeconds
        self.eventsPerSecond = eventsPerSecond
    }

    /// Why a request was refused: one line per problem.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let problems: [String]
        public var description: String { problems.joined(separator: "; ") }
    }

    /// Parses a JSON body. A missing `duration` is `defaultSeconds`; more than `maxSeconds` is refused.
    public static func parse(_ body: [UInt8], defaultSeconds: Int, maxSeconds: Int) throws(Invalid) -> WatchRequest {
        guard body.count <= maxBytes else { throw Invalid(problems: ["the body is over \(maxBytes) bytes"]) }
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(body)) else {
            throw Invalid(problems: [#"expected a JSON object like {"pid": 1234} or {"comm": "node", "paths_only": true, "duration": "5m"}"#])
        }
        var problems = fields.unknown.sorted().map { "unknown key \($0) (known: \(keys.sorted().joined(separator: ", ")))" }
        var targets: [Target] = []
        switch fields.pid {
        case .none: break
        case .some(let pid?) where pid >= Int(KernelLimits.pids.lowerBound) && pid <= Int(KernelLimits.pids.upperBound): targets.append(.pid(UInt32(pid)))
        case .some: problems.append("pid: expected a process id from \(KernelLimits.pids.lowerBound) to \(KernelLimits.pids.upperBound)")
        }
        switch fields.comm {
        case .none: break
        case .some(let comm?) where KernelLimits.isComm(comm) && !comm.utf8.contains(0): targets.append(.comm(comm))
        case .some: problems.append("comm: expected a process name of 1 to \(KernelLimits.commBytes) bytes, as the kernel keeps it")
        }
        switch fields.cgroup {
        case .none: break
        case .some(let path?) where path.hasPrefix("/") && path.utf8.count <= 4096 && !path.utf8.contains(0)
            && !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." })
            && (1..<KernelLimits.maxCgroupDepth).contains(path.split(separator: "/").count):
            targets.append(.cgroup(path))
        case .some:
            problems.append(
                "cgroup: expected an absolute cgroup v2 path without . or .. components, 1 to \(KernelLimits.maxCgroupDepth - 1) levels deep, like /system.slice/nginx.service (the root is every process: no watch)")
        }
        if targets.count != 1, problems.isEmpty { problems.append("name exactly one target: pid, comm or cgroup") }
        var pathsOnly = false
        switch fields.pathsOnly {
        case .none: break
        case .some(let flag?): pathsOnly = flag
        case .some: problems.append("paths_only: expected true or false")
        }
        var seconds = defaultSeconds
        switch fields.duration {
        case .none: break
        case .some(let text?) where DurationText.seconds(text).map { (1...maxSeconds).contains($0) } == true: seconds = DurationText.seconds(text)!
        case .some: problems.append("duration: expected a duration from 1s to \(DurationText.text(maxSeconds)), like 5m")
        }
        var rate = defaultEventsPerSecond
        switch fields.eventsPerSecond {
        case .none: break
        case .some(let number?) where eventsPerSecondRange.contains(number): rate = number
        case .some: problems.append("events_per_second: expected \(eventsPerSecondRange.lowerBound) to \(eventsPerSecondRange.upperBound)")
        }
        guard problems.isEmpty, let target = targets.first else { throw Invalid(problems: problems) }
        return WatchRequest(target: target, pathsOnly: pathsOnly, durationSeconds: seconds, eventsPerSecond: rate)
    }

    /// The body's keys, each absent (nil), of the wrong type (.some(nil)) or a value; keys not
    /// known collected.
    struct Fields: Decodable {
        var pid: Int??
        var comm: String??
        var cgroup: String??
        var pathsOnly: Bool??
        var duration: String??
        var eventsPerSecond: Int??
        var unknown: [String] = []

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            func field<T: Decodable>(_ name: String) -> T?? {
                let key = Key(stringValue: name)
                guard container.contains(key) else { return nil }
                return .some(try? container.decode(T.self, forKey: key))
            }
            pid = field("pid")
            comm = field("comm")
            cgroup = field("cgroup")
            pathsOnly = field("paths_only")
            duration = field("duration")
            eventsPerSecond = field("events_per_second")
            unknown = container.allKeys.map(\.stringValue).filter { !WatchRequest.keys.contains($0) }
        }
    }
}
