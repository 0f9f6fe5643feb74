/// Register numbering (DWARF's) of the architectures the agent runs on.
public struct UnwindArchitecture: Sendable, Equatable {
    public let name: String
    public let registerCount: Int
    public let stackPointer: Int
    public let programCounter: Int
    public let framePointer: Int
    /// The CFI column holding the return address.
    public let returnAddress: Int

    public static let x86_64 = UnwindArchitecture(name: "x86_64", registerCount: 17, stackPointer: 7, programCounter: 16, framePointer: 6, returnAddress: 16)
    public static let aarch64 = UnwindArchitecture(name: "aarch64", registerCount: 33, stackPointer: 31, programCounter: 32, framePointer: 29, returnAddress: 30)

    #if arch(x86_64)
    public static let current = x86_64
    #else
    public static let current = aarch64
    #endif
}
