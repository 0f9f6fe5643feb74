import Synchronization

/// When each counter series was last known to be zero, for the `_created` and `created_timestamp`
/// of collectors that know only current values (self-metrics, trigger counters, process CPU): a
/// series first seen at 0 was created at that gather; one first seen above 0, or lower than before
/// (it was reset), at the previous gather, or at the first when counting began. Samples that carry
/// a created time already keep it. A series is forgotten when its family comes without it; a family
/// missing from a gather (its collector failed) keeps its series as they were.
public final class CounterCreation: Sendable {
    private struct SeriesKey: Hashable {
        let family: String
        let labels: [Label]
    }

    private struct Known {
        var created: Double
        var value: Double
        /// When the gather that read `value` had finished collecting: only a gather that began
        /// after that read later (concurrent scrapes finish out of order).
        var readBy: Double
    }

    private struct State {
        var series: [SeriesKey: Known] = [:]
        var lastGather: Double
    }

    private let state: Mutex<State>

    /// `countingSince`: a time (seconds since the epoch) at which every counter was still zero.
    public init(countingSince: Double) {
        state = Mutex(State(lastGather: countingSince))
    }

    /// Sets `created` on the counter samples of `families` that have none; `gatheredAt` is when the
    /// gather that produced them began, `collectedAt` when its collectors were done. A gather that
    /// began before the latest one stamped (scrapes run concurrently) only reuses what is known.
    public func stamp(_ families: inout [MetricFamily], gatheredAt: Double, collectedAt: Double) {
        state.withLock { state in
            let inOrder = gatheredAt >= state.lastGather
            var seen: [SeriesKey: Known] = [:]
            var gatheredFamilies: Set<String> = []
            for family in families.indices where families[family].type == .counter {
                gatheredFamilies.insert(families[family].name)
                let name = families[family].name
                for index in families[family].samples.indices where families[family].samples[index].created == nil {
                    let sample = families[family].samples[index]
                    let key = SeriesKey(family: name, labels: sample.labels)
                    let known = state.series[key]
                    guard inOrder else {
                        families[family].samples[index].created = known.flatMap { $0.created <= gatheredAt ? $0.created : nil }
                        continue
                    }
                    var stamped = Known(created: gatheredAt, value: sample.value, readBy: collectedAt)
                    if let known, sample.value >= known.value {
                        stamped.created = known.created
                    } else if let known, gatheredAt < known.readBy {
                        // Lower, but perhaps read before the higher value was: not a reset.
                        stamped = known
                    } else if sample.value != 0 {
                        stamped.created = state.lastGather
                    }
                    seen[key] = stamped
                    families[family].samples[index].created = stamped.created
                }
            }
            guard inOrder else { return }
            state.series = state.series.filter { !gatheredFamilies.contains($0.key.family) }.merging(seen) { $1 }
            state.lastGather = gatheredAt
        }
    }
}
