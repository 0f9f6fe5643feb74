import ErrnoKernel
import Foundation

/// A running watch as the API shows it: its id, what it looks at, its limits, who started it and
/// until when.
public struct Watch: Sendable, Equatable {
    /// Unique for the agent's lifetime (never reused, unlike the kernel slot behind it).
    public var id: String
    public var target: WatchRequest.Target
    public var pathsOnly: Bool
    public var eventsPerSecond: Int
    public var created: Date
    public var expires: Date
    public var createdBy: String
    /// A pid watch whose process exited: it matches nothing more; its summary stays.
    public var exited = false

    public init(
        id: String, target: WatchRequest.Target, pathsOnly: Bool, eventsPerSecond: Int, created: Date, expires: Date, createdBy: String
    ) {
        self.id = id
        self.target = target
        self.pathsOnly = pathsOnly
        self.eventsPerSecond = eventsPerSecond
        self.created = created
        self.expires = expires
        self.createdBy = createdBy
    }

    /// The target as one phrase for logs: `pid 1234`, `comm node`, `cgroup /system.slice/x`.
    public var targetDescription: String {
        switch target {
        case .pid(let pid): "pid \(pid)"
        case .comm(let comm): "comm \(comm)"
        case .cgroup(let path): "cgroup \(path)"
        }
    }
}
