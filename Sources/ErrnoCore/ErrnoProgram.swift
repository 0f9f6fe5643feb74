import BPFKit
import CErrnoBPF
import ErrnoConfig
import Glibc
import KernelNames
import Logging

/// The loaded and attached `bpf/errno.bpf.c`: owns the BPF object, its link and its map readers.
/// Not thread-safe; `FailureMetrics` serializes access.
public final class ErrnoProgram {
    /// Map and program names in bpf/errno.bpf.c.
    enum Names {
        static let program = "on_syscall_exit"
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
    private let triggerSettings: BPFMap
    private let triggerRates: BPFMap
    private let triggerExactPaths: BPFMap
    private let triggerPrefixes: BPFMap
    private let globals: BPFMap
    let triggerCounts: CounterMapReader
    /// The ring buffer of captures (read by `CaptureConsumer`).
    public let captures: BPFMap
    /// Triggers by id, shared with the capture consumer and the API.
    public let triggers = TriggerDirectory()
    /// The libuv uprobes of async_stacks triggers, and the maps that link requests.
    let asyncProbes: AsyncStackProbes
    let asyncMaps: [BPFMap]
    private var wantsAsyncStacks = false
    private var asyncComms: Set<String>?
    /// What the settings maps hold now (the kernel zero-fills them at load).
    private var applied = KernelSettings()
    private var triggerIDs: [String: UInt32] = [:]
    private var nextTriggerID: UInt32 = 0
    private var appliedExactPaths: [[UInt8]: [UInt8]] = [:]
    private var appliedPrefixes: [[UInt8]: UInt64] = [:]

    /// Opens the embedded object and sizes its maps from `config`; nothing is in the kernel yet.
    public init(config: Config, readStrategy: CounterMapReader.Strategy = .batch, logger: Logger = Logger(label: "errno_exporter")) throws {
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
        triggerSettings = try object.map("trigger_settings")
        triggerRates = try object.map("trigger_rates")
        triggerExactPaths = try object.map("trigger_exact_paths")
        try triggerExactPaths.setMaxEntries(Config.maxTriggerPaths)
        triggerPrefixes = try object.map("trigger_path_prefixes")
        try triggerPrefixes.setMaxEntries(Config.maxTriggerPaths)
        triggerCounts = try CounterMapReader(map: object.map("trigger_counts"), strategy: readStrategy)
        globals = try object.map("errno.bss")
        // The copy size is a constant for the verifier: the ring buffer record's size.
        try object.map("errno.rodata").setInitialBytes(withUnsafeBytes(of: UInt32(config.captures.userStackBytes)) { Array($0) })
        captures = try object.map("captures")
        let record = MemoryLayout<capture_event>.size + config.captures.userStackBytes + 8
        try captures.setMaxEntries(
            config.captures.bufferBytes > 0 ? config.captures.bufferBytes : max(Int(DEFAULT_CAPTURE_BUFFER_BYTES), Self.powerOfTwo(atLeast: record * 64)))
        counter = try object.program(Names.program)
        asyncProbes = AsyncStackProbes(
            programs: .init(
                request: try object.program("on_uv_fs_request"), workSubmit: try object.program("on_uv_work_submit"),
                fsWork: try object.program("on_uv_fs_work")),
            logger: logger)
        let object = self.object
        asyncMaps = try ["pending_submissions", "async_requests", "current_requests"].map { try object.map($0) }
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        var result = 1
        while result < value { result <<= 1 }
        return result
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
        let lookups = try applyTriggers(new.triggers)
        try settings.update(UInt32(0), agent_settings(filters: new.filters, labels: new.labels, triggers: lookups, reserved: 0))
        try globals.update(UInt32(0), UInt32(new.triggers.wantsSuccesses ? 1 : 0))
        for key in appliedExactPaths.keys where newExactPaths[key] == nil { try triggerExactPaths.delete(keyBytes: key) }
        for key in appliedPrefixes.keys where newPrefixes[key] == nil { try triggerPrefixes.delete(keyBytes: key) }
        appliedExactPaths = newExactPaths
        appliedPrefixes = newPrefixes
        for comm in applied.commFilter.keys where new.commFilter[comm] == nil { try commFilter.delete(KernelSettings.commKey(comm)) }
        for pid in applied.pids.subtracting(new.pids) { try pidFilter.delete(pid) }
        for id in applied.cgroupIDs.subtracting(new.cgroupIDs) { try cgroupFilter.delete(id) }
        applied = new
    }

