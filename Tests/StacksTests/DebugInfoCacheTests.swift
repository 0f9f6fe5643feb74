import FixtureSupport
import Foundation
import Glibc
import Testing

@testable import Stacks

/// The debuginfod cache directory and build IDs as the fetcher handles them: a directory another
/// user could write to is refused, the cache stays under its cap (least recently used out first),
/// libdebuginfod's records of misses are not debug files, and only hex build IDs name entries.
@Suite struct DebugInfoCacheTests {
    func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "errno-dbgcache-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        return directory
    }

    @Test func buildIDsRoundTripAndAnythingElseIsRefused() {
        #expect(BuildID.bytes(hex: "00ff7a") == [0x00, 0xFF, 0x7A])
        #expect(BuildID.hex(BuildID.bytes(hex: "fb65c0f90722835975c4d8a1f16355f1881026e5")) == "fb65c0f90722835975c4d8a1f16355f1881026e5")
        for bad in ["", "a", "abc", "AB", "../x", "0g", "ab/cd", String(repeating: "a", count: 130)] {
            #expect(!BuildID.isHex(bad), "\(bad)")
            #expect(BuildID.bytes(hex: bad).isEmpty)
        }
    }

    @Test func theCacheDirectoryIsCreatedPrivateAndAnUnsafeOneIsRefused() throws {
        let base = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let created = "\(base)/a/b/cache"
        #expect(try DebugInfoFetcher.prepareCache(created) == created)
        var info = stat()
        #expect(lstat(created, &info) == 0 && info.st_mode & 0o777 == 0o700 && info.st_uid == geteuid())
        #expect(try DebugInfoFetcher.prepareCache(created) == created)  // again: fine

        let shared = "\(base)/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o777)
        #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache("\(shared)/inside") }  // a parent others can change
        // A link is resolved, and where it leads is checked (systemd's DynamicUser cache is a link).
        let linked = "\(base)/linked"
        symlink(created, linked)
        #expect(try DebugInfoFetcher.prepareCache(linked) == created)
        let linkedToShared = "\(base)/linked-shared"
        symlink("\(shared)/inside", linkedToShared)
        #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache(linkedToShared) }
        if geteuid() == 0 {
            let planted = "\(base)/planted"
            symlink(created, planted)
            lchown(planted, 65534, 65534)
            #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache(planted) }  // another user's link
        }
        // The cache directory itself, ours but open to everyone (a Kubernetes emptyDir): made private.
        #expect(try DebugInfoFetcher.prepareCache(shared) == shared)
        #expect(lstat(shared, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let file = "\(base)/file"
        FileManager.default.createFile(atPath: file, contents: Data())
        #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache(file) }
        if geteuid() == 0 {
            let foreign = "\(base)/foreign"
            mkdir(foreign, 0o700)
            chown(foreign, 65534, 65534)
            #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache(foreign) }
        }
        #expect(throws: DebugInfoCacheProblem.self) { try DebugInfoFetcher.prepareCache("relative/cache") }
    }

    @Test func theCacheIsTrimmedLeastRecentlyUsedFirstKeepingTheNewest() throws {
        let cache = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        // Four entries of 1000 bytes, used at times 100, 400, 300, 200.
        let entries = [("aa01", 100), ("aa02", 400), ("aa03", 300), ("aa04", 200)]
        for (buildID, used) in entries {
            try FileManager.default.createDirectory(atPath: "\(cache)/\(buildID)", withIntermediateDirectories: false)
            let file = "\(cache)/\(buildID)/debuginfo"
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: file))
            let times = [timespec(tv_sec: used, tv_nsec: 0), timespec(tv_sec: used, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, file, times, 0) == 0)
        }
        try "86400".write(toFile: "\(cache)/cache_clean_interval_s", atomically: false, encoding: .utf8)  // libdebuginfod's own file stays
        // aa01 is the oldest but was just fetched: kept. Then aa04 and aa03 go.
        let (bytes, evicted) = DebugInfoFetcher.trimCache(cache, maxBytes: 2500, keeping: "aa01")
        #expect(bytes == 2000 && evicted == 2)
        let left = try FileManager.default.contentsOfDirectory(atPath: cache).sorted()
        #expect(left == ["aa01", "aa02", "cache_clean_interval_s"])
        #expect(DebugInfoFetcher.trimCache(cache, maxBytes: 1 << 20, keeping: nil) == (2000, 0))
    }

    @Test func aRecordedMissIsNotADebugFile() throws {
        let cache = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        try FileManager.default.createDirectory(atPath: "\(cache)/bb01", withIntermediateDirectories: false)
        // libdebuginfod records a miss as an empty file without permissions.
        FileManager.default.createFile(atPath: "\(cache)/bb01/debuginfo", contents: Data(), attributes: [.posixPermissions: 0])
        #expect(DebugInfoFetcher.cachedFile("bb01", in: cache) == nil)
        try FileManager.default.createDirectory(atPath: "\(cache)/bb02", withIntermediateDirectories: false)
        symlink("/etc/passwd", "\(cache)/bb02/debuginfo")
        #expect(DebugInfoFetcher.cachedFile("bb02", in: cache) == nil, "links are not followed")
        try FileManager.default.createDirectory(atPath: "\(cache)/bb03", withIntermediateDirectories: false)
        try Data(repeating: 1, count: 10).write(to: URL(fileURLWithPath: "\(cache)/bb03/debuginfo"))
        #expect(DebugInfoFetcher.cachedFile("bb03", in: cache) == "\(cache)/bb03/debuginfo")
    }

    @Test func aFetchedFileMustBeTheBuildsDebugFile() throws {
        let remote = try FixtureProgram.path("deep_remote")
        let debugFile = try FixtureProgram.directory.get() + "/debuginfo/deep_remote.debug"
        let buildID = BuildID.bytes(hex: try #require(try FixtureProgram.buildID("deep_remote")))
        #expect(DebugInfoFetcher.problem(debugFile: debugFile, buildID: buildID) == nil)
        #expect(DebugInfoFetcher.problem(debugFile: remote, buildID: buildID) == "it has no .debug_info")
        #expect(DebugInfoFetcher.problem(debugFile: debugFile, buildID: [1, 2, 3])?.hasPrefix("its build ID is ") == true)
        #expect(DebugInfoFetcher.problem(debugFile: "/etc/hostname", buildID: buildID) != nil)
        // Adopted by the stripped binary's image, it gives lines and the inlined frame.
        let image = try ElfImage(path: remote)
        let openConfig = try #require(try FixtureProgram.symbols("deep_remote")["open_config"])
        #expect(!image.hasDebugInfo && image.sourceLocations(at: openConfig).isEmpty)
        #expect(image.adopt(debugFile: try ElfImage(path: debugFile, searchDebugFiles: false)))
        #expect(image.hasDebugInfo && image.sourceLocations(at: openConfig).last?.function == "open_config")
        #expect(!image.adopt(debugFile: try ElfImage(path: debugFile, searchDebugFiles: false)), "one debug file at most")
    }
}

