import ErrnoKernel
import Exposition
import Foundation
import KernelFakes
import KernelNames
import Logging
import SystemSupport
import Testing

@testable import Watches

/// The registry over a fake kernel: limits, slots, streams (their slot and start filter, drops,
/// slow clients, heartbeats, ends), expiry and the self-metrics.
@Suite(.timeLimit(.minutes(5))) struct WatchRegistryTests {
    static func registry(_ kernel: FakeWatchKernel, max: Int = 2) -> WatchRegistry {
        WatchRegistry(kernel: kernel, maxWatches: max, logger: Logger(label: "test"), cgroupID: { $0 == "/known" ? 77 : nil }, processExists: { $0 != 666 })
    }

    static func record(slots: UInt64, at: UInt64 = MonotonicClock.nanoseconds(), path: String? = "/etc/nodey.conf") -> WatchEventRecord {
        WatchEventRecord(
            monotonicNanoseconds: at, time: Date(timeIntervalSince1970: 1_700_000_000), slots: slots, pid: 42, tid: 43, syscallNumber: 257, errno: 2,
            comm: Array("node".utf8), path: path.map { .bytes(Array($0.utf8), truncated: false) })
    }

    /// The next `count` items of a stream, after its opening `.subscribed`.
    static func take(_ stream: AsyncStream<WatchStreamItem>, _ count: Int) async -> [WatchStreamItem] {
        var items: [WatchStreamItem] = []
        var iterator = stream.makeAsyncIterator()
        while items.count < count, let item = await iterator.next() {
            if case .subscribed = item { continue }
            items.append(item)
        }
        return items
    }

    @Test func watchesGetSlotsAndAreBounded() throws {
        let kernel = FakeWatchKernel()
        let registry = Self.registry(kernel)
        let first = try registry.create(WatchRequest(target: .pid(42), durationSeconds: 60), by: "oncall")
        let second = try registry.create(WatchRequest(target: .cgroup("/known"), pathsOnly: true, durationSeconds: 60), by: "oncall")
        #expect(first.id == "1" && second.id == "2" && first.createdBy == "oncall")
        #expect(kernel.running == [0: WatchSpec(target: .pid(42)), 1: WatchSpec(target: .cgroup(id: 77), pathsOnly: true)])
        #expect(throws: WatchRegistry.Refusal.tooMany(2)) { try registry.create(WatchRequest(target: .pid(1), durationSeconds: 60), by: "x") }
        #expect(throws: WatchRegistry.Refusal.unknown("9")) { try registry.delete("9", by: "x") }
        try registry.delete("1", by: "x")
        #expect(kernel.ended == [0] && registry.list().map(\.id) == ["2"])
        #expect(throws: WatchRegistry.Refusal.noSuchCgroup("/gone")) {
            try registry.create(WatchRequest(target: .cgroup("/gone"), durationSeconds: 60), by: "x")
        }
    }

    @Test func streamsCarryTheirWatchsFailuresOnlyAndEndWithIt() async throws {
        let kernel = FakeWatchKernel()
        let registry = Self.registry(kernel)
        let watch = try registry.create(WatchRequest(target: .pid(42), durationSeconds: 60), by: "x")
        _ = try registry.create(WatchRequest(target: .comm("other"), durationSeconds: 60), by: "x")
        let stream = try #require(try registry.subscribe(watch.id))
        registry.deliver(Self.record(slots: 0b10))  // the other watch's
        registry.deliver(Self.record(slots: 0b01, at: 1))  // stamped before the watch began: its slot's previous watch
        registry.deliver(Self.record(slots: 0b11))
        registry.deliver(Self.record(slots: 0b01, path: nil))
        registry.deliver(nil)
        try registry.delete(watch.id, by: "x")
        let items = await Self.take(stream, 3)
        guard case .failure(let event) = items.first else { Issue.record("\(items)"); return }
        #expect(event == WatchEvent(time: event.time, pid: 42, tid: 43, comm: "node", syscall: "openat", errno: "ENOENT", path: "/etc/nodey.conf"))
        guard case .failure(let second) = items.dropFirst().first else { Issue.record("\(items)"); return }
        #expect(second.path == nil)
        #expect(items.last == .end(.deleted))
        let metrics = try registry.collect()
        #expect(metrics.first { $0.name == "errno_exporter_watch_records_malformed_total" }?.samples.first?.value == 1)
        #expect(metrics.first { $0.name == "errno_exporter_watches_ended_total" }?.samples.first { $0.labels == [Label("reason", "deleted")] }?.value == 1)
    }

    @Test func dropsAreAnnouncedAndWatchesExpire() async throws {
        let kernel = FakeWatchKernel()
        let registry = Self.registry(kernel)
        let watch = try registry.create(WatchRequest(target: .pid(42), durationSeconds: 5), by: "x")
        let stream = try #require(try registry.subscribe(watch.id))
        var reading = WatchReading()
        reading.rateLimited = 7
        reading.ringBufferFull = 2
        kernel.setReading(reading, slot: 0)
        let now = MonotonicClock.nanoseconds()
        registry.tick(now: now)
        registry.tick(now: now + 1)  // nothing new: nothing announced
        registry.tick(now: now + 6_000_000_000)
        let items = await Self.take(stream, 4)
        #expect(items.contains(.dropped(count: 7, reason: .rateLimited)) && items.contains(.dropped(count: 2, reason: .ringBufferFull)))
        #expect(items.filter { if case .dropped = $0 { true } else { false } }.count == 2, "\(items)")
        #expect(items.last == .end(.expired) && registry.list().isEmpty && kernel.ended == [0])
    }

    @Test func aSlowClientLosesTheNewestAndIsToldHowMany() async throws {
        let kernel = FakeWatchKernel()
        let registry = Self.registry(kernel)
        let watch = try registry.create(WatchRequest(target: .pid(42), durationSeconds: 60), by: "x")
        let stream = try #require(try registry.subscribe(watch.id))
        // The buffer holds `.subscribed` and streamBuffer - 1 failures: the last 11 are lost.
        for _ in 0..<(WatchRegistry.streamBuffer + 10) { registry.deliver(Self.record(slots: 1)) }
        let kept = await Self.take(stream, 100)  // room for the notice
        #expect(kept.count == 100)
        registry.tick()
        registry.shutdown()  // ends the stream, so reading it to the end terminates
        var rest: [WatchStreamItem] = []
        for await item in stream { rest.append(item) }
        #expect(rest.count == WatchRegistry.streamBuffer - 1 - 100 + 2, "\(rest.count)")
        #expect(rest.suffix(2) == [.dropped(count: 11, reason: .slowClient), .end(.shutdown)], "\(rest.suffix(2))")
        let events = try registry.collect().first { $0.name == "errno_exporter_watch_events_total" }
        #expect(events?.samples.first { $0.labels == [Label("outcome", "slow_client")] }?.value == 11)
        #expect(events?.samples.first { $0.labels == [Label("outcome", "streamed")] }?.value == Double(WatchRegistry.streamBuffer + 10))
    }

    @Test func aPidWatchStopsMatchingWhenItsProcessExitsAndKeepsItsSummary() async throws {
        let kernel = FakeWatchKernel()
        let registry = Self.registry(kernel)
        let watch = try registry.create(WatchRequest(target: .pid(666), durationSeconds: 60), by: "x")
        let stream = try #require(try registry.subscribe(watch.id))
        registry.tick()
        #expect(await Self.take(stream, 1) == [.end(.exited)])
        #expect(kernel.retired == [0] && kernel.ended.isEmpty)
        let reading = try registry.reading(watch.id)
        #expect(registry.list().first?.exited == true && reading != nil)
        let late = try #require(try registry.subscribe(watch.id))
        var items: [WatchStreamItem] = []
        for await item in late { items.append(item) }
        #expect(items.count == 2 && items.last == .end(.exited))
        registry.tick()
        #expect(kernel.retired == [0], "retired once")
    }

    @Test func aWatchThisKernelCannotRunIsRefusedSayingWhyAndTakesNoPlace() throws {
        let registry = Self.registry(FakeWatchKernel(refusal: "a cgroup watch needs bpf_get_current_ancestor_cgroup_id"), max: 1)
        #expect(throws: WatchRegistry.Refusal.unsupported("a cgroup watch needs bpf_get_current_ancestor_cgroup_id")) {
            try registry.create(WatchRequest(target: .cgroup("/known"), durationSeconds: 60), by: "x")
        }
        #expect(throws: WatchRegistry.Refusal.unsupported("a cgroup watch needs bpf_get_current_ancestor_cgroup_id")) {
            try registry.create(WatchRequest(target: .cgroup("/known"), durationSeconds: 60), by: "x")
        }
        #expect(registry.list().isEmpty)
    }

    @Test func streamsPerWatchAreBounded() throws {
        let registry = Self.registry(FakeWatchKernel())
        let watch = try registry.create(WatchRequest(target: .pid(42), durationSeconds: 60), by: "x")
        let streams = try (0..<WatchRegistry.maxSubscribers).map { _ in try registry.subscribe(watch.id) }
        #expect(streams.allSatisfy { $0 != nil })
        #expect(throws: WatchRegistry.Refusal.tooManyStreams(WatchRegistry.maxSubscribers)) { try registry.subscribe(watch.id) }
        #expect(try registry.subscribe("nope") == nil)
    }
}
