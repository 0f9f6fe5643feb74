import ArgumentParser
import ErrnoClient
import Foundation

/// What `top` and `snoop` watch: one process, comm or cgroup, for how long.
struct WatchTargetOptions: ParsableArguments {
    @Option(name: .customLong("pid"), help: "The process to watch.")
    var pid: Int?

    @Option(name: .customLong("comm"), help: "Watch every process with this comm.")
    var comm: String?

    @Option(name: .customLong("cgroup"), help: "Watch a cgroup v2 (path under the hierarchy) and its descendants.")
    var cgroup: String?

    @Option(name: .customLong("for"), help: "How long the watch lives, like 30s, 10m or 1h (the agent checks it, and caps it).")
    var duration = "10m"

    @Flag(name: .customLong("paths"), help: "Only path syscalls (open, stat, …), as opensnoop.")
    var pathsOnly = false

    func validate() throws {
        guard [pid != nil, comm != nil, cgroup != nil].filter({ $0 }).count == 1 else { throw ValidationError("give one of --pid, --comm, --cgroup") }
    }

    var request: WatchSession.Request {
        var request = WatchSession.Request(duration: duration)
        request.pid = pid
        request.comm = comm
        request.cgroup = cgroup
        request.pathsOnly = pathsOnly
        return request
    }

    /// Runs tool `name` on a watch of this target through the agent `agent` names.
    func run(
        _ name: String, agent: AgentOptionGroup,
        work: @escaping @Sendable (WatchSession, _ print: @escaping @Sendable (String) -> Void, _ status: @escaping @Sendable (String) -> Void) async throws -> Void
    ) throws {
        let connection = try AgentConnection(agent.connectionOptions)
        let session = WatchSession(connection: connection, request: request)
        try ToolRunner.run(name, connection: connection, stop: { session.stop() }) { print, status in try await work(session, print, status) }
    }
}

/// `errno_exporter top --pid N`: BCC's `syscount -x -p PID` against a running agent (started with
/// --web.enable-investigations): a watch on the process, its failing syscalls by errno refreshed
/// every second, the watch removed on Ctrl-C.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "A live table of a process's failing syscalls, from a running agent (like BCC's syscount -x -p).")

    @OptionGroup var agent: AgentOptionGroup
    @OptionGroup var target: WatchTargetOptions

    @Option(name: .customLong("interval"), help: "Seconds between refreshes.")
    var interval = 1.0

    @Option(name: .customLong("count"), help: "Stop after this many refreshes.")
    var count: Int?

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval is 0.1 to 3600 seconds") }
        if let count, count < 1 { throw ValidationError("--count is at least 1") }
    }

    func run() throws {
        let interval = Duration.milliseconds(Int64(self.interval * 1000)), count = self.count
        let terminal = isatty(STDOUT_FILENO) == 1
        try target.run("top", agent: agent) { session, print, status in
            try await WatchTools.top(session, interval: interval, iterations: count, terminal: terminal, print: print, status: status)
        }
    }
}

/// `errno_exporter snoop --pid N [--paths]`: BCC's `opensnoop -x -p PID` against a running agent: a
/// watch on the process, one line per failure as it happens, the watch removed on Ctrl-C.
struct SnoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snoop", abstract: "One line per failing syscall of a process as it happens, from a running agent (like BCC's opensnoop -x -p).")

    @OptionGroup var agent: AgentOptionGroup
    @OptionGroup var target: WatchTargetOptions

    @Option(name: .customLong("count"), help: "Stop after this many failures.")
    var count: Int?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count is at least 1") }
    }

    func run() throws {
        let count = self.count
        try target.run("snoop", agent: agent) { session, print, status in
            try await WatchTools.snoop(session, limit: count, print: print, status: status)
        }
    }
}
