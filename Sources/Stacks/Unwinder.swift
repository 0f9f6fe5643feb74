import CElfUtils
import Glibc

/// Unwinds a captured user stack: with each frame's call frame information where its module has it,
/// with the frame pointer chain where it has none (JIT code keeps frame pointers), reading saved
/// registers only from the captured stack copy.
public struct Unwinder: Sendable {
    public let architecture: UnwindArchitecture
    public let maxFrames: Int

    public init(architecture: UnwindArchitecture = .current, maxFrames: Int = 256) {
        self.architecture = architecture
        self.maxFrames = maxFrames
    }

    public func unwind(registers: [UInt64], stack: StackMemory, code: some CodeLocator) -> (frames: [UnwoundFrame], end: UnwindEnd) {
        var state: [UInt64?] = (0..<architecture.registerCount).map { $0 < registers.count ? registers[$0] : nil }
        guard let firstPC = state[architecture.programCounter], firstPC != 0 else { return ([], .outermost) }
        var frames = [UnwoundFrame(address: firstPC, method: .registers)]
        while frames.count < maxFrames {
            let pc = frames[frames.count - 1].address
            // A caller's address is a return address: look up the call instruction before it.
            let lookup = frames.count == 1 ? pc : pc &- 1
            var next: [UInt64?]
            var method = UnwindMethod.cfi
            if let (image, address) = code.image(at: lookup), let frame = image.callFrame(at: address) {
                defer { free(UnsafeMutableRawPointer(frame)) }
                switch step(frame: frame, state: state, stack: stack) {
                case let .success(registers): next = registers
                case let .failure(end): return (frames, end)
                }
            } else {
                method = .framePointer
                switch framePointerStep(state: state, stack: stack) {
                case let .success(registers): next = registers
                case let .failure(end): return (frames, end)
                }
            }
            guard let nextPC = next[architecture.programCounter], nextPC != 0 else { return (frames, .outermost) }
            guard let sp = state[architecture.stackPointer], let nextSP = next[architecture.stackPointer], nextSP > sp else {
                return (frames, .noProgress)
            }
            frames.append(UnwoundFrame(address: nextPC, method: method))
            state = next
        }
        return (frames, .frameLimit)
    }

    private func framePointerStep(state: [UInt64?], stack: StackMemory) -> Result<[UInt64?], UnwindEnd> {
        guard let framePointer = state[architecture.framePointer] else { return .failure(.noUnwindInfo) }
        guard framePointer != 0 else { return .failure(.outermost) }  // _start and thread entries clear it
        guard let savedFramePointer = stack.word(at: framePointer), let returnAddress = stack.word(at: framePointer &+ 8) else {
            let inCopy = framePointer >= stack.base && framePointer - stack.base < UInt64(stack.bytes.count) + 4096
            return .failure(inCopy || framePointer > stack.base ? .stackCopyEnd : .noUnwindInfo)
        }
        var next = [UInt64?](repeating: nil, count: architecture.registerCount)
        next[architecture.framePointer] = savedFramePointer
        next[architecture.stackPointer] = framePointer &+ 16
        next[architecture.programCounter] = returnAddress
        if architecture.returnAddress != architecture.programCounter { next[architecture.returnAddress] = returnAddress }
        return .success(next)
    }

    private enum Evaluation {
        case value(UInt64)
        case address(UInt64)
    }

    private func step(frame: OpaquePointer, state: [UInt64?], stack: StackMemory) -> Result<[UInt64?], UnwindEnd> {
        var operations: UnsafeMutablePointer<Dwarf_Op>?
        var count = 0
        guard dwarf_frame_cfa(frame, &operations, &count) == 0, count > 0, let operations,
            case let .success(cfaEvaluation) = evaluate(UnsafeBufferPointer(start: operations, count: count), state: state, cfa: nil, stack: stack)
        else { return .failure(.noUnwindInfo) }
        let cfa: UInt64
        switch cfaEvaluation {
        case let .value(value), let .address(value): cfa = value
        }
        var next = [UInt64?](repeating: nil, count: architecture.registerCount)
        var scratch = [Dwarf_Op](repeating: Dwarf_Op(), count: 3)
        for register in 0..<architecture.registerCount {
            let outcome: Result<UInt64?, UnwindEnd> = scratch.withUnsafeMutableBufferPointer { memory in
                var rule: UnsafeMutablePointer<Dwarf_Op>?
                var ruleCount = 0
                guard dwarf_frame_register(frame, Int32(register), memory.baseAddress!, &rule, &ruleCount) == 0 else { return .success(nil) }
                guard ruleCount > 0, let rule else {
                    return .success(rule == nil ? state[register] : nil)  // same value : undefined
                }
                switch evaluate(UnsafeBufferPointer(start: rule, count: ruleCount), state: state, cfa: cfa, stack: stack) {
                case let .success(.value(value)): return .success(value)
                case let .success(.address(address)):
                    guard let word = stack.word(at: address) else { return .failure(.stackCopyEnd) }
                    return .success(word)
                case .failure: return .success(nil)
                }
            }
            switch outcome {
            case let .success(value): next[register] = value
            case let .failure(end):
                // Only the return address is indispensable; other saved registers may stay unknown.
                if register == architecture.returnAddress { return .failure(end) }
            }
        }
        next[architecture.stackPointer] = cfa
        if architecture.returnAddress != architecture.programCounter {
            next[architecture.programCounter] = next[architecture.returnAddress]
        } else if next[architecture.returnAddress] == nil {
            return .failure(.outermost)
        }
        return .success(next)
    }

