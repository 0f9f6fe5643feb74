import BPFKit
import CErrnoBPF

/// What the running kernel offers the agent, probed from its BTF before anything loads: each
/// capability degrades by itself, and what is missing is named with the kernel that brings it.
/// Counting needs only BTF and `tp_btf` (Linux 5.5).
public struct KernelFeatures: Sendable, Equatable {
    /// One probed capability.
    public enum Feature: String, Sendable, CaseIterable {
        /// bpf_get_current_task_btf: the comm read with two loads instead of a helper call.
        case taskBTF = "task_btf"
        /// bpf_get_current_ancestor_cgroup_id: `filters.cgroups`.
        case ancestorCgroup = "cgroup_filter"
        /// Ring buffers, bpf_get_task_stack, bpf_task_pt_regs: stack captures.
        case captures = "stack_captures"
        /// bpf_get_attach_cookie on uprobes: `async_stacks`.
        case uprobeCookies = "async_stacks"
        /// The VMA iterator kfuncs: the kernel records a process's executable mappings at capture.
        case vmaIterator = "vma_iterator"

        /// The helpers (BPF_FUNC_…) and kernel functions it needs.
        var helpers: [String] {
            switch self {
            case .taskBTF: ["get_current_task_btf"]
            case .ancestorCgroup: ["get_current_ancestor_cgroup_id"]
            case .captures: ["ringbuf_reserve", "get_task_stack", "task_pt_regs", "get_current_task_btf"]
            case .uprobeCookies: ["get_attach_cookie"]
            case .vmaIterator: ["loop"]
            }
        }

        var kernelFunctions: [String] {
            self == .vmaIterator ? ["bpf_iter_task_vma_new", "bpf_iter_task_vma_next", "bpf_iter_task_vma_destroy"] : []
        }

        /// The upstream kernel that brings it.
        public var since: String {
            switch self {
            case .taskBTF: "Linux 5.11"
            case .ancestorCgroup: "Linux 5.7"
            case .captures: "Linux 5.15"
            case .uprobeCookies: "Linux 5.15"
            case .vmaIterator: "Linux 6.7"
            }
        }

        /// What the agent does without it.
        public var withoutIt: String {
            switch self {
            case .taskBTF: "comm is read with bpf_get_current_comm (slower failure path)"
            case .ancestorCgroup: "filters.cgroups is refused"
            case .captures: "triggers match nothing and no stack is captured; counting is unaffected"
            case .uprobeCookies: "async_stacks is ignored: pool-thread captures carry no submitting stack"
            case .vmaIterator:
                "executable mappings are read from /proc/PID/maps when a capture arrives (kept per process): a process that exits before that, never captured earlier, keeps bare addresses"
            }
        }
    }

    public var available: Set<Feature>

    public init(available: Set<Feature> = Set(Feature.allCases)) {
        self.available = available
    }

    /// Probes the running kernel's BTF.
    public static func probe() throws -> KernelFeatures {
        let btf = try KernelBTF()
        return KernelFeatures(available: Set(Feature.allCases.filter { feature in
            feature.helpers.allSatisfy(btf.hasHelper) && feature.kernelFunctions.allSatisfy(btf.hasFunction)
        }))
    }

    public func has(_ feature: Feature) -> Bool { available.contains(feature) }

    public var missing: [Feature] { Feature.allCases.filter { !available.contains($0) } }

    /// Async stacks need captures and uprobe cookies.
    public var supportsAsyncStacks: Bool { has(.captures) && has(.uprobeCookies) }

    /// `enum kernel_feature_flags` for the program's `kernel_features` global.
    var programFlags: UInt32 {
        (has(.taskBTF) ? FEATURE_TASK_BTF.rawValue : 0) | (has(.ancestorCgroup) ? FEATURE_ANCESTOR_CGROUP.rawValue : 0)
            | (has(.captures) ? FEATURE_CAPTURES.rawValue : 0)
    }
}
