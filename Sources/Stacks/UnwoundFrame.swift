/// How a frame's address was found.
public enum UnwindMethod: String, Sendable {
    /// The program counter captured at the syscall.
    case registers
    /// The previous frame's call frame information (`.eh_frame` / `.debug_frame`).
    case cfi
    /// The previous frame's saved frame pointer (code without CFI, such as JIT code).
    case framePointer = "frame_pointer"
    /// Walked by the kernel (kernel stacks).
    case kernel
}

/// Why unwinding stopped.
public enum UnwindEnd: String, Error, Sendable {
    /// The outermost frame: CFI marks no caller (e.g. `_start`), or the frame pointer chain ends with 0.
    case outermost
    /// The next frame lies beyond the copied stack bytes (raise `captures.user_stack_bytes`).
    case stackCopyEnd = "stack_copy_end"
    /// No CFI for the address and no usable frame pointer.
    case noUnwindInfo = "no_unwind_info"
    /// The stack pointer did not move up: a corrupt or looping chain.
    case noProgress = "no_progress"
    case frameLimit = "frame_limit"
}

/// One unwound frame: the address (the call's return address for callers) and how it was found.
public struct UnwoundFrame: Sendable, Equatable {
    public let address: UInt64
    public let method: UnwindMethod
}
