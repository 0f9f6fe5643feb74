import FixtureSupport
import Foundation
import Testing

@testable import Stacks

/// What a captured process's user controls — its files, their headers, its perf map, its symbol
/// names — read as the untrusted input it is: refused or bounded, never a crash, a hang or a leak.
@Suite struct HostileInputTests {
    @Test func noteSequencesAreReadWithinTheirBounds() {
        func note(_ name: [UInt8], _ descriptor: [UInt8], type: UInt32 = 3, nameSize: UInt32? = nil, descriptorSize: UInt32? = nil) -> [UInt8] {
            func word(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
            func pad(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }
            return word(nameSize ?? UInt32(name.count)) + word(descriptorSize ?? UInt32(descriptor.count)) + word(type) + pad(name) + pad(descriptor)
        }
        let gnu = Array("GNU\0".utf8), id: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0x01]
        #expect(BuildID.fromNotes(note(Array("Linux\0".utf8), [1, 2, 3], type: 6) + note(gnu, id)) == id, "after another note")
        #expect(BuildID.hex(id) == "deadbeef01")
        #expect(BuildID.fromNotes(note(gnu, id, type: 1)) == nil, "not a build ID note")
        #expect(BuildID.fromNotes(note(Array("GNX\0".utf8), id)) == nil)
        #expect(BuildID.fromNotes(note(gnu, [])) == nil, "empty")
        #expect(BuildID.fromNotes(note(gnu, [UInt8](repeating: 7, count: 65))) == nil, "longer than any linker makes")
        #expect(BuildID.fromNotes(Array(note(gnu, id).dropLast(4))) == nil, "runs past the end")
        #expect(BuildID.fromNotes(note(gnu, id, descriptorSize: UInt32.max)) == nil)
        #expect(BuildID.fromNotes(note(gnu, id, nameSize: UInt32.max - 2)) == nil)
        #expect(BuildID.fromNotes(note(Array("x".utf8), [], type: 9, nameSize: 0x7FFF_FFFF)) == nil)
        #expect(BuildID.fromNotes([]) == nil && BuildID.fromNotes([1, 2, 3]) == nil)
    }