/// DWARF that dwz split into a supplementary file (`.gnu_debugaltlink`, as Debian's -dbgsym
/// packages ship it): lines come through the supplementary file, opened like any file a target
/// names; a link to anything else (a FIFO that would block libdw's own open) leaves lines out.
@Suite struct SupplementaryDwarfTests {
    @Test func linesComeThroughTheSupplementaryFile() throws {
        let program = try FixtureProgram.path("deep_dwz")
        let image = try ElfImage(path: program)
        let address = try #require(try FixtureProgram.symbols("deep_dwz")["open_config"])
        let locations = image.sourceLocations(at: address + 4)
        #expect(locations.last?.function == "open_config" && locations.last?.file == FixtureProgram.source, "\(locations)")
    }

    @Test func aLinkToAFifoOrNothingLeavesLinesOutWithoutBlocking() throws {
        let directory = NSTemporaryDirectory() + "errno-alt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(mkfifo("\(directory)/fifo", 0o600) == 0)
        let original = try FixtureProgram.path("deep_dwz")
        for target in ["\(directory)/fifo", "\(directory)/missing"] {
            let hostile = "\(directory)/hostile"
            // The link's contents: the name, NUL, then a (made-up) build ID.
            var link = Data(target.utf8)
            link.append(0)
            link.append(contentsOf: [UInt8](repeating: 0xAB, count: 20))
            try link.write(to: URL(fileURLWithPath: "\(directory)/link"))
            try FixtureProgram.run("objcopy --update-section .gnu_debugaltlink=\(directory)/link \(original) \(hostile)")
            let started = Date()
            let image = try ElfImage(path: hostile)
            let address = try #require(try FixtureProgram.symbols("deep_dwz")["open_config"])
            #expect(image.sourceLocations(at: address + 4).isEmpty)
            #expect(image.symbol(at: address + 4)?.name == "open_config", "symbols stay")
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }
}
