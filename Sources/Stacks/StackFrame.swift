/// One frame of a symbolized stack, innermost first in a list.
public struct StackFrame: Sendable, Equatable {
    /// The runtime address (for callers: the return address).
    public var address: UInt64
    /// The function; nil when no symbol covers the address.
    public var symbol: String?
    /// Bytes from the symbol's start.
    public var offset: UInt64?
    /// The file (ELF path, `[vdso]`, `[kernel]`, `[jit]` …) the address belongs to.
    public var module: String?
    /// The address as an ELF virtual address of `module` (for addr2line / objdump), when known.
    public var moduleAddress: UInt64?
    /// The GNU build ID of `module` (lowercase hex), when it has one: what debuginfod, pprof and
    /// symbolization servers match debug info by. For `[kernel]`, the running kernel's.
    public var buildID: String?
    /// Source file and line, where known: from the perf map of JIT code, from DWARF for native code.
    public var file: String?
    public var line: Int?
    /// A function the compiler inlined into the next frame: same address, a frame of its own.
    public var inlined = false
    public var method: UnwindMethod
    /// What named the frame; nil when nothing did.
    public var namedBy: FrameNaming?

    public init(address: UInt64, method: UnwindMethod) {
        self.address = address
        self.method = method
    }

    /// `0x1f`: how addresses are shown.
    public static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// `symbol+0x1f (module)`, `module+0x1234` or the bare address: how the folded and text forms show it.
    public var displayName: String {
        displayName(buildID: false)
    }

    /// `displayName`, followed by ` [<build ID>]` when `buildID` and the module has one.
    public func displayName(buildID withBuildID: Bool) -> String {
        guard withBuildID, let buildID else { return plainName }
        return plainName + " [" + buildID + "]"
    }

    /// A frame whose module was read as an ELF file that has no build ID.
    public var lacksBuildID: Bool { method != .kernel && moduleAddress != nil && buildID == nil }

    private var plainName: String {
        if let symbol { return file.map { "\(symbol) \($0):\(line ?? 0)" } ?? symbol }
        if let module, let moduleAddress { return "\(module)+\(Self.hex(moduleAddress))" }
        return Self.hex(address)
    }
}
