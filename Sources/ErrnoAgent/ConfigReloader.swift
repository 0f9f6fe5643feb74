import AlertPolling
import Captures
import ErrnoConfig
import ErrnoKernel
import ErrnoMetrics
import Exposition
import Foundation
import Logging
import Stacks
import Synchronization

/// Holds the running config and swaps in new ones on SIGHUP or `POST /-/reload`: parse → validate →
/// resolve (cgroups, names) → apply to the running program's maps, then to the metrics and the
/// captures; or keep the old config in force and say why. Nothing is detached and no counter is
/// reset by a reload. Also keeps the ephemeral triggers of the investigations API, applied with the
/// config's triggers (`ConfigReloader+Ephemeral.swift`): a reload keeps them.
public final class ConfigReloader: Collector {
    struct State {
        var config: Config
        var lastSuccessful = true
        var lastSuccessTime: Double
        var ephemeral: [String: EphemeralTrigger] = [:]
    }

    public let path: String
    let kernel: any KernelAccess
    private let metrics: FailureMetrics
    let triggers: TriggerDirectory
    private let captures: CaptureStore
    private let poller: AlertmanagerPoller
    private let debugInfo: DebugInfoFetcher
    let logger: Logger
    let state: Mutex<State>
    /// Ephemeral triggers at most at once.
    let maxEphemeralTriggers: Int

    /// `config` is the one the agent started with, already applied everywhere.
    public init(
        path: String, config: Config, kernel: any KernelAccess, metrics: FailureMetrics, triggers: TriggerDirectory, captures: CaptureStore,
        poller: AlertmanagerPoller, debugInfo: DebugInfoFetcher, maxEphemeralTriggers: Int = 0, logger: Logger
    ) {
        self.maxEphemeralTriggers = maxEphemeralTriggers
        self.path = path
        self.debugInfo = debugInfo
        self.kernel = kernel
        self.metrics = metrics
        self.triggers = triggers
        self.captures = captures
        self.poller = poller
        self.logger = logger
        state = Mutex(State(config: config, lastSuccessTime: Date().timeIntervalSince1970))
    }

    /// Reloads the file; throws (and keeps the running config) when it cannot be applied as a whole.
    public func reload() throws {
        try state.withLock { state in
            do {
                let new = try ConfigLoader.load(path: path)
                try Self.checkRestartOnly(from: state.config, to: new)
                if let clash = new.triggers.first(where: { state.ephemeral[$0.name] != nil }) {
                    throw StartupError("trigger \"\(clash.name)\" is an ephemeral trigger's name: delete that one first (DELETE /api/v1/triggers/\(clash.name))")
                }
                let settings = try Self.kernelSettings(new, ephemeral: state.ephemeral)
                let rewriter = try PathRewriter(new.paths.rewrite)
                let debuginfod = try debugInfo.prepare(new.symbolization.debuginfod)
                try kernel.apply(settings)
                triggers.replace(new.triggers, ephemeral: Array(state.ephemeral.values))
                metrics.reconfigure(new, rewriter: rewriter)
                captures.resize(new.captures.keep)
                poller.reconfigure(new.alerts)
                debugInfo.apply(debuginfod)
                state.config = new
                state.lastSuccessful = true
                state.lastSuccessTime = Date().timeIntervalSince1970
                logger.info("config reloaded", metadata: ["file": "\(path)"])
            } catch {
                state.lastSuccessful = false
                logger.error("config reload failed; the previous config stays in force", metadata: ["file": "\(path)", "error": "\(error)"])
                throw error
            }
        }
    }

    /// Map sizes are fixed when the BPF program loads: changing them needs a restart.
    static func checkRestartOnly(from old: Config, to new: Config) throws {
        var changes: [String] = []
        if old.syscalls.maxSeries != new.syscalls.maxSeries {
            changes.append("syscalls.max_series (\(old.syscalls.maxSeries) → \(new.syscalls.maxSeries))")
        }
        if old.paths.maxSeries != new.paths.maxSeries {
            changes.append("paths.max_series (\(old.paths.maxSeries) → \(new.paths.maxSeries))")
        }
        if old.captures.bufferBytes != new.captures.bufferBytes {
            changes.append("captures.buffer_bytes (\(old.captures.bufferBytes) → \(new.captures.bufferBytes))")
        }
        if old.captures.userStackBytes != new.captures.userStackBytes {
            changes.append("captures.user_stack_bytes (\(old.captures.userStackBytes) → \(new.captures.userStackBytes))")
        }
        if !changes.isEmpty {
            throw StartupError(
                "\(changes.joined(separator: " and ")) can only change at a restart: BPF map sizes are fixed when the program loads; "
                    + "restart errno_exporter to apply them (nothing of this config was applied)")
        }
    }

    public func collect() throws -> [MetricFamily] {
        let (successful, time) = state.withLock { ($0.lastSuccessful, $0.lastSuccessTime) }
        return [
            MetricFamily(
                name: "errno_exporter_config_last_reload_successful", help: "Whether the last configuration reload attempt was successful.",
                type: .gauge, samples: [Sample(value: successful ? 1 : 0)]),
            MetricFamily(
                name: "errno_exporter_config_last_reload_success_timestamp_seconds", help: "Timestamp of the last successful configuration reload.",
                type: .gauge, samples: [Sample(value: time)]),
        ]
    }
}
