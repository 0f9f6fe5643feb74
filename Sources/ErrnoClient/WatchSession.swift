import Foundation
import NIOHTTP1
import Synchronization

/// A watch held by a command-line tool (`top`, `snoop`): created through a running agent's
/// investigations API when the tool starts, deleted when it stops (Ctrl-C), over when the agent
/// ends it (its duration ran out).
public final class WatchSession: Sendable {
    /// What to watch.
    public struct Request: Sendable {
        /// Exactly one of pid, comm, cgroup.
        public var pid: Int?
        public var comm: String?
        public var cgroup: String?
        public var pathsOnly = false
        /// How long the watch lives, as the agent reads durations (`10m`).
        public var duration: String

        public init(duration: String = "10m") {
            self.duration = duration
        }

        /// The `POST /api/v1/watches` body.
        var body: Data {
            var object: [String: Any] = ["duration": duration, "paths_only": pathsOnly]
            if let pid { object["pid"] = pid }
            if let comm { object["comm"] = comm }
            if let cgroup { object["cgroup"] = cgroup }
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        }

        /// `pid 1234`, `comm node`, `cgroup /x`.
        var target: String {
            pid.map { "pid \($0)" } ?? comm.map { "comm \($0)" } ?? cgroup.map { "cgroup \($0)" } ?? "nothing"
        }
    }

    struct Created: Decodable {
        let id: String
        let expires: String
    }

    let connection: AgentConnection
    let request: Request
    private let stopping = Atomic<Bool>(false)
    private let work = Mutex<Task<Void, any Error>?>(nil)

    public init(connection: AgentConnection, request: Request) {
        self.connection = connection
        self.request = request
    }

    /// Ends the session (a signal handler may call it): the tool's work is cancelled, the watch deleted.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        work.withLock { $0?.cancel() }
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Creates the watch, runs `body` with its id and a function that announces the watch (once
    /// `body` is ready to show what it sees) until `body` returns or the session is stopped, then
    /// deletes the watch; `status` gets each message about the session (for stderr).
    func run(status: @escaping @Sendable (String) -> Void, body: @escaping @Sendable (_ id: String, _ announce: @Sendable () -> Void) async throws -> Void) async throws {
        let created = try await connection.call(.POST, "/api/v1/watches", body: request.body, as: Created.self)
        let announcement = "watching \(request.target)\(request.pathsOnly ? " (path syscalls)" : "") as watch \(created.id) until \(created.expires); Ctrl-C to stop"
        let task = Task { try await body(created.id) { status(announcement) } }
        work.withLock { $0 = task }
        if isStopping { task.cancel() }
        var failure: (any Error)?
        do {
            try await task.value
        } catch {
            if !isStopping { failure = error }  // a cancelled request is how a stop looks
        }
        let deleted = try? await connection.send(.DELETE, "/api/v1/watches/\(created.id)")
        switch deleted?.status {
        case 200: status("removed watch \(created.id)")
        case 404: status("watch \(created.id) has ended")
        default: status("could not remove watch \(created.id) (HTTP \(deleted.map { String($0.status) } ?? "unreachable")); it ends by itself at \(created.expires)")
        }
        if let failure { throw failure }
    }
}
