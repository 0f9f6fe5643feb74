import Captures
import ErrnoConfig
import Foundation
import Logging
import Synchronization

/// Fleet mode: every `poll_interval` asks each configured Alertmanager peer for its firing
/// `errno_exporter_trigger` alerts (peers do not replicate alerts, so the answers are united and a
/// dead peer is skipped), keeps those meant for this node (`AlertIdentity`) and arms their triggers
/// through the trigger directory — the webhook's semantics, alert by alert. The first poll runs at
/// start, so what fired while the agent was down arms at once. Counts polls, peers and alerts
/// (`AlertmanagerPoller+Metrics.swift`).
public final class AlertmanagerPoller: Sendable {
    struct PeerState {
        var polls: [PollOutcome: UInt64] = [:]
        var up = false
        var lastSuccess: Double = 0
    }

    struct State {
        var settings: Config.Alerts
        /// Bumped by every reload: a sleeping poll loop wakes within a second to take it.
        var generation = 0
        var boundAddresses: [String] = []
        /// Identities of the alerts the last successful poll saw for this node.
        var seen: Set<String> = []
        var peers: [String: PeerState] = [:]
        var thisNode = 0
        var otherNodes = 0
        var newAlerts: [PollArmingOutcome.Result: UInt64] = [:]
    }

    private let triggers: TriggerDirectory
    private let logger: Logger
    let state: Mutex<State>

    public init(settings: Config.Alerts, triggers: TriggerDirectory, logger: Logger) {
        self.triggers = triggers
        self.logger = logger
        state = Mutex(State(settings: settings))
    }

    /// Takes a reloaded config's `alerts` section; the next poll (within a second) uses it. Every
    /// firing alert counts as new again: a reload may have added the trigger it names.
    public func reconfigure(_ settings: Config.Alerts) {
        state.withLock { state in
            state.settings = settings
            state.generation += 1
            state.seen = []
            state.peers = state.peers.filter { settings.alertmanagerURLs.contains($0.key) }
        }
    }

    /// A listen address the server bound (port 0 resolved): part of how Prometheus names this node.
    public func listening(on address: String) {
        state.withLock { $0.boundAddresses.append(address) }
    }

    /// Polls until cancelled. `listeners`: the listen addresses the server binds; the first poll
    /// waits (at most a few seconds) until they are bound, since they say which alerts are this node's.
    public func run(listeners: Int) async {
        let bound = ContinuousClock.now.advanced(by: .seconds(5))
        while !Task.isCancelled, ContinuousClock.now < bound, state.withLock({ $0.boundAddresses.count }) < listeners {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var peers: AlertmanagerPeers?
        // The reload the client was made for: every reload makes a new one (certificate files may
        // have changed in place), and a refused TLS setup is retried only then.
        var madeFor: Int?
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let (settings, generation) = state.withLock { ($0.settings, $0.generation) }
            if madeFor != generation {
                madeFor = generation
                await peers?.shutdown()
                peers = nil
                if !settings.alertmanagerURLs.isEmpty {
                    do {
                        peers = try AlertmanagerPeers(settings)
                    } catch {
                        logger.error("cannot set up TLS for Alertmanager; not polling until a reload fixes it", metadata: ["error": "\(error)"])
                    }
                }
            }
            if let peers { await poll(peers, generation: generation) }
            // Every interval from the last start (a dead peer's timeout does not stretch it), or
            // sooner after a reload.
            let next = started.advanced(by: .seconds(settings.pollIntervalSeconds))
            while !Task.isCancelled, ContinuousClock.now < next, state.withLock({ $0.generation }) == generation {
                try? await Task.sleep(until: min(next, ContinuousClock.now.advanced(by: .seconds(1))))
            }
        }
        await peers?.shutdown()
    }

    /// One poll: every peer at once, each bounded by the timeout; the union of the answers armed —
    /// unless a reload (a newer `generation`) came meanwhile: the next poll uses its settings.
    func poll(_ peers: AlertmanagerPeers, generation: Int) async {
        let settings = peers.settings
        let answers = await withTaskGroup(of: (String, Result<[FiringAlert], PollFailure>).self) { group in
            for peer in settings.alertmanagerURLs {
                group.addTask { (peer, await Self.bounded(seconds: settings.timeoutSeconds) { await peers.alerts(from: peer) }) }
            }
            var answers: [(String, Result<[FiringAlert], PollFailure>)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        var united: [String: (alert: FiringAlert, peers: [String])] = [:]
        var answered = false, allAnswered = true
        let order = Dictionary(uniqueKeysWithValues: settings.alertmanagerURLs.enumerated().map { ($1, $0) })
        for (peer, answer) in answers.sorted(by: { order[$0.0, default: 0] < order[$1.0, default: 0] }) {
            switch answer {
            case .success(let alerts):
                answered = true
                if state.withLock({ $0.peers[peer].map { !$0.up } ?? false }) {
                    logger.info("Alertmanager peer polled again", metadata: ["peer": "\(peer)"])
                }
                for alert in alerts { united[alert.identity, default: (alert, [])].peers.append(peer) }
            case .failure(let failure):
                allAnswered = false
                let wasUp = state.withLock { $0.peers[peer]?.up ?? true }
                if wasUp { logger.warning("Alertmanager peer not polled; the other peers still are", metadata: ["peer": "\(peer)", "error": "\(failure)"]) }
            }
            record(peer, answer)
        }
        let (boundAddresses, seenBefore, current) = state.withLock { ($0.boundAddresses, $0.seen, $0.generation) }
        guard answered, current == generation else { return }
        let identity = AlertIdentity(settings, boundAddresses: boundAddresses)
        // Keyed by identity already: sorted by key, so no alert's identity is built again.
        let mine = united.filter { identity.isForThisNode($0.value.alert.labels) }.sorted { $0.key < $1.key }
        let outcome = triggers.arm(polled: mine.map { ($0.value.alert, $0.value.peers) }, seenBefore: seenBefore, logger: logger)
        state.withLock { state in
            guard state.generation == generation else { return }
            // An alert only a silent peer listed is not forgotten: it is not new when the peer is back.
            state.seen = Set(mine.map(\.key)).union(allAnswered ? [] : seenBefore)
            state.thisNode = mine.count
            state.otherNodes = united.count - mine.count
            for (result, count) in outcome.new { state.newAlerts[result, default: 0] += UInt64(count) }
        }
    }

    private func record(_ peer: String, _ answer: Result<[FiringAlert], PollFailure>) {
        state.withLock { state in
            var peerState = state.peers[peer] ?? PeerState()
            switch answer {
            case .success:
                peerState.polls[.success, default: 0] += 1
                peerState.up = true
                peerState.lastSuccess = Date().timeIntervalSince1970
            case .failure(let failure):
                peerState.polls[failure.outcome, default: 0] += 1
                peerState.up = false
            }
            state.peers[peer] = peerState
        }
    }

    /// `work`, cancelled and failed when it takes longer than `seconds` (a peer trickling its answer).
    static func bounded(
        seconds: Int, _ work: @escaping @Sendable () async -> Result<[FiringAlert], PollFailure>
    ) async -> Result<[FiringAlert], PollFailure> {
        await withTaskGroup(of: Result<[FiringAlert], PollFailure>?.self) { group in
            group.addTask { await work() }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return Task.isCancelled ? nil : .failure(.unreachable("no complete answer within \(seconds)s"))
            }
            var result: Result<[FiringAlert], PollFailure> = .failure(.unreachable("cancelled"))
            for await answer in group {
                if let answer {
                    result = answer
                    group.cancelAll()
                    break
                }
            }
            return result
        }
    }
}
