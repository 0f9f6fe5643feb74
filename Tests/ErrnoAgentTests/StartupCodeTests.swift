import Logging
import SystemSupport
import Testing

@testable import ErrnoAgent

/// Releasing start-up's code pages: which mappings qualify, and that it really unmaps them.
@Suite struct StartupCodeTests {
    /// An address in the executable's code (its first r-xp mapping).
    static let ownCode: UInt = 0x55d0_a200_0000

    static let smaps = """
        55d0a1000000-55d0a1667000 r--p 00000000 fd:01 1572902                    /usr/local/bin/errno_exporter
        Size:               6556 kB
        Rss:                 412 kB
        Anonymous:             0 kB
        55d0a1667000-55d0a3f94000 r-xp 00667000 fd:01 1572902                    /usr/local/bin/errno_exporter
        Size:              42164 kB
        Rss:               23356 kB
        Pss:               23356 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me
        55d0a3f95000-55d0a3fa0000 r-xp 02995000 fd:01 1572902                    /usr/local/bin/errno_exporter (deleted)
        Rss:                  44 kB
        Anonymous:             4 kB
        55d0a3fzzzzz-55d0a3fa0000 r-xp 02995000 fd:01 1572902                    /unreadable/header
        Anonymous:             0 kB
        55d0a3fa0000-55d0a3fa1000 r-xp 029a0000 fd:01 1572902                    /usr/local/bin/errno_exporter
        Rss:                   4 kB
        55d0a3fa1000-55d0a64c0000 rw-p 029a1000 fd:01 1572902                    /usr/local/bin/errno_exporter
        Rss:                4768 kB
        Anonymous:           456 kB
        7f2b1c000000-7f2b1c16e000 r-xp 00028000 fd:01 1311234                    /usr/lib/x86_64-linux-gnu/libc.so.6
        Rss:                1296 kB
        Anonymous:             0 kB
        7f2b1d000000-7f2b1d021000 rw-p 00000000 00:00 0 
        Rss:                 132 kB
        Anonymous:           132 kB
        not a header line at all
        zz-yy r-xp 0 fd:01 1572902 /bad/range
        """

    @Test func onlyTheExecutablesCleanCodeMappingsAreReleased() throws {
        let mappings = StartupCode.mappings(inSmaps: Self.smaps)
        #expect(mappings.count == 7)
        #expect(mappings[1].file == StartupCode.FileIdentity(major: 0xfd, minor: 0x01, inode: 1_572_902))
        let (releasable, skipped) = try #require(StartupCode.codeMappings(containing: Self.ownCode, in: mappings))
        #expect(releasable.map(\.start) == [0x55d0_a166_7000])
        #expect(releasable.first?.residentKiB == 23356)
        #expect(releasable.first?.end == 0x55d0_a3f9_4000)
        // The executable's code with a private copy (a breakpoint) stays: dropping it would drop the
        // breakpoint. So does code whose smaps entry does not say, and the fields after a header that
        // cannot be read are not the breakpointed mapping's.
        #expect(skipped == 2)
        #expect(mappings[2].anonymousKiB == 4)
        #expect(mappings[3].anonymousKiB == nil)
    }

    @Test func anAddressOutsideEveryCodeMappingReleasesNothing() {
        let mappings = StartupCode.mappings(inSmaps: Self.smaps)
        #expect(StartupCode.codeMappings(containing: 0x55d0_a100_0000, in: mappings) == nil)  // the executable's r--p
        #expect(StartupCode.codeMappings(containing: 0x7f2b_1d00_0010, in: mappings) == nil)  // anonymous memory
        #expect(StartupCode.codeMappings(containing: 0x1000, in: mappings) == nil)
    }

    @Test func theExecutablesFileSystemComesFromMountinfoByDevice() {
        let mountinfo = """
            22 27 0:21 / /proc rw,relatime - proc proc rw
            27 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/root rw
            31 27 0:31 / /mnt/host rw,relatime shared:7 master:2 - 9p /dev/root rw,access=any,msize=524288,trans=virtio
            40 27 0:45 / /weird\\040dir rw - tmpfs tmpfs rw
            """
        #expect(StartupCode.fileSystemType(major: 0xfd, minor: 0x01, inMountinfo: mountinfo) == "ext4")  // smaps' fd:01
        #expect(StartupCode.fileSystemType(major: 0, minor: 31, inMountinfo: mountinfo) == "9p")
        #expect(StartupCode.fileSystemType(major: 0, minor: 45, inMountinfo: mountinfo) == "tmpfs")
        #expect(StartupCode.fileSystemType(major: 8, minor: 1, inMountinfo: mountinfo) == nil)
        #expect(StartupCode.uncachedFileSystems.contains("9p"))
    }

    /// A `StartupCode` for two listeners whose releases release nothing, only count.
    static func countingReleases() -> (code: StartupCode, releases: CallCount) {
        let releases = CallCount()
        let code = StartupCode(listeners: 2, logger: Logger(label: "test")) {
            releases.add()
            return StartupCode.Release()
        }
        return (code, releases)
    }

    /// The code is released after the last listener is bound, and once more after the first scrape:
    /// never for other listeners or later scrapes.
    @Test func theCodeIsReleasedAfterTheLastListenerAndAfterTheFirstScrape() {
        let (code, releases) = Self.countingReleases()
        code.listening()
        #expect(releases.value == 0)
        code.listening()
        #expect(releases.value == 1)
        code.scrapeServed()
        #expect(releases.value == 2)
        code.scrapeServed()
        code.scrapeServed()
        #expect(releases.value == 2)
    }

    /// A scrape may be served before the last listener is bound: each moment still releases once.
    @Test func aScrapeBeforeTheLastListenerReleasesOnceAndTheListenerOnceMore() {
        let (code, releases) = Self.countingReleases()
        code.listening()
        code.scrapeServed()
        #expect(releases.value == 1)
        code.listening()
        code.scrapeServed()
        #expect(releases.value == 2)
    }

    /// In this very process: its code is unmapped (resident KiB reported), and the test runs on.
    @Test func releasingThisProcessesCodeUnmapsItAndItRunsOn() throws {
        let before = try ownCodeResidentKiB()
        #expect(before > 0)
        let release = try StartupCode.releaseOwnCode()
        let after = try ownCodeResidentKiB()
        #expect(release.mappings >= 1)
        #expect(release.failures.isEmpty)
        #expect(release.residentKiB > 0)
        #expect(after < before, "resident code KiB: \(before) before the release, \(after) after")
    }

    private func ownCodeResidentKiB() throws -> Int {
        let smaps = try #require(SmallFile.read("/proc/self/smaps", limit: StartupCode.smapsLimit))
        let address = UInt(bitPattern: unsafeBitCast(Self.marker, to: UnsafeRawPointer.self))
        let (releasable, _) = try #require(StartupCode.codeMappings(containing: address, in: StartupCode.mappings(inSmaps: smaps)))
        return releasable.reduce(0) { $0 + $1.residentKiB }
    }

    private static let marker: @convention(c) () -> Void = {}
}
