import BPFKit
import CErrnoBPF
import ErrnoConfig
import Glibc
import KernelNames

/// The loaded and attached `bpf/errno.bpf.c`: owns the BPF object, its link and its map readers.
/// Not thread-safe; `FailureMetrics` serializes access.
public final class ErrnoProgram {
    /// Map and program names in bpf/errno.bpf.c.
    enum Names {
        static let program = "count_syscall_failure"
    }

    private let object: BPFObject
    private var links: [BPFLink] = []
    let counter: BPFProgram
    let failures: CounterMapReader
    let overflow: CounterMapReader
    let pathFailures: CounterMapReader
    let pathOverflow: CounterMapReader
    let events: CounterMapReader
    private let settings: BPFMap
    private let pathSyscalls: BPFMap
    private let excludedErrnos: BPFMap
    private let commFilter: BPFMap
    private let pidFilter: BPFMap
    private let cgroupFilter: BPFMap
    /// What the settings maps hold now (the kernel zero-fills them at load).
    private var applied = KernelSettings()

    /// Opens the embedded object and sizes its maps from `config`; nothing is in the kernel yet.
    public init(config: Config, readStrategy: CounterMapReader.Strategy = .batch) throws {
        var size = 0
        guard let bytes = errno_bpf_object(&size) else { throw StartupError("the embedded BPF object is missing") }
        object = try BPFObject(elf: UnsafeRawBufferPointer(start: bytes, count: size), name: "errno")
        let failureMap = try object.map("syscall_failures")
        try failureMap.setMaxEntries(config.syscalls.maxSeries)
        let pathMap = try object.map("path_failures")
        try pathMap.setMaxEntries(config.paths.maxSeries)
        failures = try CounterMapReader(map: failureMap, strategy: readStrategy)
        overflow = try CounterMapReader(map: object.map("syscall_overflow"), strategy: readStrategy)
        pathFailures = try CounterMapReader(map: pathMap, strategy: readStrategy)
        pathOverflow = try CounterMapReader(map: object.map("path_overflow"), strategy: readStrategy)
        events = try CounterMapReader(map: object.map("event_counts"), strategy: readStrategy)
        settings = try object.map("settings")
        pathSyscalls = try object.map("path_syscalls")
        excludedErrnos = try object.map("excluded_errnos")
        commFilter = try object.map("comm_filter")
        pidFilter = try object.map("pid_filter")
        cgroupFilter = try object.map("cgroup_filter")
        counter = try object.program(Names.program)
    }

    /// Writes `new` into the settings maps — only what changed — while the program keeps running.
    /// Lists are completed before the filter flags switch, so a reload never counts under a
    /// half-written allow-list.
    public func apply(_ new: KernelSettings) throws {
        try load()
        for number in Set(applied.pathArguments.keys).union(new.pathArguments.keys) where applied.pathArguments[number] != new.pathArguments[number] {
            try pathSyscalls.update(number, new.pathArguments[number] ?? 0)
        }
        for value in applied.excludedErrnos.symmetricDifference(new.excludedErrnos) where value < MAX_ERRNO_VALUE {
            try excludedErrnos.update(value, UInt32(new.excludedErrnos.contains(value) ? 1 : 0))
        }
        for (comm, mark) in new.commFilter where applied.commFilter[comm] != mark {
            try commFilter.update(KernelSettings.commKey(comm), mark)
        }
        for pid in new.pids.subtracting(applied.pids) { try pidFilter.update(pid, UInt32(1)) }
        for id in new.cgroupIDs.subtracting(applied.cgroupIDs) { try cgroupFilter.update(id, UInt32(1)) }
        try settings.update(UInt32(0), agent_settings(filters: new.filters, labels: new.labels))
        for comm in applied.commFilter.keys where new.commFilter[comm] == nil { try commFilter.delete(KernelSettings.commKey(comm)) }
        for pid in applied.pids.subtracting(new.pids) { try pidFilter.delete(pid) }
        for id in applied.cgroupIDs.subtracting(new.cgroupIDs) { try cgroupFilter.delete(id) }
        applied = new
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
