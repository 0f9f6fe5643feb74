import CLibBPF
import Glibc

/// The running kernel's BTF (/sys/kernel/btf/vmlinux), asked what the kernel offers: which helpers
/// it knows (enumerators of `enum bpf_func_id`) and which functions it has (kfuncs).
public final class KernelBTF {
    private let handle: OpaquePointer

    /// Loads the kernel's BTF; throws when the kernel has none.
    public init() throws {
        guard let handle = btf__load_vmlinux_btf() else { throw BPFError("load the kernel's BTF", code: errno) }
        self.handle = handle
    }

    deinit { btf__free(handle) }

    /// Whether the kernel knows the BPF helper `BPF_FUNC_<name>`.
    public func hasHelper(_ name: String) -> Bool {
        clibbpf_btf_has_enumerator(handle, "bpf_func_id", "BPF_FUNC_" + name)
    }

    /// Whether the kernel has a function named `name` (a kfunc's prerequisite).
    public func hasFunction(_ name: String) -> Bool {
        clibbpf_btf_has_function(handle, name)
    }
}
