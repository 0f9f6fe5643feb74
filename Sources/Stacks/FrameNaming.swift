/// What named a frame: how far to trust its name, and where to look when it is wrong.
public enum FrameNaming: String, Sendable {
    /// The module's ELF symbol table.
    case symbolTable = "symtab"
    /// DWARF (the module's, its debug file's, or one from debuginfod): functions inlined, or no symbol.
    case dwarf
    /// A JIT's perf map (`/tmp/perf-PID.map`): one name per code object.
    case perfMap = "perf_map"
    /// V8's code log: optimized code's source positions and inlined functions.
    case v8Log = "v8_log"
    /// The kernel's symbols (`/proc/kallsyms`).
    case kallsyms
}