    static func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "errno-hostile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func aFifoIsRefusedAtOnceNotWaitedOn() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(mkfifo("\(directory)/perf-1.map", 0o644) == 0)
        let started = Date()
        #expect(throws: TargetFile.Refusal.notRegular) { try TargetFile.open("\(directory)/perf-1.map") }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(PerfMap(path: "\(directory)/perf-1.map").refresh() == false)
        #expect(throws: (any Error).self) { try ElfImage(path: "\(directory)/perf-1.map") }
    }

    @Test func linksDoNotLeadOutOfAProcessRoot() throws {
        // This process's own root, reached as /proc/self's: a link inside it pointing anywhere
        // resolves inside it, and /proc/PID/root's magic links are refused.
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "secret".write(toFile: "\(directory)/secret", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(directory)/absolute", withDestinationPath: "/proc/self/root\(directory)/secret")
        let pid = getpid()
        #expect(throws: (any Error).self) { try TargetFile.open("/proc/\(pid)/root\(directory)/absolute") }
        #expect(throws: TargetFile.Refusal.self) { try TargetFile.open("/proc/\(pid)/root/proc/\(pid)/root\(directory)/secret") }
        let direct = try TargetFile.open("/proc/\(pid)/root\(directory)/secret")
        close(direct.descriptor)
        #expect(TargetFile.split("/proc/12/root/usr/lib/x").root == "/proc/12/root")
        #expect(TargetFile.split("/proc/12/root/usr/lib/x").inside == "usr/lib/x")
        #expect(TargetFile.split("/usr/lib/x").root == nil)
    }

    @Test func aFileOfAnotherUserIsRefusedWhereOwnershipMatters() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "1000 10 JS:~f x.js:1:1\n".write(toFile: "\(directory)/perf-2.map", atomically: true, encoding: .utf8)
        #expect(chown("\(directory)/perf-2.map", 65534, 65534) == 0)
        #expect(throws: TargetFile.Refusal.wrongOwner(uid: 65534)) { try TargetFile.open("\(directory)/perf-2.map", owner: 0) }
        #expect(PerfMap(path: "\(directory)/perf-2.map", owner: 0).refresh() == false)
        #expect(PerfMap(path: "\(directory)/perf-2.map", owner: 65534).refresh())
    }

    @Test func implausibleSectionTablesAreRefusedBeforeLibelfAllocates() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try FixtureProgram.path("deep_fp"))))
        // Extended section numbering: e_shnum 0, the count in section 0's sh_size — set to 2^32.
        let sectionOffset = bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 0x28, as: UInt64.self)) }
        bytes[0x3C] = 0
        bytes[0x3D] = 0
        withUnsafeBytes(of: UInt64(1 << 32)) { bytes.replaceSubrange(sectionOffset + 0x20..<sectionOffset + 0x28, with: $0) }
        let path = "\(directory)/huge"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: (any Error).self) { try ElfImage(path: path) }
        // A sparse file far beyond the size bound (16 KB on disk) is refused by its size.
        let sparse = "\(directory)/sparse"
        FileManager.default.createFile(atPath: sparse, contents: Data(bytes.prefix(16384)))
        #expect(truncate(sparse, off_t(ElfImage.maxFileBytes) + 1) == 0)
        #expect(throws: (any Error).self) { try ElfImage(path: sparse) }
    }

    @Test func hugeAddressesAndStackPointersNeverOverflow() throws {
        let image = try ElfImage(path: try FixtureProgram.path("deep_fp"))
        for address: UInt64 in [.max, .max - 1, 0, 1 << 63] {
            _ = image.symbol(at: address)
            _ = image.virtualAddress(fileOffset: address)
        }
        let stack = StackMemory(base: .max - 4095, bytes: [UInt8](repeating: 0xFF, count: 64))
        #expect(stack.word(at: .max - 7) == nil)
        var registers = [UInt64](repeating: .max, count: UnwindArchitecture.current.registerCount)
        registers[UnwindArchitecture.current.stackPointer] = 0xFFFF_FFFF_FFFF_F000
        let maps = ProcessMaps(pid: getpid(), text: "")
        let result = Unwinder().unwind(registers: registers, stack: stack, code: ProcessCode(maps: maps, cache: ElfCache()))
        #expect(result.frames.count <= 1)
    }

    @Test func demangledNamesAreBoundedWhateverTheirExpansion() {
        let symbolizer = Symbolizer(kernelSymbols: KernelSymbols(path: "/nonexistent"))
        #expect(symbolizer.demangle("_ZN4node2fs12ReadFileUtf8ERKN2v820FunctionCallbackInfoINS1_5ValueEEE") == "node::fs::ReadFileUtf8(v8::FunctionCallbackInfo<v8::Value> const&)")
        // 618 bytes that expand to 4,215: every S_ repeats the parameter type.
        let long = "_Z1f12abcdefghijkl" + String(repeating: "S_", count: 300)
        let name = symbolizer.demangle(long)
        #expect(name.utf8.count <= SymbolName.maxBytes)
        #expect(name.hasSuffix(SymbolName.truncationMarker))
        #expect(name.hasPrefix("f(abcdefghijkl, abcdefghijkl, "))
        #expect(symbolizer.demangle(String(repeating: "x", count: 5000)).utf8.count <= SymbolName.maxBytes)
        #expect(symbolizer.demangle("_Znotmangled") == "_Znotmangled")
    }

    @Test func perfMapsAreReadWithinBounds() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/perf-3.map"
        let longName = String(repeating: "n", count: 3000)
        var text = "1000 10 \(longName)\n" + String(repeating: "z", count: PerfMap.maxLineBytes * 2) + "\n2000 10 JS:~g x.js:2:1\n"
        text += (0..<(PerfMap.maxEntries + 10)).map { "\(String(0x10000 + $0 * 16, radix: 16)) 10 f\($0)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let map = PerfMap(path: path)
        #expect(map.refresh())
        #expect(map.entryCount == PerfMap.maxEntries)
        #expect(map.exhausted)
        #expect(map.symbol(at: 0x1005)?.name.utf8.count ?? 0 <= SymbolName.maxBytes)
        #expect(map.symbol(at: 0x2001)?.name == "JS:~g x.js:2:1", "an over-long line is skipped, not joined to the next")
    }
}

