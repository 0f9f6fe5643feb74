import Synchronization

/// How many times a closure under test was called (a release, a trim), from any thread.
final class CallCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }

    /// Waits until `value` is at least `expected`, for at most `seconds`; the value then.
    func waitFor(_ expected: Int, seconds: Double = 10) async -> Int {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while value < expected, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return value
    }
}
