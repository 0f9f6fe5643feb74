import Captures
import ErrnoConfig
import ErrnoKernel
import Foundation
import Logging
import Synchronization
import SystemSupport

/// Ephemeral triggers (the investigations API): created and removed without a reload, applied to
/// the kernel together with the config's triggers, under the reloader's lock so a reload and a
/// create never interleave; removed when they expire (`expireEphemeral()`, every second).
extension ConfigReloader: EphemeralTriggerControl {
    public func addEphemeral(_ request: EphemeralTriggerRequest, by user: String) throws -> EphemeralTrigger {
        try state.withLock { state in
            let name = request.trigger.name
            if state.config.triggers.contains(where: { $0.name == name }) { throw EphemeralTriggerError.configured(name) }
            if state.ephemeral[name] != nil { throw EphemeralTriggerError.exists(name) }
            guard state.ephemeral.count < maxEphemeralTriggers else { throw EphemeralTriggerError.tooMany(limit: maxEphemeralTriggers) }
            let now = MonotonicClock.nanoseconds()
            let trigger = EphemeralTrigger(
                request: request, created: Date(), untilMonotonicNanoseconds: now &+ UInt64(request.durationSeconds) &* 1_000_000_000, createdBy: user)
            var ephemeral = state.ephemeral
            ephemeral[name] = trigger
            try apply(state.config, ephemeral)
            do {
                try triggers.armEphemeral(trigger)
            } catch {
                // Not armed: not kept either.
                try? apply(state.config, state.ephemeral)
                throw error
            }
            state.ephemeral = ephemeral
            logger.notice(
                "investigation: ephemeral trigger created",
                metadata: [
                    "user": "\(user)", "trigger": "\(name)", "paths": "\(trigger.trigger.paths)", "path_prefixes": "\(trigger.trigger.prefixes)",
                    "comm": "\(trigger.trigger.comm ?? "")", "pid": "\(request.pid.map(String.init) ?? "")", "duration": "\(DurationText.text(request.durationSeconds))",
                ])
            return trigger
        }
    }

    public func removeEphemeral(_ name: String, by user: String) throws {
        try state.withLock { state in
            guard state.ephemeral[name] != nil else {
                throw state.config.triggers.contains(where: { $0.name == name }) ? EphemeralTriggerError.configured(name) : .unknown(name)
            }
            var ephemeral = state.ephemeral
            ephemeral[name] = nil
            try apply(state.config, ephemeral)
            state.ephemeral = ephemeral
            logger.notice("investigation: ephemeral trigger deleted", metadata: ["user": "\(user)", "trigger": "\(name)"])
        }
    }

    /// Removes the ephemeral triggers whose time has run out.
    public func expireEphemeral() {
        state.withLock { state in
            let now = MonotonicClock.nanoseconds()
            let expired = state.ephemeral.values.filter { $0.untilMonotonicNanoseconds <= now }.map(\.name)
            guard !expired.isEmpty else { return }
            var ephemeral = state.ephemeral
            for name in expired { ephemeral[name] = nil }
            do {
                try apply(state.config, ephemeral)
                state.ephemeral = ephemeral
                for name in expired.sorted() { logger.notice("investigation: ephemeral trigger expired", metadata: ["trigger": "\(name)"]) }
            } catch {
                logger.error("removing expired ephemeral triggers failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Puts `config`'s triggers and `ephemeral` in force (kernel, then directory).
    private func apply(_ config: Config, _ ephemeral: [String: EphemeralTrigger]) throws {
        try kernel.apply(try Self.kernelSettings(config, ephemeral: ephemeral))
        triggers.replace(config.triggers, ephemeral: Array(ephemeral.values))
    }

    /// `config`'s kernel settings with the ephemeral triggers added (sorted by name), within the
    /// kernel's limits on triggers and paths.
    static func kernelSettings(_ config: Config, ephemeral: [String: EphemeralTrigger]) throws -> KernelSettings {
        var combined = config
        combined.triggers += ephemeral.values.sorted { $0.name < $1.name }.map(\.trigger)
        if combined.triggers.count > Config.maxTriggers {
            throw EphemeralTriggerError.noRoom("\(combined.triggers.count) triggers with the config's; the kernel holds \(Config.maxTriggers)")
        }
        for (kind, count) in [
            ("paths", combined.triggers.reduce(0) { $0 + Set($1.paths).count }), ("path prefixes", combined.triggers.reduce(0) { $0 + Set($1.prefixes).count }),
        ] where count > Config.maxTriggerPaths {
            throw EphemeralTriggerError.noRoom("\(count) \(kind) in all triggers; the kernel holds \(Config.maxTriggerPaths)")
        }
        return try combined.kernelSettings()
    }
}