    /// A DWARF expression from CFI: the CFA rule (which yields a value) or a register rule (which
    /// yields a memory address, or a value when it ends with DW_OP_stack_value).
    private func evaluate(_ operations: UnsafeBufferPointer<Dwarf_Op>, state: [UInt64?], cfa: UInt64?, stack: StackMemory) -> Result<Evaluation, UnwindEnd> {
        var values: [UInt64] = []
        func register(_ number: Int) -> UInt64? { number >= 0 && number < state.count ? state[number] : nil }
        /// A register number as the CFI gives it (any 64-bit value; only the known ones exist).
        func register(_ number: UInt64) -> UInt64? { number < UInt64(state.count) ? state[Int(number)] : nil }
        for operation in operations {
            let atom = Int(operation.atom)
            let number = operation.number
            switch atom {
            case DW_OP_lit0...DW_OP_lit31: values.append(UInt64(atom - DW_OP_lit0))
            case DW_OP_breg0...DW_OP_breg31:
                guard let base = register(atom - DW_OP_breg0) else { return .failure(.noUnwindInfo) }
                values.append(base &+ number)
            case DW_OP_bregx:
                guard let base = register(number) else { return .failure(.noUnwindInfo) }
                values.append(base &+ operation.number2)
            case DW_OP_reg0...DW_OP_reg31:
                guard let value = register(atom - DW_OP_reg0) else { return .failure(.noUnwindInfo) }
                return .success(.value(value))
            case DW_OP_regx:
                guard let value = register(number) else { return .failure(.noUnwindInfo) }
                return .success(.value(value))
            case DW_OP_call_frame_cfa:
                guard let cfa else { return .failure(.noUnwindInfo) }
                values.append(cfa)
            case DW_OP_const1u, DW_OP_const1s, DW_OP_const2u, DW_OP_const2s, DW_OP_const4u, DW_OP_const4s, DW_OP_const8u, DW_OP_const8s,
                DW_OP_constu, DW_OP_consts, DW_OP_addr:
                values.append(number)
            case DW_OP_plus_uconst:
                guard let top = values.popLast() else { return .failure(.noUnwindInfo) }
                values.append(top &+ number)
            case DW_OP_dup:
                guard let top = values.last else { return .failure(.noUnwindInfo) }
                values.append(top)
            case DW_OP_drop:
                guard values.popLast() != nil else { return .failure(.noUnwindInfo) }
            case DW_OP_swap:
                guard values.count >= 2 else { return .failure(.noUnwindInfo) }
                values.swapAt(values.count - 1, values.count - 2)
            case DW_OP_deref:
                guard let address = values.popLast() else { return .failure(.noUnwindInfo) }
                guard let word = stack.word(at: address) else { return .failure(.stackCopyEnd) }
                values.append(word)
            case DW_OP_neg, DW_OP_not:
                guard let top = values.popLast() else { return .failure(.noUnwindInfo) }
                values.append(atom == DW_OP_neg ? 0 &- top : ~top)
            case DW_OP_plus, DW_OP_minus, DW_OP_mul, DW_OP_and, DW_OP_or, DW_OP_xor, DW_OP_shl, DW_OP_shr, DW_OP_shra,
                DW_OP_eq, DW_OP_ne, DW_OP_lt, DW_OP_le, DW_OP_gt, DW_OP_ge:
                guard values.count >= 2, let b = values.popLast(), let a = values.popLast() else { return .failure(.noUnwindInfo) }
                let (sa, sb) = (Int64(bitPattern: a), Int64(bitPattern: b))
                let result: UInt64 =
                    switch atom {
                    case DW_OP_plus: a &+ b
                    case DW_OP_minus: a &- b
                    case DW_OP_mul: a &* b
                    case DW_OP_and: a & b
                    case DW_OP_or: a | b
                    case DW_OP_xor: a ^ b
                    case DW_OP_shl: b >= 64 ? 0 : a << b
                    case DW_OP_shr: b >= 64 ? 0 : a >> b
                    case DW_OP_shra: UInt64(bitPattern: sa >> min(b, 63))
                    case DW_OP_eq: sa == sb ? 1 : 0
                    case DW_OP_ne: sa != sb ? 1 : 0
                    case DW_OP_lt: sa < sb ? 1 : 0
                    case DW_OP_le: sa <= sb ? 1 : 0
                    case DW_OP_gt: sa > sb ? 1 : 0
                    default: sa >= sb ? 1 : 0
                    }
                values.append(result)
            case DW_OP_stack_value:
                guard let top = values.last else { return .failure(.noUnwindInfo) }
                return .success(.value(top))
            case DW_OP_nop:
                continue
            default:
                return .failure(.noUnwindInfo)
            }
        }
        guard let top = values.last else { return .failure(.noUnwindInfo) }
        return .success(cfa == nil ? .value(top) : .address(top))
    }
}

/// Where the code at an address comes from, for the unwinder: the ELF image and the ELF virtual
/// address that corresponds to the runtime address.
public protocol CodeLocator {
    func image(at address: UInt64) -> (image: ElfImage, virtualAddress: UInt64)?
}
