import FixtureSupport
import Foundation
@testable import Stacks
import Testing

/// ELF symbols, separate debug files, perf maps and /proc maps, on fixture files.
@Suite struct SymbolizationTests {
    @Test(arguments: ["deep_fp", "deep_nofp"])
    func functionSymbolsCoverTheirWholeBody(build: String) throws {
        let image = try ElfImage(path: try FixtureProgram.path(build))
        #expect(image.hasFullSymbolTable)
        for (name, address) in try FixtureProgram.symbols(build) where ["open_config", "load_settings", "start_service", "main"].contains(name) {
            #expect(image.symbol(at: address)?.name == name)
            #expect(image.symbol(at: address + 3)?.name == name)
            #expect(image.symbol(at: address + 3)?.offset == 3)
        }
    }

    @Test func aStrippedBuildHasNoNamesButKeepsItsCallFrameInformation() throws {
        let addresses = try FixtureProgram.symbols("deep_nofp")
        let image = try ElfImage(path: try FixtureProgram.path("deep_stripped"))
        #expect(!image.hasFullSymbolTable)
        #expect(image.symbol(at: try #require(addresses["open_config"]) + 1) == nil)
    }

    @Test func aDebugLinkBringsTheNamesBack() throws {
        let addresses = try FixtureProgram.symbols("deep_nofp")
        let image = try ElfImage(path: try FixtureProgram.path("deep_linked"))
        #expect(image.debugFile != nil)
        #expect(image.symbol(at: try #require(addresses["load_settings"]) + 2)?.name == "load_settings")
    }

