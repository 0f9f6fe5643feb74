import ErrnoKernel
import Foundation

/// Capture records read from the ring, waiting for the thread that symbolizes them. Bounded: when
/// symbolizing falls behind, the reading thread waits here instead of taking more records, so the
/// kernel's ring buffer fills and counts what it refuses (`ring_buffer_full`) rather than this
/// queue growing without limit.
final class CaptureArrivals: @unchecked Sendable {
    /// A record as read (nil: a malformed one), with its process's start time when its maps were
    /// read on arrival.
    struct Arrival {
        var record: CaptureRecord?
        var processStart: UInt64?
    }

    private let condition = NSCondition()
    private var records: [Arrival] = []
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues `record` (nil: a malformed one), waiting while the queue is full. False once closed.
    @discardableResult
    func put(_ record: CaptureRecord?, processStart: UInt64? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while records.count >= capacity, !closed { condition.wait() }
        guard !closed else { return false }
        records.append(Arrival(record: record, processStart: processStart))
        condition.broadcast()
        return true
    }

    /// Every queued record, oldest first, after waiting up to `timeout` (on the monotonic clock)
    /// for one; empty when none came in time or the queue is closed.
    func take(waitingUpTo timeout: Duration) -> [Arrival] {
        let deadline = ContinuousClock.now + timeout
        condition.lock()
        defer { condition.unlock() }
        while records.isEmpty, !closed {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: min(Double(left.components.seconds) + Double(left.components.attoseconds) * 1e-18, 0.1)))
        }
        guard !closed else { return [] }
        let taken = records
        records.removeAll(keepingCapacity: true)
        condition.broadcast()
        return taken
    }

    /// Wakes both sides for good: `put` refuses, `take` returns nothing.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