    private var newExactPaths: [[UInt8]: [UInt8]] = [:]
    private var newPrefixes: [[UInt8]: UInt64] = [:]

    /// Writes the triggers: ids kept by name (a removed trigger's id is cleared, its counters
    /// zeroed, and reused last), settings, then the path maps' new entries. Stale path entries are
    /// deleted by the caller after the lookup flags switch. Returns the lookup flags.
    private func applyTriggers(_ plan: TriggerPlan) throws -> UInt32 {
        let names = Set(plan.entries.map(\.name))
        for (name, id) in triggerIDs where !names.contains(name) {
            try triggerSettings.update(id, trigger_settings())
            for counter in 0..<UInt32(TRIGGER_COUNTER_COUNT.rawValue) {
                try triggerCounts.map.updateAllCPUs(id * UInt32(TRIGGER_COUNTER_COUNT.rawValue) + counter, UInt64(0))
            }
            triggerIDs[name] = nil
        }
        var entries: [UInt32: TriggerPlan.Entry] = [:]
        let previous = triggers.entries
        for entry in plan.entries {
            let id = triggerIDs[entry.name] ?? allocateTriggerID()
            triggerIDs[entry.name] = id
            entries[id] = entry
            let old = previous[id].flatMap { $0.name == entry.name ? $0 : nil }
            if old == nil || old!.changesRate(from: entry) { try triggerRates.update(id, UInt64(0)) }
            if old != entry {
                try triggerSettings.update(id, entry.kernelSettings(arming: triggers.arming(entry.name)))
            }
        }
        triggers.replace(entries)
        newExactPaths = try plan.exactPaths(ids: triggerIDs)
        newPrefixes = plan.prefixes(ids: triggerIDs)
        for (key, entry) in newExactPaths where appliedExactPaths[key] != entry {
            try triggerExactPaths.update(keyBytes: key, valueBytes: entry)
        }
        for (key, set) in newPrefixes where appliedPrefixes[key] != set {
            try triggerPrefixes.update(keyBytes: key, valueBytes: withUnsafeBytes(of: set) { Array($0) })
        }
        wantsAsyncStacks = plan.wantsAsyncStacks
        asyncComms = plan.asyncComms
        if !wantsAsyncStacks { asyncProbes.detachAll() }
        return (newExactPaths.isEmpty ? 0 : TRIGGERS_EXACT.rawValue) | (newPrefixes.isEmpty ? 0 : TRIGGERS_PREFIX.rawValue)
            | (wantsAsyncStacks ? TRIGGERS_ASYNC.rawValue : 0)
    }

    /// Attaches the async-stack uprobes to libuv binaries of processes started since the last call
    /// (nothing while no trigger has async_stacks, or before the program is attached).
    public func refreshAsyncProbes() {
        guard wantsAsyncStacks, isAttached else { return }
        asyncProbes.refresh(comms: asyncComms)
        asyncProbes.sweep(asyncMaps[1], now: AlertReceiver.monotonicNanoseconds())
    }

    /// Arms an `on_alert` trigger as `arming` says (its window, and the comm and pid it narrows to).
    /// False when no such trigger is in force.
    func arm(_ name: String, _ arming: Arming) throws -> Bool {
        guard let (id, entry) = triggers.entries.first(where: { $0.value.name == name }) else { return false }
        try triggerSettings.update(id, entry.kernelSettings(arming: arming))
        triggers.record(arming, for: name)
        return true
    }

    /// The next free id after the last one handed out, so a removed trigger's id is reused last
    /// (a capture already in the ring buffer keeps its name).
    private func allocateTriggerID() -> UInt32 {
        let used = Set(triggerIDs.values)
        for step in 0..<UInt32(MAX_TRIGGERS) {
            let id = (nextTriggerID + step) % UInt32(MAX_TRIGGERS)
            if !used.contains(id) {
                nextTriggerID = (id + 1) % UInt32(MAX_TRIGGERS)
                return id
            }
        }
        preconditionFailure("more than MAX_TRIGGERS triggers passed validation")
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
        asyncProbes.detachAll()
        links.forEach { $0.detach() }
        links.removeAll()
    }
}
