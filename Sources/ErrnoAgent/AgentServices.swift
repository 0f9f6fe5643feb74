import AlertPolling
import Captures
import ErrnoMetrics
import ErrnoKernel
import ServiceLifecycle
import UnixSignals
import Watches

/// Runs the capture consumer's polling thread from start to shutdown.
struct CaptureService: Service {
    let consumer: CaptureConsumer
    let kernel: KernelHandle

    func run() async throws {
        try consumer.start(reading: kernel)
        try? await gracefulShutdown()
        consumer.stop()
    }
}

/// Runs the watch event pump's thread from start to shutdown (with investigations enabled); every
/// watch ends at shutdown.
struct WatchService: Service {
    let pump: WatchEventPump
    let kernel: KernelHandle

    func run() async throws {
        try pump.start(reading: kernel)
        try? await gracefulShutdown()
        pump.stop()
    }
}

/// Attaches async-stack uprobes to libuv binaries as processes start (every few seconds, only while
/// a trigger has async_stacks).
struct AsyncProbeRefresh: Service {
    let kernel: any KernelAccess

    func run() async throws {
        // Cancelled on graceful shutdown, and when another service fails (a port in use).
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                kernel.refreshAsyncProbes()
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}

/// Forgets what-fails-now's snapshots but the newest when nobody has looked for a while (every 30 s).
struct RecentFailuresSweep: Service {
    let recent: RecentFailures

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                recent.forgetIfIdle()
            }
        }
    }
}

/// Removes ephemeral triggers whose time has run out (every second, with investigations enabled).
struct EphemeralTriggerExpiry: Service {
    let reloader: ConfigReloader

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                reloader.expireEphemeral()
                try? await Task.sleep(for: .seconds(1))
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

/// Polls the configured Alertmanager peers (fleet mode) from start to shutdown; idle while the config
/// names none.
struct AlertPollService: Service {
    let poller: AlertmanagerPoller
    /// Listen addresses the server binds: the first poll waits for them (they identify this node).
    let listeners: Int

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await poller.run(listeners: listeners)
        }
    }
}
