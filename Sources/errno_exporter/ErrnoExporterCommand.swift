import ArgumentParser
import ErrnoAgent
import ErrnoConfig
import ErrnoKernel
import ErrnoServer
import Logging

/// The `errno_exporter` command: parses flags and sets up logging; `Agent` does the rest (on the
/// main thread: see there why).
@main
struct ErrnoExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errno_exporter",
        abstract: "Counts failed syscalls with eBPF and serves them as Prometheus metrics.")

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

    @Option(name: .customLong("web.max-requests"), help: "Scrapes served at once; more get 503.")
    var maxRequests = 40

    @Option(name: .customLong("web.max-connections"), help: "Connections open at once; more are closed as they are accepted.")
    var maxConnections = 512

    @Option(name: .customLong("web.idle-timeout"), help: "Seconds before a connection that sends nothing is closed.")
    var idleTimeoutSeconds = 60.0

    @Option(
        name: .customLong("capabilities.keep"),
        help: "Capabilities kept after the BPF programs are attached, comma-separated, or 'all' to keep every one. CAP_BPF is needed for map reads.")
    var keepCapabilities = Self.defaultKeep

    static let defaultKeep = Capabilities.defaultKeep.joined(separator: ",")

    @Option(
        name: .customLong("kernel.disable-feature"),
        help: "Run as if the kernel lacked this feature (vma_iterator, async_stacks, stack_captures, cgroup_filter, task_btf); repeatable. To see, or test, how the agent degrades on older kernels.")
    var disabledFeatures: [String] = []

    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log.format"), help: "Output format of log messages: logfmt or json.")
    var logFormat: LogFormat = .logfmt

    @Flag(name: .customLong("version"), help: "Show version, revision and libbpf version, then exit.")
    var showVersion = false

    func validate() throws {
        guard maxRequests >= 1 else { throw ValidationError("--web.max-requests must be at least 1") }
        guard maxConnections >= 1 else { throw ValidationError("--web.max-connections must be at least 1") }
        guard idleTimeoutSeconds > 0 else { throw ValidationError("--web.idle-timeout must be positive") }
        guard telemetryPath.hasPrefix("/"), telemetryPath.count > 1, !["/-/healthy", "/-/ready"].contains(telemetryPath) else {
            throw ValidationError("--web.telemetry-path must start with '/' and not be '/', '/-/healthy' or '/-/ready'")
        }
        for feature in disabledFeatures where KernelFeatures.Feature(rawValue: feature) == nil {
            throw ValidationError("--kernel.disable-feature: unknown feature \"\(feature)\"; features: \(KernelFeatures.Feature.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for address in listenAddresses {
            do { _ = try ListenAddress(parsing: address) } catch { throw ValidationError("--web.listen-address: \(error)") }
        }
    }

    func run() throws {
        if showVersion {
            print(BuildInfo.summary)
            return
        }
        let logger = LogSetup.bootstrap(level: logLevel.level, format: logFormat)
        do {
            try runAgent(logger: logger)
        } catch let error as ExitCode {
            throw error
        } catch {
            logger.error("\(Self.oneLine(error))")
            throw ExitCode.failure
        }
    }

    private func runAgent(logger: Logger) throws {
        if configCheck {
            print(try Agent.check(configFile: configFile, disabled: Set(disabledFeatures.compactMap(KernelFeatures.Feature.init)), logger: logger))
            return
        }
        var options = AgentOptions(configFile: configFile, addresses: try listenAddresses.map { try ListenAddress(parsing: $0) })
        options.telemetryPath = telemetryPath
        options.webConfigFile = webConfigFile
        options.enableLifecycle = enableLifecycle
        options.limits.maxConcurrentScrapes = maxRequests
        options.limits.maxConnections = maxConnections
        options.limits.idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1000))
        options.keepCapabilities = keepCapabilities == "all" ? nil : keepCapabilities.split(separator: ",").map(String.init)
        options.keepIsDefault = keepCapabilities == Self.defaultKeep
        options.disabledFeatures = Set(disabledFeatures.compactMap(KernelFeatures.Feature.init))
        try Agent.run(options, logger: logger)
    }

    /// Multi-line errors (a config with several issues) stay readable: one issue per line.
    static func oneLine(_ error: any Error) -> String {
        if let error = error as? ConfigError { return "invalid config:\n" + error.description }
        return "\(error)"
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
