import ErrnoKernel
import Foundation
import Logging
import Synchronization

/// Reads the kernel's watch events on a thread of its own and hands them to the registry; once a
/// second it lets the registry end watches out of time and announce drops.
public final class WatchEventPump: Sendable {
    private let registry: WatchRegistry
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    public init(registry: WatchRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Starts the thread on `kernel`'s watch event ring.
    public func start(reading kernel: KernelHandle) throws {
        let registry = self.registry
        nonisolated(unsafe) let ring = try kernel.watchEventRing { record in registry.deliver(record) }  // the thread's only
        running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in
            var lastTick = ContinuousClock.now
            while !stopping.load(ordering: .relaxed) {
                do {
                    try ring.poll(timeoutMilliseconds: 100)
                } catch {
                    logger.error("polling the watch events ring buffer failed", metadata: ["error": "\(error)"])
                    Thread.sleep(forTimeInterval: 0.1)
                }
                if ContinuousClock.now - lastTick >= .seconds(1) {
                    registry.tick()
                    lastTick = .now
                }
            }
            registry.shutdown()
            finished.signal()
        }
        thread.name = "watches"
        thread.start()
    }

    /// Stops the thread (ending every watch) and waits for it.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed), running.load(ordering: .relaxed) else { return }
        finished.wait()
    }
}
