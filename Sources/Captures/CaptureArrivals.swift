import ErrnoKernel
import Foundation

/// Capture records read from the ring, waiting for the thread that symbolizes them. Bounded: when
/// symbolizing falls behind, the reading thread waits here instead of taking more records, so the
/// kernel's ring buffer fills and counts what it refuses (`ring_buffer_full`) rather than this
/// queue growing without limit.
final class CaptureArrivals: @unchecked Sendable {
    private let condition = NSCondition()
    private var records: [CaptureRecord?] = []
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues `record` (nil: a malformed one), waiting while the queue is full. False once closed.
    @discardableResult
    func put(_ record: CaptureRecord?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while records.count >= capacity, !closed { condition.wait() }
        guard !closed else { return false }
        records.append(record)
        condition.broadcast()
        return true
    }

    /// Every queued record, oldest first, after waiting up to `timeout` for one; empty when none
    /// came in time or the queue is closed.
    func take(waitingUpTo timeout: Duration) -> [CaptureRecord?] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date() + Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
        while records.isEmpty, !closed, condition.wait(until: deadline) {}
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
