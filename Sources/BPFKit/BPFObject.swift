import CLibBPF
import Glibc

/// A BPF object opened by libbpf (from a `bpftool gen skeleton` skeleton): its maps can be resized
/// before `load()`, its programs attached after. Closing (deinit) destroys the programs and maps it
/// still owns.
public final class BPFObject {
    let handle: OpaquePointer
    private let loader: () -> Int32
    private let closer: () -> Void
    public private(set) var isLoaded = false

    /// Wraps an opened object: `load` loads it (the skeleton's load also maps its global sections),
    /// `close` destroys it.
    public init(opened handle: OpaquePointer, load: @escaping () -> Int32, close: @escaping () -> Void) {
        self.handle = handle
        loader = load
        closer = close
    }

    deinit { closer() }

    /// Verifies and loads every program and creates every map in the kernel. A failure carries
    /// what libbpf said meanwhile (the verifier's log, unresolved externs) in `BPFError.log`.
    public func load() throws {
        let (result, warnings) = LibBPFLog.collectingWarnings { loader() }
        guard result >= 0 else {
            var error = BPFError("load BPF object", code: result)
            error.log = warnings
            throw error
        }
        isLoaded = true
    }

    /// A map of this object (a skeleton's `maps` member).
    public func map(_ map: OpaquePointer?) throws -> BPFMap {
        guard let map else { throw BPFError("find a map of the object", code: ENOENT) }
        return BPFMap(handle: map, owner: self)
    }

    /// A program of this object (a skeleton's `progs` member).
    public func program(_ program: OpaquePointer?) throws -> BPFProgram {
        guard let program else { throw BPFError("find a program of the object", code: ENOENT) }
        return BPFProgram(handle: program, owner: self)
    }
}

/// One program of a `BPFObject`.
public struct BPFProgram {
    let handle: OpaquePointer
    let owner: BPFObject

    public var name: String { String(cString: bpf_program__name(handle)) }

    /// Whether `load()` loads this program (default true); set before loading.
    public func setAutoload(_ autoload: Bool) throws {
        try BPFError.check("set autoload of program \(name)", bpf_program__set_autoload(handle, autoload))
    }
    /// The ELF section, e.g. "tp_btf/sys_exit".
    public var section: String { String(cString: bpf_program__section_name(handle)) }

    /// Times the kernel skipped this program because it was already running on that CPU
    /// (`bpf_prog_info.recursion_misses`): events the program never saw.
    public func recursionMisses() throws -> UInt64 {
        var info = bpf_prog_info()
        var size = UInt32(MemoryLayout<bpf_prog_info>.size)
        try BPFError.check("read info of program \(name)", bpf_obj_get_info_by_fd(bpf_program__fd(handle), &info, &size))
        return info.recursion_misses
    }

    /// Attaches a uprobe program at byte `offset` of the file at `binary` (a function's first
    /// byte), for every process that maps it; `cookie` is what bpf_get_attach_cookie() returns in
    /// the program. No function name is passed: libbpf would open and map `binary` by path itself
    /// (blocking, following links) to look it up; the caller finds the offset in a file it checked.
    public func attachUprobe(binary: String, offset: UInt64, cookie: UInt64 = 0) throws -> BPFLink {
        var options = bpf_uprobe_opts()
        options.sz = MemoryLayout<bpf_uprobe_opts>.size
        options.bpf_cookie = cookie
        guard let link = bpf_program__attach_uprobe_opts(handle, -1, binary, Int(bitPattern: UInt(offset)), &options) else {
            throw BPFError("attach uprobe \(name) to \(binary) at offset \(offset)", code: errno)
        }
        return BPFLink(handle: link, owner: owner)
    }

    /// Attaches the program where its section says (tp_btf, raw_tp, tracepoint, uprobe …).
    public func attach() throws -> BPFLink {
        guard let link = bpf_program__attach(handle) else {
            throw BPFError("attach program \(name) (\(section))", code: errno)
        }
        return BPFLink(handle: link, owner: owner)
    }
}

/// An attached program. Detaches when destroyed or on `detach()`.
public final class BPFLink {
    private var handle: OpaquePointer?
    private let owner: BPFObject

    init(handle: OpaquePointer, owner: BPFObject) {
        self.handle = handle
        self.owner = owner
    }

    deinit { detach() }

    public func detach() {
        if let handle { bpf_link__destroy(handle) }
        handle = nil
    }
}
