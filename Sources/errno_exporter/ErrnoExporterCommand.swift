import ArgumentParser
import BPFKit
import ErrnoConfig
import ErrnoCore
import ErrnoServer
import KernelNames
import Exposition
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The `errno_exporter` command: parses flags, loads the config, attaches the BPF program and
/// serves metrics until SIGTERM or SIGINT.
@main
struct ErrnoExporterCommand: AsyncParsableCommand {
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

    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log.format"), help: "Output format of log messages: logfmt or json.")
    var logFormat: LogFormat = .logfmt

    @Flag(name: .customLong("version"), help: "Show version, revision and libbpf version, then exit.")
    var showVersion = false

    func validate() throws {
        guard telemetryPath.hasPrefix("/"), telemetryPath.count > 1, !["/-/healthy", "/-/ready"].contains(telemetryPath) else {
            throw ValidationError("--web.telemetry-path must start with '/' and not be '/', '/-/healthy' or '/-/ready'")
        }
        for address in listenAddresses {
            do { _ = try ListenAddress(parsing: address) } catch { throw ValidationError("--web.listen-address: \(error)") }
        }
    }

    func run() async throws {
        if showVersion {
            print(BuildInfo.summary)
            return
        }
        let logger = LogSetup.bootstrap(level: logLevel.level, format: logFormat)
        do {
            try await runAgent(logger: logger)
        } catch let error as ExitCode {
            throw error
        } catch {
            logger.error("\(Self.oneLine(error))")
            throw ExitCode.failure
        }
    }

    private func runAgent(logger: Logger) async throws {
        let config = try ConfigLoader.load(path: configFile)
        if configCheck {
            try check(config: config, logger: logger)
            return
        }
        try Preflight.check()
        let (program, rewriter) = try prepare(config: config, logger: logger)
        let ready = Atomic<Bool>(false)
        try program.attach()
        ready.store(true, ordering: .releasing)
        logger.info("BPF program attached", metadata: ["version": "\(BuildInfo.version)", "revision": "\(BuildInfo.revision)", "libbpf": "\(BuildInfo.libbpfVersion)"])

        let gatherer = Gatherer(
            collectors: [FailureMetrics(program: program, rewriter: rewriter), BuildInfoCollector(), ProcessCollector()],
            durationMetricName: "errno_exporter_scrape_duration_seconds")
        let server = ExporterServer(
            addresses: try listenAddresses.map { try ListenAddress(parsing: $0) }, telemetryPath: telemetryPath,
            gatherer: gatherer, isReady: { ready.load(ordering: .acquiring) }, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: server.services(), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            throw Self.explainServe(error)
        }
        logger.info("shut down")
    }

    /// Opens and loads the program, writes the config's settings into its maps; not attached yet.
    private func prepare(config: Config, logger: Logger) throws -> (ErrnoProgram, PathRewriter) {
        let settings = try KernelSettings(config: config)
        if !settings.absentSyscalls.isEmpty {
            logger.debug(
                "paths.syscalls names syscalls this architecture does not have; skipped",
                metadata: ["syscalls": "\(settings.absentSyscalls.joined(separator: ","))", "arch": "\(SyscallNames.Architecture.current.rawValue)"])
        }
        let rewriter = try PathRewriter(config.paths.rewrite.map { ($0.regex, $0.replacement) })
        let program = try ErrnoProgram(config: config)
        try program.apply(settings)
        return (program, rewriter)
    }

    /// `--config.check`: the config parsed above; with privileges, also load, attach and detach.
    private func check(config: Config, logger: Logger) throws {
        if Preflight.missingCapabilities().isEmpty {
            let (program, _) = try prepare(config: config, logger: logger)
            try program.attach()
            program.detach()
            print("OK: \(configFile) is valid; the BPF programs load and attach")
        } else {
            print("OK: \(configFile) is valid (BPF load not checked: needs CAP_BPF and CAP_PERFMON)")
        }
    }

    static func explainServe(_ error: any Error) -> any Error {
        let text = "\(error)"
        if text.contains("Address already in use") || text.contains("EADDRINUSE") {
            return StartupError("cannot listen: address already in use (\(text)); pick a free --web.listen-address")
        }
        if text.contains("bind") || text.contains("Cannot assign requested address") {
            return StartupError("cannot listen: \(text); check --web.listen-address")
        }
        return error
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
