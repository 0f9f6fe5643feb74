import ArgumentParser
import Dispatch
import BPFKit
import ErrnoConfig
import ErrnoCore
import ErrnoServer
import KernelNames
import Exposition
import Logging
import ServiceLifecycle
import Stacks
import Synchronization
import UnixSignals

/// The `errno_exporter` command: parses flags, loads the config, attaches the BPF program and
/// serves metrics until SIGTERM or SIGINT.
///
/// Synchronous on purpose: capabilities are per thread, so the privileged part (load, attach, drop
/// capabilities) runs on the main thread before any other thread exists; every thread started
/// afterwards — Swift's pool, NIO's event loops — inherits the reduced set.
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

    @Option(name: .customLong("web.idle-timeout"), help: "Seconds before a connection that sends nothing is closed.")
    var idleTimeoutSeconds = 60.0

    @Option(
        name: .customLong("capabilities.keep"),
        help: "Capabilities kept after the BPF programs are attached, comma-separated, or 'all' to keep every one. CAP_BPF is needed for map reads.")
    var keepCapabilities = Self.defaultKeep

    static let defaultKeep = Capabilities.defaultKeep.joined(separator: ",")

    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log.format"), help: "Output format of log messages: logfmt or json.")
    var logFormat: LogFormat = .logfmt

    @Flag(name: .customLong("version"), help: "Show version, revision and libbpf version, then exit.")
    var showVersion = false

    func validate() throws {
        guard maxRequests >= 1 else { throw ValidationError("--web.max-requests must be at least 1") }
        guard idleTimeoutSeconds > 0 else { throw ValidationError("--web.idle-timeout must be positive") }
        guard telemetryPath.hasPrefix("/"), telemetryPath.count > 1, !["/-/healthy", "/-/ready"].contains(telemetryPath) else {
            throw ValidationError("--web.telemetry-path must start with '/' and not be '/', '/-/healthy' or '/-/ready'")
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
        let config = try ConfigLoader.load(path: configFile)
        if configCheck {
            try check(config: config, logger: logger)
            return
        }
        try Preflight.check()
        var keep = keepCapabilities.split(separator: ",").map(String.init)
        if keepCapabilities == Self.defaultKeep, config.triggers.contains(where: \.asyncStacks) {
            keep += Capabilities.asyncStacksKeep
            logger.info(
                "async_stacks: keeping CAP_PERFMON and CAP_SYS_ADMIN to attach uprobes to Node.js binaries started later (--capabilities.keep overrides)")
        }
        let keepMask = keepCapabilities == "all" ? nil : try Capabilities.mask(keep)
        let addresses = try listenAddresses.map { try ListenAddress(parsing: $0) }
        let webConfig = try webConfigFile.map { ($0, try WebConfigLoader.load(path: $0)) }
        let authentication = webConfig.map { BasicAuthentication(path: $0.0, initial: $0.1, logger: logger) }
        let tls = try webConfig?.1.tls.map { try TLSSetup.configuration($0, logger: logger) }
        let (program, settings, rewriter) = try prepare(config: config, logger: logger)
        // Kernel symbol addresses are hidden without CAP_SYSLOG: read them while it is held.
        let kernelSymbols = KernelSymbols()
        try program.attach()
        program.refreshAsyncProbes()  // while every capability is still held
        if let keepMask {
            try Capabilities.keepOnly(keepMask)
            logger.info("dropped capabilities", metadata: ["kept": "\(Capabilities.names(in: keepMask).joined(separator: ","))"])
        }
        logger.info("BPF program attached", metadata: ["version": "\(BuildInfo.version)", "revision": "\(BuildInfo.revision)", "libbpf": "\(BuildInfo.libbpfVersion)"])

        let store = CaptureStore(capacity: config.captures.keep)
        let consumer = try CaptureConsumer(program: program, store: store, kernelSymbols: kernelSymbols, logger: logger)
        let metrics = FailureMetrics(program: program, settings: settings, rewriter: rewriter, captures: store)
        let reloader = ConfigReloader(path: configFile, config: config, metrics: metrics, captures: store, logger: logger)
        let alerts = AlertReceiver(metrics: metrics, logger: logger)
        let gatherer = Gatherer(
            collectors: [metrics, consumer, alerts, reloader, BuildInfoCollector(), ProcessCollector()],
            durationMetricName: "errno_exporter_scrape_duration_seconds")
        let reload: (@Sendable () throws -> Void)? = enableLifecycle ? { @Sendable in try reloader.reload() } : nil
        var limits = ServerLimits()
        limits.maxConcurrentScrapes = maxRequests
        limits.idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1000))
        let server = ExporterServer(
            addresses: addresses, telemetryPath: telemetryPath, gatherer: gatherer,
            isReady: { metrics.isAttached }, reload: reload, limits: limits, authentication: authentication, tls: tls,
            captures: CaptureAPI(store: store, triggerStatuses: { try metrics.triggerStatuses() }, alerts: alerts), logger: logger)
        let services: [any Service] =
            [CaptureService(consumer: consumer), AsyncProbeRefresh(metrics: metrics)] + (try server.services()) + [ReloadOnHangup(reloader: reloader)]
        try Self.waitFor {
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                throw Self.explainServe(error)
            }
        }
        logger.info("shut down")
    }

    /// Runs async work from the synchronous command and blocks the main thread until it ends.
    static func waitFor(_ work: @escaping @Sendable () async throws -> Void) throws {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await work()
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }?.get()
    }

    /// Opens and loads the program, writes the config's settings into its maps; not attached yet.
    private func prepare(config: Config, logger: Logger) throws -> (ErrnoProgram, KernelSettings, PathRewriter) {
        let settings = try KernelSettings(config: config)
        if !settings.absentSyscalls.isEmpty {
            logger.debug(
                "paths.syscalls names syscalls this architecture does not have; skipped",
                metadata: ["syscalls": "\(settings.absentSyscalls.joined(separator: ","))", "arch": "\(SyscallNames.Architecture.current.rawValue)"])
        }
        let rewriter = try PathRewriter(config.paths.rewrite.map { ($0.regex, $0.replacement) })
        let program = try ErrnoProgram(config: config, logger: logger)
        try program.apply(settings)
        return (program, settings, rewriter)
    }

    /// `--config.check`: the config parsed above; with privileges, also load, attach and detach.
    private func check(config: Config, logger: Logger) throws {
        if Preflight.missingCapabilities().isEmpty {
            let (program, _, _) = try prepare(config: config, logger: logger)
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

/// Runs the capture consumer's polling thread from start to shutdown.
struct CaptureService: Service {
    let consumer: CaptureConsumer

    func run() async throws {
        try consumer.start()
        try? await gracefulShutdown()
        consumer.stop()
    }
}

/// Attaches async-stack uprobes to libuv binaries as processes start (every few seconds, only while
/// a trigger has async_stacks).
struct AsyncProbeRefresh: Service {
    let metrics: FailureMetrics

    func run() async throws {
        // Cancelled on graceful shutdown, and when another service fails (a port in use).
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                metrics.refreshAsyncProbes()
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}

/// Reloads the config on every SIGHUP until shutdown (a failed reload is logged and leaves the
/// running config in force).
struct ReloadOnHangup: Service {
    let reloader: ConfigReloader

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            try? reloader.reload()
        }
    }
}
