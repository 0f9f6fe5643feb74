import Synchronization

/// When each counter series was last known to be zero, for the `_created` and `created_timestamp`
/// of collectors that know only current values (self-metrics, trigger counters, process CPU): a
/// series first seen at 0 was created at that gather; one first seen above 0, or lower than before
/// (it was reset), at the previous gather, or at the first when counting began. Samples that carry
/// a created time already keep it. Holds only the series of the latest gather.
public final class CounterCreation: Sendable {
    private struct SeriesKey: Hashable {
        let family: String
        let labels: [Label]
    }

    private struct Known {
        var created: Double
        var value: Double
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
    /// gather that produced them began. A gather that began before the latest one stamped (scrapes
    /// run concurrently) only reuses what is known.
    public func stamp(_ families: inout [MetricFamily], gatheredAt: Double) {
        state.withLock { state in
            let inOrder = gatheredAt >= state.lastGather
            var seen: [SeriesKey: Known] = [:]
            for family in families.indices where families[family].type == .counter {
                let name = families[family].name
                for index in families[family].samples.indices where families[family].samples[index].created == nil {
                    let sample = families[family].samples[index]
                    let key = SeriesKey(family: name, labels: sample.labels)
                    let known = state.series[key]
                    guard inOrder else {
                        families[family].samples[index].created = known.flatMap { $0.created <= gatheredAt ? $0.created : nil }
                        continue
                    }
                    let created: Double
                    if let known, sample.value >= known.value {
                        created = known.created
                    } else {
                        created = sample.value == 0 ? gatheredAt : state.lastGather
                    }
                    seen[key] = Known(created: created, value: sample.value)
                    families[family].samples[index].created = created
                }
            }
            guard inOrder else { return }
            state.series = seen
            state.lastGather = gatheredAt
        }
    }
}
