import Foundation
import Testing

@testable import Stacks

@Suite(.timeLimit(.minutes(5))) struct ProcessMapsCacheTests {
    @Test func mapsReadOnArrivalOutliveTheProcessAndGoOnlyToIt() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["60"]
        try child.run()
        let pid = child.processIdentifier
        defer { kill(pid, SIGKILL) }
        // Past its exec, sleep's own segments mapped: until then the child maps the test runner.
        func mapsSleep() -> Bool { (try? ProcessMaps(pid: pid))?.mappings.contains { $0.executable && $0.name.hasSuffix("/sleep") } == true }
        let deadline = ContinuousClock.now + .seconds(30)
        while !mapsSleep(), ContinuousClock.now < deadline { usleep(10_000) }
        try #require(mapsSleep())
        let cache = ProcessMapsCache()
        let start = try #require(cache.remember(pid: pid))
        #expect(start == ProcessMapsCache.startTime(pid))
        let seen = try #require(cache.maps(pid: pid, arrivedWith: start))
        #expect(seen.mappings.contains { $0.executable && $0.name.hasSuffix("/sleep") })
        #expect(cache.maps(pid: pid, arrivedWith: start + 1) == nil, "another process's record never gets these maps")

        kill(pid, SIGKILL)
        child.waitUntilExit()
        #expect(cache.remember(pid: pid) == nil, "a gone process has nothing to read")
        cache.refresh()
        #expect(cache.maps(pid: pid, arrivedWith: start)?.mappings == seen.mappings, "kept after the exit")
        #expect(cache.maps(pid: pid, arrivedWith: nil)?.mappings == seen.mappings, "gone on arrival: as last seen")
        for _ in 0...ProcessMapsCache.refreshesKeptAfterExit { cache.refresh() }
        #expect(cache.maps(pid: pid, arrivedWith: start) == nil, "forgotten a while after the exit")
    }

    @Test func anUnknownProcessHasNoMaps() {
        #expect(ProcessMapsCache().maps(pid: getpid(), arrivedWith: nil) == nil)
    }
}
