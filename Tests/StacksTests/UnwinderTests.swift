import Stacks
import Testing

/// The unwinder's frame-pointer path and its stop reasons, on a hand-made stack (code without CFI,
/// as JIT code is); CFI unwinding is checked on real captures by the integration tests.
@Suite struct UnwinderTests {
    /// Finds no CFI anywhere: every step uses the frame pointer.
    struct NoCode: CodeLocator {
        func image(at address: UInt64) -> (image: ElfImage, virtualAddress: UInt64)? { nil }
    }

    /// A stack at 0x1000 with frames chained through saved frame pointers: [saved fp, return address].
    static func stack(returnAddresses: [UInt64], endingWith last: UInt64 = 0) -> (registers: [UInt64], memory: StackMemory) {
        let base: UInt64 = 0x1000
        var words: [UInt64] = [0xdead, 0xbeef]  // the innermost frame's locals
        var framePointer = base + 16
        for (index, address) in returnAddresses.enumerated() {
            let next = index == returnAddresses.count - 1 ? last : framePointer + 32
            words += [next, address, 0, 0]  // saved fp, return address, two words of the caller's frame
            framePointer += 32
        }
        var registers = [UInt64](repeating: 0, count: 33)
        let architecture = UnwindArchitecture.current
        registers[architecture.programCounter] = 0x40_0000
        registers[architecture.stackPointer] = base
        registers[architecture.framePointer] = base + 16
        let bytes = words.flatMap { word in withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        return (registers, StackMemory(base: base, bytes: bytes))
    }

    @Test func framePointerChainsUnwindToTheOutermostFrame() {
        let (registers, memory) = Self.stack(returnAddresses: [0x40_1000, 0x40_2000, 0x40_3000])
        let (frames, end) = Unwinder().unwind(registers: registers, stack: memory, code: NoCode())
        #expect(frames.map(\.address) == [0x40_0000, 0x40_1000, 0x40_2000, 0x40_3000])
        #expect(frames.map(\.method) == [.registers, .framePointer, .framePointer, .framePointer])
        #expect(end == .outermost)  // the last saved frame pointer is 0: the chain's end
    }

    @Test func aChainLeavingTheCopySaysSo() {
        let (registers, memory) = Self.stack(returnAddresses: [0x40_1000], endingWith: 0x1000 + 4096)
        let (frames, end) = Unwinder().unwind(registers: registers, stack: memory, code: NoCode())
        #expect(frames.count == 2)
        #expect(end == .stackCopyEnd)
    }

    @Test func aChainThatDoesNotMoveUpStops() {
        // The saved frame pointer points below the current one: a corrupt chain.
        let (registers, memory) = Self.stack(returnAddresses: [0x40_1000, 0x40_2000], endingWith: 0)
        var looping = memory.bytes
        withUnsafeBytes(of: UInt64(0x1000).littleEndian) { looping.replaceSubrange(16..<24, with: $0) }
        let (frames, end) = Unwinder().unwind(registers: registers, stack: StackMemory(base: 0x1000, bytes: looping), code: NoCode())
        #expect(frames.count == 2)
        #expect(end == .noProgress)
    }

    @Test func stackWordsAreReadOnlyInsideTheCopy() {
        let memory = StackMemory(base: 0x1000, bytes: [UInt8](repeating: 1, count: 16))
        #expect(memory.word(at: 0x1008) == 0x0101_0101_0101_0101)
        #expect(memory.word(at: 0x1009) == nil)
        #expect(memory.word(at: 0xff8) == nil)
        #expect(memory.word(at: .max - 3) == nil)
    }
}
