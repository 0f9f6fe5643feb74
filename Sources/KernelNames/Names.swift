/// Syscall names of one architecture, as the kernel names them (`openat`, `newfstatat`).
public struct SyscallNames: Sendable {
    /// Architectures the BPF program supports.
    public enum Architecture: String, Sendable {
        case x86_64, arm64

        /// The architecture this binary runs on.
        public static var current: Architecture {
            #if arch(x86_64)
            .x86_64
            #elseif arch(arm64)
            .arm64
            #else
            #error("errno_exporter supports x86_64 and arm64")
            #endif
        }
    }

    public let architecture: Architecture
    private let table: [String?]

    public init(_ architecture: Architecture = .current) {
        self.architecture = architecture
        table = switch architecture {
        case .x86_64: GeneratedTables.x86_64Syscalls
        case .arm64: GeneratedTables.arm64Syscalls
        }
    }

    /// The name of syscall `number`, or `syscall_<N>` when the table has none.
    public func name(_ number: UInt32) -> String {
        Int(number) < table.count ? table[Int(number)] ?? "syscall_\(number)" : "syscall_\(number)"
    }

    /// The number of the syscall called `name`, if this architecture has it.
    public func number(_ name: String) -> UInt32? {
        table.firstIndex(of: name).map { UInt32($0) }
    }
}

/// errno names (`ENOENT`); x86_64 and arm64 share the asm-generic values.
public enum ErrnoNames {
    /// The symbolic name of `value`, or `errno_<N>` when it has none.
    public static func name(_ value: UInt32) -> String {
        Int(value) < GeneratedTables.errnos.count ? GeneratedTables.errnos[Int(value)] ?? "errno_\(value)" : "errno_\(value)"
    }

    /// The value named `name` (`ENOENT` → 2).
    public static func value(_ name: String) -> UInt32? {
        GeneratedTables.errnos.firstIndex(of: name).map { UInt32($0) }
    }
}
