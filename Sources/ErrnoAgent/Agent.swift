import AlertPolling
import CMalloc
import Captures
import Dispatch
import ErrnoConfig
import ErrnoKernel
import ErrnoMetrics
import ErrnoServer
import Exposition
import Foundation
import KernelNames
import Logging
import ServiceLifecycle
import Stacks
import Synchronization
import UnixSignals
import Watches

/// The agent: loads and attaches the BPF program with every privilege it started with, drops them,
/// builds the metrics, the capture path and the HTTP server on the kernel handle, and serves until
/// SIGTERM or SIGINT.
///
/// Synchronous on purpose: capabilities are per thread, so the privileged part (load, attach, drop
/// capabilities) runs on the calling (main) thread before any other thread exists; every thread
/// started afterwards — Swift's pool, NIO's event loops — inherits the reduced set.
public enum Agent {
    /// Runs until shutdown; throws what kept it from starting.
    public static func run(_ options: AgentOptions, logger: Logger) throws {
        DebuginfodEnvironment.reserve()
        returnLargeBlocksToTheSystem()
        let config = try ConfigLoader.load(path: options.configFile)
        raiseFileLimit(logger: logger)
        try Preflight.check()
        let keepMask = try capabilitiesToKeep(options, config: config, logger: logger)
        let webConfig = try options.webConfigFile.map { ($0, try WebConfigLoader.load(path: $0)) }
        let authentication = webConfig.map { BasicAuthentication(path: $0.0, initial: $0.1, logger: logger) }
        let tls = try webConfig?.1.tls.map { try TLSSetup.configuration($0, logger: logger) }
        let kernel = try prepare(config: config, disabled: options.disabledFeatures, logger: logger)
        // Kernel symbol addresses are hidden without CAP_SYSLOG: read them while it is held.
        let kernelSymbols = KernelSymbols()
        let countingSince = Date().timeIntervalSince1970
        try kernel.attach()
        kernel.refreshAsyncProbes()  // while every capability is still held
        if let keepMask {
            try Capabilities.keepOnly(keepMask)
            logger.info("dropped capabilities", metadata: ["kept": "\(Capabilities.names(in: keepMask).joined(separator: ","))"])
        }
        logger.info("BPF program attached", metadata: ["version": "\(BuildInfo.version)", "revision": "\(BuildInfo.revision)", "libbpf": "\(BuildInfo.libbpfVersion)"])

        let connections = ConnectionGate(maxConnections: options.limits.maxConnections, logger: logger)
        let parts = try Parts(
            config: config, kernel: kernel, kernelSymbols: kernelSymbols, countingSince: countingSince, options: options, extra: [connections], logger: logger)
        let startupCode = StartupCode(listeners: options.addresses.count, logger: logger)
        let heapTrimmer = HeapTrimmer()
        let server = ExporterServer(
            addresses: options.addresses, telemetryPath: options.telemetryPath, gatherer: parts.gatherer,
            isReady: { kernel.isAttached }, reload: options.enableLifecycle ? { @Sendable in try parts.reloader.reload() } : nil,
            limits: options.limits, authentication: authentication, tls: tls,
            captures: CaptureAPI(
                store: parts.store, triggers: parts.triggers, webhook: parts.webhook,
                investigations: options.enableInvestigations
                    ? InvestigationAPI(
                        triggers: parts.reloader, watches: parts.watches, defaultDurationSeconds: AgentOptions.defaultInvestigationSeconds,
                        maxDurationSeconds: options.maxInvestigationSeconds) : nil),
            connections: connections,
            openMetricsCreatedSamples: options.openMetricsCreatedSamples, recent: parts.recent,
            afterScrape: { succeeded in
                heapTrimmer.scrapeAnswered()
                if succeeded { startupCode.scrapeServed() }
            }, logger: logger)
        let poller = parts.poller
        let services: [any Service] =
            [CaptureService(consumer: parts.consumer, kernel: kernel), AsyncProbeRefresh(kernel: kernel)]
            + (try server.services(onListening: {
                poller.listening(on: $0)
                startupCode.listening()
            }))
            + [ReloadOnHangup(reloader: parts.reloader), AlertPollService(poller: poller, listeners: options.addresses.count)]
            + [RecentFailuresSweep(recent: parts.recent)]
            + (options.enableInvestigations
                ? [EphemeralTriggerExpiry(reloader: parts.reloader), WatchService(pump: WatchEventPump(registry: parts.watches, logger: logger), kernel: kernel)]
                : [])
        try waitFor {
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                throw explainServe(error)
            }
        }
        kernel.detach()
        logger.info("shut down")
    }

    /// Raises the soft limit on open files to the hard one: connections are capped by
    /// --web.max-connections, and the capture thread opens files of its own.
    static func raiseFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let soft = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.debug("raised the open-file limit", metadata: ["from": "\(soft)", "to": "\(limit.rlim_max)"])
        }
    }

    /// Blocks of `largeBlockBytes` and more (a scrape's text and gzip buffers, a map's batch read)
    /// get mappings of their own, unmapped when freed. glibc's default raises that threshold to the
    /// largest block freed so far, after which every scrape's buffers stay in the heap for good:
    /// 6–7 MiB of RSS at 10,000 path series, measured.
    static func returnLargeBlocksToTheSystem() {
        _ = errno_set_mmap_threshold(largeBlockBytes)
    }

    static let largeBlockBytes: Int32 = 128 << 10

    /// `--config.check`: the config parsed; with privileges, also load, attach and detach.
    public static func check(_ options: AgentOptions, logger: Logger) throws -> String {
        let config = try ConfigLoader.load(path: options.configFile)
        guard Preflight.missingCapabilities().isEmpty else {
            return "OK: \(options.configFile) is valid (BPF load not checked: needs CAP_BPF and CAP_PERFMON)"
        }
        let kernel = try prepare(config: config, disabled: options.disabledFeatures, logger: logger)
        try kernel.attach()
        kernel.detach()
        return (["OK: \(options.configFile) is valid; the BPF programs load and attach"] + featureLines(kernel.features)).joined(separator: "\n")
    }

    /// What this binary is (`--version`).
    public static var versionSummary: String { BuildInfo.summary }

    /// An error as the one log line (or, for a config with several problems, lines) a user reads.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? ConfigError { return "invalid config:\n" + error.description }
        return "\(error)"
    }

    /// Every part built on the kernel handle: the capture path, the metrics, the webhook, the
    /// Alertmanager poller, the reloader.
    struct Parts {
        let store: CaptureStore
        let triggers: TriggerDirectory
        let consumer: CaptureConsumer
        let webhook: AlertWebhook
        let poller: AlertmanagerPoller
        let reloader: ConfigReloader
        let watches: WatchRegistry
        let recent: RecentFailures
        let gatherer: Gatherer

        /// `extra`: collectors of the parts built outside (the HTTP server's); `countingSince`: a time
        /// (seconds since the epoch) before the kernel began counting.
        init(
            config: Config, kernel: KernelHandle, kernelSymbols: KernelSymbols, countingSince: Double, options: AgentOptions, extra: [any Collector],
            logger: Logger
        ) throws {
            let store = CaptureStore(capacity: config.captures.keep)
            self.store = store
            triggers = TriggerDirectory(kernel: kernel, triggers: config.triggers)
            let debugInfo = DebugInfoFetcher { buildID, outcome, detail in
                let metadata: Logger.Metadata = ["build_id": "\(buildID)", "outcome": "\(outcome.rawValue)", "detail": "\(detail)"]
                switch outcome {
                case .downloaded, .cached: logger.info("debug file fetched", metadata: metadata)
                case .notFound: logger.debug("no debuginfod server has the debug file", metadata: metadata)
                case .failed, .timedOut, .invalid, .dropped: logger.warning("fetching a debug file failed", metadata: metadata)
                }
            }
            try debugInfo.configure(config.symbolization.debuginfod)
            consumer = CaptureConsumer(
                kernel: kernel, store: store, resolver: StackResolver(kernelSymbols: kernelSymbols, debugInfo: debugInfo), logger: logger)
            let rewriter = try PathRewriter(config.paths.rewrite)
            let metrics = FailureMetrics(kernel: kernel, config: config, rewriter: rewriter, countingSince: countingSince, exemplars: { Self.exemplars(store) })
            webhook = AlertWebhook(triggers: triggers, logger: logger)
            poller = AlertmanagerPoller(settings: config.alerts, triggers: triggers, logger: logger)
            reloader = ConfigReloader(
                path: options.configFile, config: config, kernel: kernel, metrics: metrics, triggers: triggers, captures: store, poller: poller,
                debugInfo: debugInfo, maxEphemeralTriggers: options.enableInvestigations ? options.maxEphemeralTriggers : 0, logger: logger)
            watches = WatchRegistry(kernel: kernel, maxWatches: options.maxWatches, logger: logger)
            recent = RecentFailures(kernel: kernel)
            recent.takeBaseline()
            gatherer = Gatherer(
                collectors: [metrics, triggers, consumer, debugInfo, webhook, poller, reloader, watches] + extra + [BuildInfoCollector(), ProcessCollector()],
                durationMetricName: "errno_exporter_scrape_duration_seconds",
                // The process's own counters (CPU time) began with it, the rest with the kernel's.
                countingSince: min(ProcessCollector.startTime() ?? countingSince, countingSince))
        }

        /// The stored captures of failures, oldest first, as the path counter's exemplars.
        static func exemplars(_ store: CaptureStore) -> [FailureExemplar] {
            guard !store.isEmpty else { return [] }
            return store.list().reversed().compactMap { capture in
                capture.errno.map { errno in
                    FailureExemplar(
                        syscall: capture.syscall, path: capture.path, errno: errno, comm: capture.comm,
                        exemplar: Exemplar(labels: [Label("capture_id", String(capture.id))], value: 1, timestamp: capture.time.timeIntervalSince1970))
                }
            }
        }
    }

    /// Opens and loads the program, writes the config's settings into its maps; not attached yet.
    static func prepare(config: Config, disabled: Set<KernelFeatures.Feature>, logger: Logger) throws -> KernelHandle {
        let settings = try config.kernelSettings()
        let absent = config.absentPathSyscalls()
        if !absent.isEmpty {
            logger.debug(
                "paths.syscalls names syscalls this architecture does not have; skipped",
                metadata: ["syscalls": "\(absent.joined(separator: ","))", "arch": "\(SyscallNames.Architecture.current.rawValue)"])
        }
        var options = config.kernelOptions
        options.features = try KernelFeatures.probe()
        options.features.available.subtract(disabled)
        report(options.features, config: config, logger: logger)
        let kernel = try KernelHandle(options: options, logger: logger)
        try kernel.apply(settings)
        return kernel
    }

    /// One log line per missing kernel feature: what it costs and the kernel that brings it.
    static func report(_ features: KernelFeatures, config: Config, logger: Logger) {
        for feature in features.missing {
            let used = switch feature {
            case .captures, .vmaIterator: !config.triggers.isEmpty
            case .uprobeCookies: config.triggers.contains(where: \.asyncStacks)
            case .ancestorCgroup: !config.filters.cgroups.isEmpty
            case .taskBTF: true
            }
            let level: Logger.Level = used && feature != .taskBTF ? .warning : .info
            logger.log(
                level: level, "kernel feature missing",
                metadata: ["feature": "\(feature.rawValue)", "since": "\(feature.since)", "without_it": "\(feature.withoutIt)"])
        }
    }

    /// `--config.check`'s lines about the kernel: each feature, present or what its absence costs.
    static func featureLines(_ features: KernelFeatures) -> [String] {
        KernelFeatures.Feature.allCases.map { feature in
            features.has(feature) ? "kernel feature \(feature.rawValue): yes" : "kernel feature \(feature.rawValue): no (\(feature.since)) — \(feature.withoutIt)"
        }
    }

    /// The capability mask to keep after attaching; nil to keep all.
    static func capabilitiesToKeep(_ options: AgentOptions, config: Config, logger: Logger) throws -> UInt64? {
        guard var keep = options.keepCapabilities else { return nil }
        if options.keepIsDefault, config.triggers.contains(where: \.asyncStacks) {
            keep += Capabilities.asyncStacksKeep
            logger.info(
                "async_stacks: keeping CAP_PERFMON and CAP_SYS_ADMIN to attach uprobes to Node.js binaries started later (--capabilities.keep overrides)")
        }
        return try Capabilities.mask(keep)
    }

    /// Runs async work from the synchronous caller and blocks its thread until it ends.
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
}
