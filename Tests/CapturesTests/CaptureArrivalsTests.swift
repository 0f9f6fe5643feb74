import Foundation
import Synchronization
import Testing

@testable import Captures

@Suite(.timeLimit(.minutes(5))) struct CaptureArrivalsTests {
    @Test func aFullQueueHoldsItsReaderUntilTheRecordsAreTaken() async throws {
        let arrivals = CaptureArrivals(capacity: 2)
        #expect(arrivals.put(nil) && arrivals.put(nil, processStart: 7))
        let third = Atomic<Int>(0)  // 0: waiting, 1: queued, 2: refused
        let thread = Thread { third.store(arrivals.put(nil) ? 1 : 2, ordering: .sequentiallyConsistent) }
        thread.start()
        try await Task.sleep(for: .milliseconds(300))
        let waiting = third.load(ordering: .sequentiallyConsistent)
        #expect(waiting == 0, "the third record waits while the queue is full")
        #expect(arrivals.take(waitingUpTo: .milliseconds(10)).map(\.processStart) == [nil, 7])
        let deadline = ContinuousClock.now + .seconds(60)
        while third.load(ordering: .sequentiallyConsistent) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let queued = third.load(ordering: .sequentiallyConsistent)
        #expect(queued == 1)
        #expect(arrivals.take(waitingUpTo: .milliseconds(10)).count == 1)
    }

    @Test func takingFromAnEmptyQueueWaitsOnlyItsTimeout() {
        let arrivals = CaptureArrivals(capacity: 4)
        let start = ContinuousClock.now
        #expect(arrivals.take(waitingUpTo: .milliseconds(200)).isEmpty)
        #expect(ContinuousClock.now - start >= .milliseconds(190))
    }

    @Test func closingReleasesAWaitingReaderAndRefusesMore() async throws {
        let arrivals = CaptureArrivals(capacity: 1)
        #expect(arrivals.put(nil))
        let refused = Atomic<Bool>(false)
        let thread = Thread { refused.store(!arrivals.put(nil), ordering: .sequentiallyConsistent) }
        thread.start()
        try await Task.sleep(for: .milliseconds(100))
        arrivals.close()
        let deadline = ContinuousClock.now + .seconds(60)
        while !refused.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let wasRefused = refused.load(ordering: .sequentiallyConsistent)
        #expect(wasRefused)
        #expect(!arrivals.put(nil))
        #expect(arrivals.take(waitingUpTo: .seconds(10)).isEmpty)
    }
}
