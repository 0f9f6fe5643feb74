/// A captured user stack, unwound and symbolized.
public struct ResolvedStack: Sendable {
    /// Innermost first.
    public var frames: [StackFrame]
    /// Why unwinding stopped.
    public var end: UnwindEnd
    /// False when no memory map was at hand (neither recorded nor readable, or read empty as the
    /// process exited): frames keep bare addresses.
    public var hadMaps: Bool
}

/// The whole recipe for one capture's stacks: the process's executable mappings (as recorded at the
/// syscall, else read from /proc as the record arrived or as last seen: `ProcessMapsCache`), its
/// JIT's perf map and V8 log, CFI and frame-pointer unwinding over the copied stack, and
/// symbolization; kernel frames named from kallsyms. Caches ELF files across captures.
/// Not thread-safe, but for `rememberMaps(pid:)`: one capture thread uses it.
public final class StackResolver {
    public let symbolizer: Symbolizer
    private let unwinder = Unwinder()
    private let mapsCache = ProcessMapsCache()

    /// `kernelSymbols` were read while privileged; `debugInfo` fetches debug files modules lack.
    public init(kernelSymbols: KernelSymbols, debugInfo: DebugInfoFetcher? = nil) {
        symbolizer = Symbolizer(kernelSymbols: kernelSymbols, debugInfo: debugInfo)
    }

    /// Unwinds `stack` (copied from `registers`' stack pointer up) of process `pid`, with the
    /// mappings the kernel recorded, else those `rememberMaps(pid:)` read as the record arrived
    /// (`processStart`: what it returned).
    public func userStack(pid: Int32, registers: [UInt64], stack: [UInt8], recordedMaps: [Mapping]?, processStart: UInt64?) -> ResolvedStack {
        let maps = recordedMaps.map { ProcessMaps(pid: pid, mappings: $0) } ?? mapsCache.maps(pid: pid, arrivedWith: processStart)
        let hadMaps = maps.map { !$0.mappings.isEmpty } ?? false  // an exiting process's maps read empty
        let stackPointer = unwinder.architecture.stackPointer
        guard registers.count > stackPointer else { return ResolvedStack(frames: [], end: .noUnwindInfo, hadMaps: hadMaps) }
        let jit = symbolizer.jitSymbols(pid: pid)
        let code = ProcessCode(maps: maps ?? ProcessMaps(pid: pid, text: ""), cache: symbolizer.cache)
        let unwound = unwinder.unwind(registers: registers, stack: StackMemory(base: registers[stackPointer], bytes: stack), code: code)
        return ResolvedStack(frames: symbolizer.userFrames(unwound.frames, code: code, jit: jit), end: unwound.end, hadMaps: hadMaps)
    }

    /// Reads and remembers process `pid`'s maps now, for a record that carries none: called by the
    /// thread reading the ring as the record arrives, since the process may exit before its turn
    /// to be symbolized comes. The one method safe to call from another thread than the capture one.
    /// Returns the process's start time, nil when it is already gone.
    public func rememberMaps(pid: Int32) -> UInt64? {
        mapsCache.remember(pid: pid)
    }

    /// Re-reads the maps of the processes remembered from records without mappings (call every
    /// few seconds from the capture thread).
    public func refreshProcessMaps() {
        mapsCache.refresh()
    }

    /// Names kernel return addresses.
    public func kernelStack(_ addresses: [UInt64]) -> [StackFrame] {
        symbolizer.kernelFrames(addresses)
    }
}
