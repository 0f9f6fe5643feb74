/// Where an address is in the source, as the module's DWARF says: the function, file and line. A
/// function the compiler inlined at that address is a location of its own (`inlined`), innermost
/// first, as `addr2line -i` and `perf` show them.
public struct SourceLocation: Sendable, Equatable {
    public var function: String?
    public var file: String?
    public var line: Int?
    /// Inlined into the function of the next location.
    public var inlined: Bool

    public init(function: String?, file: String?, line: Int?, inlined: Bool) {
        self.function = function
        self.file = file
        self.line = line
        self.inlined = inlined
    }
}
