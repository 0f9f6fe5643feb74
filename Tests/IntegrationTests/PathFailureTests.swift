import CErrnoBPF
import FixtureSupport
import Foundation
import Glibc
import Testing

/// errno_path_failures_total against real failing path syscalls: exact counts per (syscall, path,
/// errno, comm), truncation, overflow, rewrites, and the in-kernel filters.
@Suite(.timeLimit(.minutes(5)))
struct PathFailureTests {
    static let paths = "errno_path_failures_total"
    static let failures = "errno_syscall_failures_total"

    /// A fresh directory with a root-only file, a regular file and a symlink loop.
    final class Scratch {
        let directory: String

        init() throws {
            directory = "/tmp/errno-paths-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            chmod(directory, 0o755)
            try "secret".write(toFile: "\(directory)/secret", atomically: false, encoding: .utf8)
            chmod("\(directory)/secret", 0o600)
            try "plain".write(toFile: "\(directory)/file", atomically: false, encoding: .utf8)
            symlink("\(directory)/loop2", "\(directory)/loop1")
            symlink("\(directory)/loop1", "\(directory)/loop2")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func countsEveryPathSyscallErrnoAndCommExactly() async throws {
        try requireRoot()
        let scratch = try Scratch()
        let dir = scratch.directory
        let root = uniqueComm("ep_root_"), nobody = uniqueComm("ep_nobody_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(root), \(nobody)]\n")
        let longComponent = String(repeating: "a", count: 300)
        let rootPlans = [
            PathPlan("open", 3, "\(dir)/missing-open"),
            PathPlan("openat", 5, "\(dir)/missing-openat"),
            PathPlan("openat2", 4, "\(dir)/missing-openat2"),
            PathPlan("creat", 2, "\(dir)/no-such-dir/created"),
            PathPlan("openat", 3, "\(dir)/file/below-a-file"),
            PathPlan("open", 2, "\(dir)/loop1"),
            PathPlan("openat", 2, "\(dir)/\(longComponent)"),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try runLoad(comm: root, paths: rootPlans) }
            group.addTask { try runLoad(comm: nobody, paths: [PathPlan("openat", 6, "\(dir)/secret"), PathPlan("open", 1, "\(dir)/secret")], user: 65534) }
            try await group.waitForAll()
        }
        let scrape = try await agent.scrape()
        let expected: [(String, String, String, String, Double)] = [
            ("open", "\(dir)/missing-open", "ENOENT", root, 3),
            ("openat", "\(dir)/missing-openat", "ENOENT", root, 5),
            ("openat2", "\(dir)/missing-openat2", "ENOENT", root, 4),
            ("creat", "\(dir)/no-such-dir/created", "ENOENT", root, 2),
            ("openat", "\(dir)/file/below-a-file", "ENOTDIR", root, 3),
            ("open", "\(dir)/loop1", "ELOOP", root, 2),
            ("openat", String("\(dir)/\(longComponent)".prefix(255)) + #"\<truncated>"#, "ENAMETOOLONG", root, 2),
            ("openat", "\(dir)/secret", "EACCES", nobody, 6),
            ("open", "\(dir)/secret", "EACCES", nobody, 1),
        ]
        for (syscall, path, errno, comm, count) in expected {
            #expect(scrape.value(Self.paths, ["syscall": syscall, "path": path, "errno": errno, "comm": comm]) == count, "\(syscall) \(path) \(errno)")
        }
        #expect(scrape.matching(Self.paths, ["comm": root]).count == 7)
        #expect(scrape.matching(Self.paths, ["comm": nobody]).count == 2)
        // The syscall counter saw the same failures.
        #expect(scrape.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": root]) == 5)
        #expect(scrape.value(Self.failures, ["syscall": "openat", "errno": "EACCES", "comm": nobody]) == 6)
        #expect((scrape.value("errno_exporter_path_truncations_total") ?? 0) >= 2)
        #expect(try agent.stop() == 0)
    }

    @Test func configuredPathSyscallsAndTheirArguments() async throws {
        try requireRoot()
        let comm = uniqueComm("ep_stat_")
        let agent = try AgentProcess(config: "paths:\n  syscalls: [newfstatat, faccessat]\nfilters:\n  comms: [\(comm)]\n")
        try runLoad(comm: comm, paths: [
            PathPlan("newfstatat", 4, "/nonexistent/errno-stat"), PathPlan("faccessat", 3, "/nonexistent/errno-access"),
            PathPlan("openat", 2, "/nonexistent/errno-open"),
        ])
        let scrape = try await agent.scrape()
        #expect(scrape.value(Self.paths, ["syscall": "newfstatat", "path": "/nonexistent/errno-stat", "errno": "ENOENT", "comm": comm]) == 4)
        #expect(scrape.value(Self.paths, ["syscall": "faccessat", "path": "/nonexistent/errno-access", "errno": "ENOENT", "comm": comm]) == 3)
        #expect(scrape.matching(Self.paths, ["syscall": "openat", "comm": comm]).isEmpty, "openat is not in paths.syscalls")
        #expect(scrape.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": comm]) == 2)
        #expect(try agent.stop() == 0)
    }

    @Test func aFullPathMapFoldsIntoOtherPerSyscallErrnoAndComm() async throws {
        try requireRoot()
        // Only the test's comms count, so the one slot and every fold are the test's own.
        let fill = uniqueComm("ep_fill_"), comm = uniqueComm("ep_full_")
        let agent = try AgentProcess(config: "paths:\n  max_series: 1\nfilters:\n  comms: [\(fill), \(comm)]\n")
        try runLoad(comm: fill, paths: [PathPlan("openat", 1, "/nonexistent/errno-fill")])
        let before = try await agent.scrape()
        try runLoad(comm: comm, paths: (0..<5).map { PathPlan("openat", 7, "/nonexistent/errno-full-\($0)") })
        let after = try await agent.scrape()
        #expect(after.value(Self.paths, ["syscall": "openat", "path": "<other>", "errno": "ENOENT", "comm": comm]) == 35)
        #expect(after.matching(Self.paths, ["comm": comm]).count == 1)
        let folded = ["reason": "path_map_full"]
        #expect((after.value("errno_exporter_dropped_events_total", folded) ?? 0) - (before.value("errno_exporter_dropped_events_total", folded) ?? 0) == 35)
        #expect(after.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": comm]) == 35, "the syscall counter has its own map")
        let distinct = (after.value("errno_exporter_path_series_folded_total") ?? 0) - (before.value("errno_exporter_path_series_folded_total") ?? 0)
        #expect(distinct == 5, "five distinct paths, folded 35 times")
        #expect(try agent.stop() == 0)
    }

    @Test func twoPathsWithOneFingerprintAreNeverMerged() async throws {
        try requireRoot()
        let comm = uniqueComm("ep_coll_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        // The seed is random per load and root's to read: what a local user cannot, the test does.
        let (first, second) = try pathsSharingAFingerprint(under: "/nonexistent/errno-collision", seed: fingerprintSeed(ofAgent: agent.process.processIdentifier))
        let collided = ["reason": "path_collision"]
        let before = try await agent.scrape()
        try runLoad(comm: comm, paths: [PathPlan("openat", 3, first)])
        try runLoad(comm: comm, paths: [PathPlan("openat", 4, second)])
        try runLoad(comm: comm, paths: [PathPlan("openat", 2, first)])
        // Each CPU keeps the last series it counted, to count a repeat without a lookup. One failure
        // at a time: the colliding path, compared with the kept first path's series, is not it
        // (never counted in it); and a third path with a series of its own replaces the kept
        // series at every failure.
        let third = first + "-own"
        let once = (first: PathPlan("openat", 1, first), second: PathPlan("openat", 1, second), third: PathPlan("openat", 1, third))
        try runLoad(comm: comm, paths: [once.first, once.second, once.first, once.second, once.first])
        try runLoad(comm: comm, paths: [once.third, once.first, once.third, once.first, once.second, once.third])
        let scrape = try await agent.scrape()
        // The first path owns the fingerprint; the second is counted under <other> and reported.
        #expect(scrape.value(Self.paths, ["syscall": "openat", "path": first, "errno": "ENOENT", "comm": comm]) == 10)
        #expect(scrape.value(Self.paths, ["syscall": "openat", "path": "<other>", "errno": "ENOENT", "comm": comm]) == 7)
        #expect(scrape.value(Self.paths, ["syscall": "openat", "path": third, "errno": "ENOENT", "comm": comm]) == 3)
        #expect(scrape.matching(Self.paths, ["comm": comm]).count == 3, "no series of its own for the second path")
        #expect((scrape.value("errno_exporter_dropped_events_total", collided) ?? 0) - (before.value("errno_exporter_dropped_events_total", collided) ?? 0) == 7)
        #expect(scrape.value(Self.failures, ["syscall": "openat", "errno": "ENOENT", "comm": comm]) == 20)
        #expect(try agent.stop() == 0)
    }

    @Test func rewritesCollapsePathsAndSumCollisions() async throws {
        try requireRoot()
        let config = """
            paths:
              rewrite:
                - regex: '^/nonexistent/errno-rw-[0-9]+/'
                  replacement: '/nonexistent/errno-rw-<n>/'
                - regex: 'conf$'
                  replacement: 'config'
            """
        let comm = uniqueComm("ep_rw_")
        let agent = try AgentProcess(config: config + "\nfilters:\n  comms: [\(comm)]\n")
        try runLoad(comm: comm, paths: [
            PathPlan("openat", 2, "/nonexistent/errno-rw-1/app.conf"), PathPlan("openat", 3, "/nonexistent/errno-rw-22/app.conf"),
            PathPlan("openat", 4, "/nonexistent/errno-rw-333/app.conf"), PathPlan("openat", 1, "/nonexistent/errno-rw-x/app.conf"),
        ])
        let scrape = try await agent.scrape()
        #expect(scrape.value(Self.paths, ["syscall": "openat", "path": "/nonexistent/errno-rw-<n>/app.config", "errno": "ENOENT", "comm": comm]) == 9)
        #expect(scrape.value(Self.paths, ["syscall": "openat", "path": "/nonexistent/errno-rw-x/app.config", "errno": "ENOENT", "comm": comm]) == 1)
        #expect(scrape.matching(Self.paths, ["comm": comm]).count == 2)
        #expect(try agent.stop() == 0)
    }

    @Test func commFiltersIncludeAndExcludeInTheKernel() async throws {
        try requireRoot()
        // A short comm: the kernel's NUL padding after it is what the filter key must match.
        let kept = "epk\(Int.random(in: 100...999))", excluded = uniqueComm("ep_excl_"), other = uniqueComm("ep_other_")
        let include = try AgentProcess(config: "filters:\n  comms: [\(kept)]\n")
        let exclude = try AgentProcess(config: "filters:\n  exclude_comms: [\(excluded)]\n")
        for comm in [kept, excluded, other] {
            try runLoad(comm: comm, badRead: 3, paths: [PathPlan("openat", 2, "/nonexistent/errno-filter")])
        }
        let included = try await include.scrape()
        #expect(included.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": kept]) == 3)
        #expect(included.value(Self.paths, ["syscall": "openat", "path": "/nonexistent/errno-filter", "errno": "ENOENT", "comm": kept]) == 2)
        #expect(Set(included.matching(Self.failures, [:]).map { $0.labels["comm"] }) == [kept])
        #expect(Set(included.matching(Self.paths, [:]).map { $0.labels["comm"] }) == [kept])
        let excluding = try await exclude.scrape()
        #expect(excluding.matching(Self.failures, ["comm": excluded]).isEmpty)
        #expect(excluding.matching(Self.paths, ["comm": excluded]).isEmpty)
        #expect(excluding.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": other]) == 3)
        #expect(excluding.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": kept]) == 3)
        #expect(try include.stop() == 0)
        #expect(try exclude.stop() == 0)
    }

    @Test func pidCgroupAndErrnoFilters() async throws {
        try requireRoot()
        let cgroup = try TestCgroup()
        let byPid = try WaitingLoad(comm: uniqueComm("ep_pid_"), badRead: 4, paths: [PathPlan("openat", 2, "/nonexistent/errno-pid")])
        let inCgroup = try WaitingLoad(comm: uniqueComm("ep_cg_"), badRead: 5)
        try cgroup.adopt(inCgroup.pid)
        let pidAgent = try AgentProcess(config: "filters:\n  pids: [\(byPid.pid)]\n")
        let cgroupAgent = try AgentProcess(config: "filters:\n  cgroups: [\(cgroup.path)]\n")
        let errnoAgent = try AgentProcess(config: "syscalls:\n  exclude_errnos: [ENOENT]\n")
        try byPid.release()
        try inCgroup.release()
        let bystander = uniqueComm("ep_by_")
        try runLoad(comm: bystander, openat: 3, badRead: 2)

        let pidScrape = try await pidAgent.scrape()
        #expect(pidScrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": byPid.process.arguments![1]]) == 4)
        #expect(pidScrape.value(Self.paths, ["syscall": "openat", "path": "/nonexistent/errno-pid", "errno": "ENOENT", "comm": byPid.process.arguments![1]]) == 2)
        #expect(pidScrape.matching(Self.failures, ["comm": bystander]).isEmpty)
        let cgroupScrape = try await cgroupAgent.scrape()
        #expect(cgroupScrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": inCgroup.process.arguments![1]]) == 5, "a task in a child cgroup counts")
        #expect(cgroupScrape.matching(Self.failures, ["comm": bystander]).isEmpty)
        let errnoScrape = try await errnoAgent.scrape()
        #expect(errnoScrape.matching(Self.failures, ["errno": "ENOENT"]).isEmpty)
        #expect(errnoScrape.matching(Self.paths, ["errno": "ENOENT"]).isEmpty)
        #expect(errnoScrape.value(Self.failures, ["syscall": "read", "errno": "EBADF", "comm": bystander]) == 2)
        for agent in [pidAgent, cgroupAgent, errnoAgent] { #expect(try agent.stop() == 0) }
    }

    @Test func aMissingCgroupIsAClearStartupError() throws {
        try requireRoot()
        let agent = try AgentProcess(config: "filters:\n  cgroups: [/errno-no-such-cgroup]\n", waitForListening: false)
        let (status, output) = try agent.waitForExit()
        #expect(status == 1)
        #expect(output.contains("filters.cgroups: no cgroup /errno-no-such-cgroup"), "\(output)")
    }
}

/// The seed of the path fingerprints of the running agent `pid`: its program's `fingerprint_seed`,
/// read (as root may) from the `.rodata` map the agent holds, as bpftool shows it.
func fingerprintSeed(ofAgent pid: Int32) throws -> UInt64 {
    let maps = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fdinfo").compactMap { fd -> String? in
        let info = (try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8)) ?? ""
        return info.firstMatch(of: /map_id:\s+(\d+)/).map { String($0.1) }
    }
    for id in Set(maps) where try shell("bpftool -j map show id \(id)").output.contains(#".rodata","#) {
        let dump = try shell("bpftool -j map dump id \(id)").output
        if let seed = dump.firstMatch(of: /"fingerprint_seed":(\d+)/).flatMap({ UInt64($0.1) }) { return seed }
    }
    throw AgentError("no fingerprint_seed in the .rodata maps of agent \(pid)")
}

/// Two paths under `directory` with one fingerprint (errno_path_fingerprint from `seed`), found by a
/// birthday search: `directory` is padded to whole 64-bit words, then each path is 8 search bytes and
/// a 5-byte tail. Two search words whose states after them agree on their top 24 bits give the
/// second path a tail (the first tail XOR the states' difference) that makes its last state the first's.
/// The first tail is chosen per byte so that neither tail holds NUL or `/`: the pairs found for one
/// seed tend to share one difference, so a fixed first tail fails for some seeds (about 1 in 20).
/// The first path is ASCII; the second's tail is any bytes but NUL and `/` (not always UTF-8).
func pathsSharingAFingerprint(under directory: String, seed: UInt64) throws -> (String, [UInt8]) {
    var prefix = Array((directory + "/").utf8)
    while prefix.count % 8 != 0 { prefix.insert(UInt8(ascii: "/"), at: prefix.count - 1) }
    var state = seed
    for start in stride(from: 0, to: prefix.count, by: 8) {
        state = errno_fingerprint_step(state, prefix[start..<start + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    }
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    func allowed(_ byte: UInt8) -> Bool { byte != 0 && byte != UInt8(ascii: "/") }
    var byTop: [UInt64: (word: [UInt8], state: UInt64)] = [:]
    for candidate in 0..<(1 << 16) {
        var word = [UInt8](repeating: UInt8(ascii: "a"), count: 8), rest = candidate
        for index in 0..<8 { word[index] = alphabet[rest % alphabet.count]; rest /= alphabet.count }
        let after = errno_fingerprint_step(state, word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        if let other = byTop[after >> 40] {
            // The states differ in their low 40 bits only: one byte of difference per tail byte.
            let difference = withUnsafeBytes(of: (other.state ^ after).littleEndian) { Array($0) }
            let tail = difference[..<5].map { byte in alphabet.first { allowed($0 ^ byte) }! }
            let otherTail = zip(tail, difference).map { $0 ^ $1 }
            let first = prefix + word + tail, second = prefix + other.word + otherTail
            // Checked with the kernel's own function, on the buffers the kernel reads.
            func fingerprint(_ path: [UInt8]) -> UInt64 {
                var buffer = [UInt8](repeating: 0, count: Int(PATH_BUFFER_LEN))
                buffer.replaceSubrange(0..<path.count, with: path)
                return buffer.withUnsafeBytes { errno_path_fingerprint($0.bindMemory(to: UInt64.self).baseAddress, seed) }
            }
            try #require(otherTail.allSatisfy(allowed) && fingerprint(first) == fingerprint(second) && first != second)
            return (String(decoding: first, as: UTF8.self), second)
        }
        byTop[after >> 40] = (word, after)
    }
    throw AgentError("no colliding pair among 65,536 candidates")
}
