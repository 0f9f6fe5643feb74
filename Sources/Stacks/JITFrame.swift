/// A frame of JIT code as the runtime's own records name it.
public struct JITFrame: Equatable, Sendable {
    /// `JS:` + V8's tier mark + the function's name, as V8 names code in perf maps.
    public var symbol: String
    public var file: String?
    public var line: Int?
    /// Compiled into the next frame's code.
    public var inlined: Bool
    /// Bytes from the code's start (the outermost frame only).
    public var offset: UInt64?
}