/// ELF files crafted the way a hostile user would: bytes of a real fixture build patched.
@Suite struct CraftedElfTests {
    static func patched(_ build: String, _ patch: (inout [UInt8]) throws -> Void) throws -> String {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try FixtureProgram.path(build))))
        try patch(&bytes)
        let path = NSTemporaryDirectory() + "errno-crafted-\(UUID().uuidString.prefix(8))"
        FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o755])
        return path
    }

    /// Offsets of the Elf64_Sym entries whose st_value is `address` (st_value at +8, st_size at +16).
    static func symbolEntries(_ bytes: [UInt8], address: UInt64) -> [Int] {
        stride(from: 0, to: bytes.count - 24, by: 8).filter { offset in
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) } == address
                && bytes[offset + 4] & 0xF == 2  // STT_FUNC
        }
    }

    @Test func aSymbolAsLargeAsTheAddressSpaceOverflowsNothing() throws {
        let address = try #require(try FixtureProgram.symbols("deep_fp")["open_config"])
        let path = try Self.patched("deep_fp") { bytes in
            let entries = Self.symbolEntries(bytes, address: address)
            try #require(!entries.isEmpty)
            for offset in entries { withUnsafeBytes(of: UInt64.max) { bytes.replaceSubrange(offset + 16..<offset + 24, with: $0) } }
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let image = try ElfImage(path: path)
        #expect(image.symbol(at: address)?.name == "open_config")
        for probe: UInt64 in [address + 1, .max, .max - 1] { _ = image.symbol(at: probe) }
    }

    @Test func aDebugLinkThatIsAPathIsNotFollowed() throws {
        let genuine = try ElfImage(path: try FixtureProgram.path("deep_linked"))
        #expect(genuine.debugFile != nil, "the fixture's own link works")
        let link = Array("deep_linked.debug".utf8)
        let path = try Self.patched("deep_linked") { bytes in
            let escape = Array("../../../../etc/x".utf8)
            try #require(escape.count == link.count)
            let at = try #require((0...(bytes.count - link.count)).first { Array(bytes[$0..<$0 + link.count]) == link })
            bytes.replaceSubrange(at..<at + link.count, with: escape)
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ElfImage(path: path).debugFile == nil)
    }

    /// DWARF nesting DIEs 100,000 deep (lexical blocks without ranges, before the function that
    /// holds the address): the scopes are found without recursing through them (libdw's own search
    /// recursed once per level and overflowed the thread's stack from about 60,000).
    @Test func deeplyNestedDebugInformationIsSearchedWithoutRecursion() throws {
        let directory = try HostileInputTests.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let main = try #require(try FixtureProgram.symbols("deep_fp")["main"])
        func le<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
        let depth = 100_000
        // Abbreviations: 1 compile unit (children), 2 subprogram (low_pc addr, high_pc data8), 3 lexical block (children).
        let abbreviations: [UInt8] = [1, 0x11, 1, 0, 0, 2, 0x2e, 0, 0x11, 0x01, 0x12, 0x07, 0, 0, 3, 0x0b, 1, 0, 0, 0]
        let body: [UInt8] = [1] + [UInt8](repeating: 3, count: depth) + [UInt8](repeating: 0, count: depth) + [2] + le(main) + le(UInt64(16)) + [0]
        let unitHeader: [UInt8] = le(UInt16(4)) + le(UInt32(0)) + [8]
        let info = le(UInt32(unitHeader.count + body.count)) + unitHeader + body
        let ranges: [UInt8] = le(UInt16(2)) + le(UInt32(0)) + [8, 0] + [UInt8](repeating: 0, count: 4) + le(main) + le(UInt64(16)) + le(UInt64(0)) + le(UInt64(0))
        for (name, bytes) in [("abbrev", abbreviations), ("info", info), ("aranges", le(UInt32(ranges.count)) + ranges)] {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        try FixtureProgram.run(
            "strip --strip-debug -o \(directory)/nested \(try FixtureProgram.path("deep_fp")) && objcopy --add-section .debug_abbrev=\(directory)/abbrev "
                + "--add-section .debug_info=\(directory)/info --add-section .debug_aranges=\(directory)/aranges \(directory)/nested")
        let image = try ElfImage(path: "\(directory)/nested", searchDebugFiles: false)
        #expect(image.sourceLocations(at: main + 4) == [SourceLocation(function: nil, file: nil, line: nil, inlined: false)])
    }
}
