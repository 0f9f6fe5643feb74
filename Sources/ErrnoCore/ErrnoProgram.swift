import BPFKit
import CErrnoBPF
import ErrnoConfig
import Glibc

/// The loaded and attached `bpf/errno.bpf.c`: owns the BPF object, its link and its map readers.
/// Not thread-safe; `FailureMetrics` serializes access.
public final class ErrnoProgram {
    /// Map and program names in bpf/errno.bpf.c.
    enum Names {
        static let program = "count_syscall_failure"
        static let failures = "syscall_failures"
        static let overflow = "syscall_overflow"
        static let drops = "dropped_events"
    }

    private let object: BPFObject
    private var links: [BPFLink] = []
    let counter: BPFProgram
    let failures: CounterMapReader
    let overflow: CounterMapReader
    let drops: CounterMapReader

    /// Opens the embedded object and sizes its maps from `config`; nothing is in the kernel yet.
    public init(config: Config, readStrategy: CounterMapReader.Strategy = .batch) throws {
        var size = 0
        guard let bytes = errno_bpf_object(&size) else { throw StartupError("the embedded BPF object is missing") }
        object = try BPFObject(elf: UnsafeRawBufferPointer(start: bytes, count: size), name: "errno")
        let failureMap = try object.map(Names.failures)
        try failureMap.setMaxEntries(config.syscalls.maxSeries)
        failures = try CounterMapReader(map: failureMap, strategy: readStrategy)
        overflow = try CounterMapReader(map: object.map(Names.overflow), strategy: readStrategy)
        drops = try CounterMapReader(map: object.map(Names.drops), strategy: readStrategy)
        counter = try object.program(Names.program)
    }

    /// Verifies the programs and creates the maps in the kernel; nothing runs until `attach()`.
    public func load() throws {
        guard !object.isLoaded else { return }
        do {
            try object.load()
        } catch {
            throw Preflight.explain(error)
        }
    }

    /// Loads (if not done yet) and attaches every program.
    public func attach() throws {
        try load()
        do {
            links.append(try counter.attach())
        } catch {
            throw Preflight.explain(error)
        }
    }

    public var isAttached: Bool { !links.isEmpty }

    /// Detaches every program; maps stay readable until the object is released.
    public func detach() {
        links.forEach { $0.detach() }
        links.removeAll()
    }
}