    @Test func buildIDsReadAsReadelfShowsThem() throws {
        let fixture = try #require(try FixtureProgram.buildID("deep_fp"))
        #expect(fixture.count == 40)
        #expect(try ElfImage(path: try FixtureProgram.path("deep_fp")).buildID.map(BuildID.hex) == fixture)
        #expect(try FixtureProgram.buildID("deep_noid") == nil)
        #expect(try ElfImage(path: try FixtureProgram.path("deep_noid")).buildID == nil)
        // The running kernel's, from /sys/kernel/notes, as an independent parser reads it.
        let (status, kernel) = try shell("python3 -", input: #"""
            import struct
            data = open("/sys/kernel/notes", "rb").read(); i = 0
            while i + 12 <= len(data):
                n, d, t = struct.unpack_from("<III", data, i); name = i + 12; desc = name + (n + 3) // 4 * 4
                if t == 3 and data[name:name + n] == b"GNU\0": print(data[desc:desc + d].hex()); break
                i = desc + (d + 3) // 4 * 4
            """#)
        #expect(status == 0)
        #expect(KernelSymbols(path: "/nonexistent").buildID == kernel.trimmingCharacters(in: .whitespacesAndNewlines), "\(kernel)")
        #expect(KernelSymbols(path: "/nonexistent").buildID?.count == 40)
    }

    @Test func dwarfGivesLinesAndInlinedFunctionsInnermostFirst() throws {
        let inlinedOpen = try FixtureProgram.line(marked: "inlined open"), callerOpen = try FixtureProgram.line(marked: "open_config's open")
        let source = FixtureProgram.source
        // deep_inlined's open_config calls open through open_read_only, which the compiler inlined.
        let inlinedBuild = try ElfImage(path: try FixtureProgram.path("deep_inlined"))
        let start = try #require(try FixtureProgram.symbols("deep_inlined")["open_config"])
        let call = try #require((start..<start + 64).first { inlinedBuild.sourceLocations(at: $0).first?.inlined == true }, "no inlined range")
        #expect(inlinedBuild.sourceLocations(at: call) == [
            SourceLocation(function: "open_read_only", file: source, line: inlinedOpen, inlined: true),
            SourceLocation(function: "open_config", file: source, line: callerOpen, inlined: false),
        ])
        // Without the inlined function, the same call is open_config's own line; the debug file of a
        // stripped build gives the same; a stripped build without one has no lines.
        for build in ["deep_fp", "deep_linked"] {
            let image = try ElfImage(path: try FixtureProgram.path(build))
            let symbols = try FixtureProgram.symbols(build == "deep_linked" ? "deep_nofp" : build)
            let opening = try #require(symbols["open_config"])
            let call = try #require((opening..<opening + 64).first { image.sourceLocations(at: $0).first?.line == callerOpen }, "\(build)")
            #expect(image.sourceLocations(at: call) == [SourceLocation(function: "open_config", file: source, line: callerOpen, inlined: false)], "\(build)")
        }
        let stripped = try ElfImage(path: try FixtureProgram.path("deep_stripped"))
        #expect(stripped.sourceLocations(at: try #require(try FixtureProgram.symbols("deep_nofp")["open_config"]) + 4).isEmpty)
    }

    @Test func aFileOffsetMapsToItsVirtualAddress() throws {
        let image = try ElfImage(path: try FixtureProgram.path("deep_nofp"))
        let main = try #require(try FixtureProgram.symbols("deep_nofp")["main"])
        // The fixture is position independent: its text's file offsets equal its addresses.
        #expect(image.virtualAddress(fileOffset: main) == main)
    }

    @Test func perfMapsAreReadIncrementallyAndNameJITFrames() throws {
        let path = NSTemporaryDirectory() + "perf-test-\(UUID().uuidString.prefix(6)).map"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "7f00001000 100 JS:~loadConfig /srv/app/server.js:9:22\n7f00002000 80 Builtin:CEntry\n7f0000".write(toFile: path, atomically: false, encoding: .utf8)
        let map = PerfMap(path: path)
        #expect(map.refresh())
        #expect(map.symbol(at: 0x7f_0000_1010)?.name == "JS:~loadConfig /srv/app/server.js:9:22")
        #expect(map.symbol(at: 0x7f_0000_1010)?.offset == 0x10)
        #expect(map.symbol(at: 0x7f_0000_2080) == nil)
        // The half-written last line completes later; V8 may put new code at lower addresses.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("3000 40 JS:*aboutText /srv/app/server.js:13:19\n7f00000800 10 JS:~early node:fs:1:1\n".utf8))
        try handle.close()
        #expect(map.refresh())
        #expect(map.symbol(at: 0x7f_0000_3020)?.name == "JS:*aboutText /srv/app/server.js:13:19")
        #expect(map.symbol(at: 0x7f_0000_0808)?.name == "JS:~early node:fs:1:1")
        #expect(map.symbol(at: 0x7f_0000_1010)?.name == "JS:~loadConfig /srv/app/server.js:9:22")
    }

    @Test func v8NamesSplitIntoFunctionAndSourceLocation() {
        let named = PerfMap.sourceLocation(of: "JS:~loadConfig /srv/app/server.js:9:22")
        #expect(named.function == "JS:~loadConfig" && named.file == "/srv/app/server.js" && named.line == 9)
        let url = PerfMap.sourceLocation(of: "JS:*handle file:///srv/app/a.mjs:3:1")
        #expect(url.file == "file:///srv/app/a.mjs" && url.line == 3)
        let builtin = PerfMap.sourceLocation(of: "Builtin:CEntry_Return1")
        #expect(builtin.function == "Builtin:CEntry_Return1" && builtin.file == nil)
    }

    @Test func procMapsLinesParse() {
        let maps = ProcessMaps(pid: 1, text: """
            55d0c5a00000-55d0c5a01000 r--p 00000000 08:01 1234 /usr/bin/deep
            55d0c5a01000-55d0c5a02000 r-xp 00001000 08:01 1234 /usr/bin/deep
            7ffd1c3f0000-7ffd1c411000 rw-p 00000000 00:00 0                          [stack]
            7f0e5c228000-7f0e5c3bd000 r-xp 00028000 fe:01 42 /usr/lib/x86_64-linux-gnu/lib c.so.6
            """)
        let text = maps.mapping(containing: 0x55d0_c5a0_1234)
        #expect(text?.executable == true && text?.fileOffset == 0x1000 && text?.name == "/usr/bin/deep" && text?.isFile == true)
        #expect(text.map { $0.device.major == 8 && $0.device.minor == 1 } == true)
        #expect(maps.mapping(containing: 0x7ffd_1c3f_0010)?.name == "[stack]")
        #expect(maps.mapping(containing: 0x7ffd_1c3f_0010)?.isFile == false)
        #expect(maps.mapping(containing: 0x7f0e_5c22_8000)?.name == "/usr/lib/x86_64-linux-gnu/lib c.so.6")
        #expect(maps.mapping(containing: 0x1000) == nil)
    }

    @Test func kernelSymbolsResolveToTheSymbolBelow() throws {
        let path = NSTemporaryDirectory() + "kallsyms-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
            ffffffff81000000 T _stext
            ffffffff81001000 t do_syscall_64
            ffffffff81002000 D some_data
            ffffffffc0001000 t helper\t[ext4]
            """.write(toFile: path, atomically: false, encoding: .utf8)
        let symbols = KernelSymbols(path: path)
        #expect(symbols.count == 3)
        #expect(symbols.symbol(at: 0xffff_ffff_8100_1010)?.name == "do_syscall_64")
        #expect(symbols.symbol(at: 0xffff_ffff_8100_1010)?.offset == 0x10)
        let frames = Symbolizer(kernelSymbols: symbols).kernelFrames([0xffff_ffff_c000_1004])
        #expect(frames.first?.symbol == "helper" && frames.first?.module == "[ext4]")
    }

    @Test func kernelSymbolsSkipMalformedLinesAndSortByAddress() {
        let text = """
            ffffffffc0002000 t late\t[mod]
            ffffffff81000000 T first
            ffffffff81000800 W weak_one
            00000000000000000 T seventeen_digits
            ffffffff81000900 T
            xyz T not_hex
            ffffffff81000a00 TT two_letter_type
            0000000000000000 T zero
            ffffffff81000c00 b bss
            ffffffff81000d00 t last_line_without_newline
            """
        let table = KernelSymbols.parse(Array(text.utf8))
        #expect(table.starts == [0xffff_ffff_8100_0000, 0xffff_ffff_8100_0800, 0xffff_ffff_8100_0d00, 0xffff_ffff_c000_2000])
        #expect(String(decoding: table.text, as: UTF8.self) == "firstweak_onelast_line_without_newlinelate\t[mod]")
        #expect(KernelSymbols.parse([]).starts.isEmpty)
    }

    /// A function's file offset (where a uprobe goes) comes from the segment that holds its address:
    /// in a position-dependent build the code is mapped 0x400000 above its place in the file.
    @Test func aFunctionsFileOffsetIsItsAddressInItsSegment() throws {
        let directory = NSTemporaryDirectory() + "errno-offsets-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FixtureProgram.run("gcc -O2 -no-pie -o \(directory)/deep_static_addresses \(FixtureProgram.source)")
        var main: UInt64?
        for line in try FixtureProgram.run("nm \(directory)/deep_static_addresses").split(separator: "\n") where line.hasSuffix(" T main") {
            main = UInt64(line.prefix { $0 != " " }, radix: 16)
        }
        let address = try #require(main)
        let image = try ElfImage(path: "\(directory)/deep_static_addresses", searchDebugFiles: false)
        #expect(address > 0x40_0000)
        #expect(image.fileOffset(ofFunction: "main") == address - 0x40_0000)
        #expect(image.fileOffset(ofFunction: "no_such_function") == nil)
        let pie = try ElfImage(path: try FixtureProgram.path("deep_fp"))
        #expect(pie.fileOffset(ofFunction: "main") == (try FixtureProgram.symbols("deep_fp"))["main"])
        #expect(pie.openedFilePath.hasPrefix("/proc/self/fd/"))
    }
}
