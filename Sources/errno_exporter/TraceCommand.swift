import ArgumentParser
import ErrnoClient
import Foundation

/// Options every tool that talks to a running agent takes, as a Prometheus client has them.
struct AgentOptionGroup: ParsableArguments {
    @Option(name: .customLong("agent"), help: "The agent's URL.")
    var url = AgentConnectionOptions.defaultURL

    @Option(name: .customLong("ca-file"), help: "CA certificate(s) to verify an https agent with.")
    var caFile: String?

    @Option(name: .customLong("cert-file"), help: "Client certificate (PEM), with --key-file.")
    var certFile: String?

    @Option(name: .customLong("key-file"), help: "Client certificate's key (PEM).")
    var keyFile: String?

    @Flag(name: .customLong("insecure-skip-verify"), help: "Do not verify the agent's certificate.")
    var insecureSkipVerify = false

    @Option(name: .customLong("username"), help: "Basic-auth user.")
    var username: String?

    @Option(name: .customLong("password-file"), help: "File holding the basic-auth password.")
    var passwordFile: String?

    func validate() throws {
        if (certFile == nil) != (keyFile == nil) { throw ValidationError("--cert-file and --key-file go together") }
        if passwordFile != nil, username == nil { throw ValidationError("--password-file needs --username") }
    }

    var connectionOptions: AgentConnectionOptions {
        var options = AgentConnectionOptions(url: url)
        options.caFile = caFile
        options.certFile = certFile
        options.keyFile = keyFile
        options.insecureSkipVerify = insecureSkipVerify
        options.username = username
        options.passwordFile = passwordFile
        return options
    }
}

/// `errno_exporter trace --path P [--pid N] [--for 10m]`: BCC's `trace 'open(...)' -U -p PID`
/// against a running agent (started with --web.enable-investigations): a temporary trigger on the
/// path, each capture's stack printed as it arrives, the trigger removed on Ctrl-C.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Print the stack of every failing open of a path, from a running agent (like BCC's trace -U).")

    @OptionGroup var agent: AgentOptionGroup

    @Option(name: .customLong("path"), help: "A path to trace (exact, as the process passes it); repeatable.")
    var paths: [String] = []

    @Option(name: .customLong("path-prefix"), help: "A path prefix to trace; repeatable.")
    var prefixes: [String] = []

    @Option(name: .customLong("pid"), help: "Only this process.")
    var pid: Int?

    @Option(name: .customLong("comm"), help: "Only processes with this comm.")
    var comm: String?

    @Option(name: .customLong("for"), help: "How long the trigger lives, like 30s, 10m or 1h (the agent checks it, and caps it).")
    var duration = "10m"

    @Option(name: .customLong("max-per-minute"), help: "Captures a minute at most.")
    var maxPerMinute = 60

    @Flag(name: .customLong("async-stacks"), help: "Also the stack that submitted a Node.js async request.")
    var asyncStacks = false

    @Flag(name: .customLong("kernel-stack"), help: "Print the kernel stack too.")
    var kernelStack = false

    func validate() throws {
        if paths.isEmpty, prefixes.isEmpty { throw ValidationError("give --path or --path-prefix") }
    }

    func run() throws {
        var request = TraceSession.Request(duration: duration)
        request.paths = paths
        request.prefixes = prefixes
        request.pid = pid
        request.comm = comm
        request.maxPerMinute = maxPerMinute
        request.asyncStacks = asyncStacks
        request.kernelStack = kernelStack
        let connection = try AgentConnection(agent.connectionOptions)
        let session = TraceSession(connection: connection, request: request)
        try ToolRunner.run("trace", connection: connection, stop: { session.stop() }) { print, status in
            try await session.run(print: print, status: status)
        }
    }
}
