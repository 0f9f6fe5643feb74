import Exposition
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// A cap on the connections open at once, across every listen address: a connection beyond it is
/// closed as it is accepted (counted, logged at most once a minute), so idle clients cannot exhaust
/// the agent's file descriptors and starve scrapes, captures and health checks.
public final class ConnectionGate: Collector, Sendable {
    private struct State {
        var open = 0
        var refused: UInt64 = 0
        var lastLogged: ContinuousClock.Instant?
    }

    public let maxConnections: Int
    private let logger: Logger
    private let state = Mutex(State())

    public init(maxConnections: Int, logger: Logger) {
        self.maxConnections = maxConnections
        self.logger = logger
    }

    /// Takes a slot for a new connection; false (and counted) when all are taken.
    func admit() -> Bool {
        let (admitted, log) = state.withLock { state -> (Bool, Bool) in
            guard state.open < maxConnections else {
                state.refused += 1
                let now = ContinuousClock.now
                let log = state.lastLogged.map { now - $0 > .seconds(60) } ?? true
                if log { state.lastLogged = now }
                return (false, log)
            }
            state.open += 1
            return (true, false)
        }
        if log {
            logger.warning(
                "connection refused: too many open connections (--web.max-connections); logged at most once a minute",
                metadata: ["max": "\(maxConnections)"])
        }
        return admitted
    }

    func release() { state.withLock { $0.open -= 1 } }

    /// `child`, admitted through this gate.
    func guarding(_ child: some ServerChildChannel) -> any ServerChildChannel {
        GatedChannel(inner: child, gate: self)
    }

    public func collect() throws -> [MetricFamily] {
        let (open, refused) = state.withLock { ($0.open, $0.refused) }
        return [
            MetricFamily(
                name: "errno_exporter_http_connections", help: "HTTP connections open now (at most --web.max-connections).",
                type: .gauge, samples: [Sample(value: Double(open))]),
            MetricFamily(
                name: "errno_exporter_http_connections_refused_total", help: "Connections closed on accept because --web.max-connections were open.",
                type: .counter, samples: [Sample(value: Double(refused))]),
        ]
    }
}

/// A server child channel that opens only with a slot of its gate, and frees it on close.
struct GatedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let gate: ConnectionGate

    struct Refused: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard gate.admit() else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        let gate = self.gate
        channel.closeFuture.whenComplete { _ in gate.release() }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
