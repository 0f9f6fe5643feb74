import ErrnoKernel
import FixtureSupport
import Foundation
import Testing

@testable import Stacks

/// The readers of what a captured process controls, on mutated input: its ELF files, its stack
/// bytes and registers, its perf map, its symbol names, and the kernel's records of it.
@Suite struct StacksFuzzTests {
    @Test func elfReader() throws {
        let fixture = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try FixtureProgram.path("deep_fp"))))
        let path = NSTemporaryDirectory() + "errno-fuzz-elf-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: [fixture, Array(fixture.prefix(64))]) { input in
            FileManager.default.createFile(atPath: path, contents: Data(input))
            guard let image = try? ElfImage(path: path, searchDebugFiles: false) else { return }
            for address in [0, 0x1000, 0x1139, 0x12d8, UInt64.max, 1 << 40] as [UInt64] {
                _ = image.symbol(at: address)
                _ = image.virtualAddress(fileOffset: address)
                if let frame = image.callFrame(at: address) { free(UnsafeMutableRawPointer(frame)) }
                _ = image.sourceLocations(at: address)
            }
            _ = image.defines("main")
        }
        #expect(runs > 10)
    }

    @Test func unwinderOnRandomRegistersAndStacks() throws {
        // This process's own code: real modules with real CFI, driven by random state.
        let code = ProcessCode(maps: try ProcessMaps(pid: getpid()), cache: ElfCache())
        let text = code.maps.mappings.filter(\.executable).map(\.start)
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: [[UInt8](repeating: 0, count: 512), Array((0..<255).map { UInt8($0) })]) { input in
            var registers = (0..<UnwindArchitecture.current.registerCount).map { index in
                input.count >= (index + 1) * 8 ? input.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) } : 0
            }
            if let start = text.first, input.first.map({ $0 & 1 == 0 }) == true {
                registers[UnwindArchitecture.current.programCounter] = start &+ UInt64(input.count)
            }
            let stack = StackMemory(base: registers[UnwindArchitecture.current.stackPointer], bytes: input)
            let result = Unwinder().unwind(registers: registers, stack: stack, code: code)
            #expect(result.frames.count <= 256)
        }
        #expect(runs > 100)
    }

    @Test func perfMapLinesAndNames() {
        let corpus = ["7f00 10 JS:~loadConfig /srv/server.js:9:22", "0x10 0x20 LazyCompile:*f file:///a.js:1:2", "ffffffffffffffff ffff x", " 1 1 "]
            .map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: corpus) { input in
            guard let entry = PerfMap.parse(input) else { return }
            #expect(entry.name.utf8.count <= SymbolName.maxBytes)
            let location = PerfMap.sourceLocation(of: entry.name)
            #expect(location.line.map { $0 >= 0 || $0 < 0 } ?? true)
        }
        #expect(runs > 100)
    }

    @Test func demanglerStaysBounded() {
        let symbolizer = Symbolizer(kernelSymbols: KernelSymbols(path: "/nonexistent"))
        let corpus = ["_ZN4node2fs12ReadFileUtf8ERKN2v820FunctionCallbackInfoINS1_5ValueEEE", "_Z1f12abcdefghijklS_S_S_S_S_S_S_", "_ZNK1AIiE1fEv"]
            .map { Array($0.utf8) }
        var fuzzer = Fuzzer()
        let runs = fuzzer.run(corpus: corpus) { input in
            let name = symbolizer.demangle(String(decoding: input, as: UTF8.self))
            #expect(name.utf8.count <= SymbolName.maxBytes)
        }
        #expect(runs > 100)
    }

    @Test func captureRecordDecoder() {
        var fuzzer = Fuzzer()
        let record = [UInt8](repeating: 0, count: 10_600 + 64)
        let runs = fuzzer.run(corpus: [record, Array(record.prefix(100))]) { input in
            guard let decoded = input.withUnsafeBytes({ CaptureRecord($0, clockOffset: 0) }) else { return }
            #expect(decoded.userStack.count <= input.count)
            #expect(decoded.kernelStack.count <= 64)
            #expect((decoded.mappings?.count ?? 0) <= 32)
        }
        #expect(runs > 10)
    }
}
