import ArgumentParser
import ErrnoAgent
import Logging

/// The `errno_exporter` command: parses flags and sets up logging; `Agent` does the rest (on the
/// main thread: see there why).
@main
struct ErrnoExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errno_exporter",
        abstract: "Counts failed syscalls with eBPF and serves them as Prometheus metrics.",
        discussion: "Without a subcommand, runs the agent. `errno_exporter trace` talks to a running one.",
        subcommands: [TopCommand.self, SnoopCommand.self, TraceCommand.self])

    @Option(name: .customLong("config.file"), help: "Path to the YAML config file.")
    var configFile = "/etc/errno_exporter/config.yml"

    @Flag(name: .customLong("config.check"), help: "Validate the config (and, with privileges, that the BPF programs load and attach), print OK or the errors, exit 0 or 1.")
    var configCheck = false

    @Option(name: .customLong("web.listen-address"), help: "Address to listen on; repeat for several. ':9717' means every IPv4 interface.")
    var listenAddresses: [String] = [":9717"]

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    var telemetryPath = "/metrics"

    @Option(
        name: .customLong("web.config.file"),
        help: "Web config (exporter-toolkit format): tls_server_config and basic_auth_users. Users and certificate files are re-read when they change.")
    var webConfigFile: String?

    @Flag(name: .customLong("web.enable-lifecycle"), help: "Enable POST /-/reload (SIGHUP always reloads).")
    var enableLifecycle = false

    @Flag(
        name: .customLong("web.enable-investigations"),
        help: "Enable watches (/api/v1/watches: top, snoop) and ephemeral triggers (POST /api/v1/triggers: trace); 403 without.")
    var enableInvestigations = false

    @Option(name: .customLong("web.investigations.max-triggers"), help: "Ephemeral triggers at once (1-64); more get 429.")
    var maxEphemeralTriggers = 8

    @Option(name: .customLong("web.investigations.max-watches"), help: "Watches at once (1-64); more get 429.")
    var maxWatches = 8

    @Option(name: .customLong("web.investigations.max-duration"), help: "The longest a watch or an ephemeral trigger lives (up to 1d); it ends then.")
    var maxInvestigationDuration = "1h"

    @Flag(
        name: .customLong("web.disable-openmetrics-created-samples"),
        help: "Leave _created samples out of OpenMetrics scrapes: a Prometheus without created-timestamp support stores each as a series of its own. Protobuf scrapes keep created_timestamp.")
    var disableOpenMetricsCreatedSamples = false

    @Option(name: .customLong("web.max-requests"), help: "Scrapes served at once; more get 503.")
    var maxRequests = AgentOptions.defaultMaxRequests

    @Option(name: .customLong("web.max-connections"), help: "Connections open at once; more are closed as they are accepted.")
    var maxConnections = AgentOptions.defaultMaxConnections

    @Option(name: .customLong("web.idle-timeout"), help: "Seconds before a connection that sends nothing is closed.")
    var idleTimeoutSeconds = AgentOptions.defaultIdleTimeoutSeconds

    @Option(
        name: .customLong("capabilities.keep"),
        help: "Capabilities kept after the BPF programs are attached, comma-separated, or 'all' to keep every one. CAP_BPF is needed for map reads.")
    var keepCapabilities = AgentOptions.defaultCapabilitiesKeep

    @Option(
        name: .customLong("kernel.disable-feature"),
        help: "Run as if the kernel lacked this feature (vma_iterator, async_stacks, stack_captures, cgroup_filter, task_btf); repeatable. To see, or test, how the agent degrades on older kernels.")
    var disabledFeatures: [String] = []

    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log.format"), help: "Output format of log messages: logfmt or json.")
    var logFormat: LineLogHandler.Format = .logfmt

    @Flag(name: .customLong("version"), help: "Show version, revision and libbpf version, then exit.")
    var showVersion = false

    func validate() throws {
        do {
            _ = try options()
        } catch let error as AgentOptions.Invalid {
            throw ValidationError(error.description)
        }
    }

    /// The agent's options from the flags.
    func options() throws -> AgentOptions {
        var options = try AgentOptions(
            configFile: configFile, listenAddresses: listenAddresses, capabilitiesKeep: keepCapabilities, disabledFeatures: disabledFeatures)
        try options.setTelemetryPath(telemetryPath)
        try options.setLimits(maxRequests: maxRequests, maxConnections: maxConnections, idleTimeoutSeconds: idleTimeoutSeconds)
        options.webConfigFile = webConfigFile
        options.enableLifecycle = enableLifecycle
        options.enableInvestigations = enableInvestigations
        try options.setInvestigationLimits(maxTriggers: maxEphemeralTriggers, maxWatches: maxWatches, maxDuration: maxInvestigationDuration)
        options.openMetricsCreatedSamples = !disableOpenMetricsCreatedSamples
        return options
    }

    func run() throws {
        if showVersion {
            print(Agent.versionSummary)
            return
        }
        let logger = LineLogHandler.bootstrap(level: logLevel.level, format: logFormat)
        do {
            if configCheck {
                print(try Agent.check(try options(), logger: logger))
            } else {
                try Agent.run(try options(), logger: logger)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            logger.error("\(Agent.describe(error))")
            throw ExitCode.failure
        }
    }
}
/// `--log.level` values.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case debug, info, warn, error

    var level: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }
}

extension LineLogHandler.Format: ExpressibleByArgument {}
