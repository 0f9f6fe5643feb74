import Foundation
import NIOHTTP1
import Synchronization

/// `errno_exporter trace`: creates an ephemeral trigger on a path (optionally for one pid or comm)
/// through a running agent's investigations API, prints each capture's stack as it arrives, and
/// removes the trigger when stopped (Ctrl-C) or when its time runs out. Output is plain lines, the
/// same on a terminal and in a pipe.
public final class TraceSession: Sendable {
    /// What to trace.
    public struct Request: Sendable {
        public var paths: [String] = []
        public var prefixes: [String] = []
        public var pid: Int?
        public var comm: String?
        /// How long the trigger lives, as the agent reads durations (`10m`).
        public var duration: String
        public var maxPerMinute = 60
        public var asyncStacks = false
        public var kernelStack = false

        public init(duration: String = "10m") {
            self.duration = duration
        }

        /// The `POST /api/v1/triggers` body.
        var body: Data {
            var object: [String: Any] = [
                "duration": duration, "max_per_minute": maxPerMinute, "async_stacks": asyncStacks,
                "stacks": kernelStack ? ["user", "kernel"] : ["user"],
            ]
            if !paths.isEmpty { object["path"] = paths }
            if !prefixes.isEmpty { object["path_prefix"] = prefixes }
            if let pid { object["pid"] = pid }
            if let comm { object["comm"] = comm }
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        }
    }

    struct Created: Decodable {
        let name: String
        let expires: String
    }

    struct Listed: Decodable {
        let name: String
    }

    private let connection: AgentConnection
    private let request: Request
    private let stopping = Atomic<Bool>(false)
    /// How often the agent is asked for new captures.
    static let pollInterval = Duration.milliseconds(500)

    public init(connection: AgentConnection, request: Request) {
        self.connection = connection
        self.request = request
    }

    /// Ends the session at the next poll (a signal handler may call it).
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Runs until `stop()` or the trigger's end; `print` gets each output line, `status` each
    /// message about the session (for stderr). The trigger is removed on the way out.
    public func run(print: @Sendable (String) -> Void, status: @Sendable (String) -> Void) async throws {
        let created = try await connection.call(.POST, "/api/v1/triggers", body: request.body, as: Created.self)
        let what = (request.paths + request.prefixes.map { $0 + "*" }).joined(separator: " ")
        status("tracing \(what)\(request.pid.map { " in pid \($0)" } ?? "")\(request.comm.map { " in \($0)" } ?? "") as trigger \(created.name) until \(created.expires); Ctrl-C to stop")
        var seen: Set<String> = []
        var failure: (any Error)?
        do {
            while !stopping.load(ordering: .relaxed) {
                let captures = try await connection.call(.GET, "/api/v1/captures?trigger=\(created.name)&limit=1000", as: [CaptureView].self)
                for capture in captures.reversed() where seen.insert(capture.id).inserted {
                    for line in capture.lines(kernel: request.kernelStack) { print(line) }
                    print("")
                }
                let triggers = try await connection.call(.GET, "/api/v1/triggers", as: [Listed].self)
                if !triggers.contains(where: { $0.name == created.name }) {
                    status("trigger \(created.name) expired")
                    return
                }
                try? await Task.sleep(for: Self.pollInterval)
            }
        } catch {
            failure = error
        }
        let deleted = try? await connection.send(.DELETE, "/api/v1/triggers/\(created.name)")
        if let deleted, deleted.status == 200 || deleted.status == 404 {
            status("removed trigger \(created.name) (\(seen.count) captures)")
        } else {
            status("could not remove trigger \(created.name) (HTTP \(deleted.map { String($0.status) } ?? "unreachable")); it ends by itself at \(created.expires)")
        }
        if let failure { throw failure }
    }
}
