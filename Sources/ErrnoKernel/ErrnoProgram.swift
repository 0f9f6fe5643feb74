import BPFKit
import CErrnoBPF
import Glibc
import Logging
import SystemSupport

/// The loaded and attached `bpf/errno.bpf.c`, through its generated skeleton: typed maps, programs
/// and global sections. Not thread-safe; `KernelHandle` serializes access.
final class ErrnoProgram {
    private let skeleton: UnsafeMutablePointer<errno_bpf>
    private let object: BPFObject
    private var links: [BPFLink] = []
    let counter: BPFProgram
    /// `syscall_failures`: each syscall counter key's slot in `syscallCounts`.
    let failures: CounterMapReader
    let syscallCounts: CounterMapReader
    let overflow: CounterMapReader
    let pathFailures: CounterMapReader
    let pathNames: PathNames
    let pathOverflow: CounterMapReader
    let events: CounterMapReader
    let triggerCounts: CounterMapReader
    private let settings: BPFMap
    private let pathSyscalls: BPFMap
    private let excludedErrnos: BPFMap
    private let commFilter: BPFMap
    private let pidFilter: BPFMap
    private let cgroupFilter: BPFMap
    private let triggerSettings: BPFMap
    private let triggerRates: BPFMap
    private let triggerExactPaths: BPFMap
    private let triggerFingerprints: BPFMap
    private let triggerPrefixes: BPFMap
    /// The ring buffer of captures.
    let captures: BPFMap
    /// The libuv uprobes of async_stacks triggers, and the maps that link requests.
    let asyncProbes: AsyncStackProbes
    let pendingSubmissions: BPFMap
    let asyncRequests: BPFMap
    let currentRequests: BPFMap
    /// The watches' slots, selectors, summaries and counters; their ring buffer of events.
    let watches: WatchMaps
    let watchEvents: BPFMap
    /// Trigger ids by name, and what the trigger maps hold now.
    let triggers = TriggerTable()
    /// What the kernel offers; chose the object and the programs loaded.
    let features: KernelFeatures
    private var wantsAsyncStacks = false
    private var asyncComms: Set<String>?
    /// What the settings maps hold now (the kernel zero-fills them at load).
    private var applied = KernelSettings()
    private var appliedExactPaths: [UInt64: ExactPath] = [:]
    private var appliedFingerprintBits = TriggerFingerprintBits()
    /// The path fingerprints' seed, random per load (see errno_path_fingerprint).
    private let fingerprintSeed = UInt64.random(in: .min ... .max)
    private var appliedPrefixes: [PathBuffer: UInt64] = [:]

    /// Opens the embedded object and sizes its maps; nothing is in the kernel yet.
    init(options: KernelOptions, logger: Logger) throws {
        try Self.checkLayouts()
        guard let skeleton = errno_bpf_open_variant(options.features.has(.vmaIterator)) else {
            throw BPFError("open the embedded BPF object", code: errno)
        }
        features = options.features
        self.skeleton = skeleton
        object = BPFObject(opened: skeleton.pointee.obj, load: { errno_bpf__load(skeleton) }, close: { errno_bpf__destroy(skeleton) })
        let maps = skeleton.pointee.maps, programs = skeleton.pointee.progs
        let failureMap = try object.map(maps.syscall_failures), countsMap = try object.map(maps.syscall_counts)
        try failureMap.setMaxEntries(options.syscallSeries)
        try countsMap.setMaxEntries(options.syscallSeries)
        let pathMap = try object.map(maps.path_failures)
        try pathMap.setMaxEntries(options.pathSeries)
        let namesMap = try object.map(maps.path_names), slotSeriesMap = try object.map(maps.path_slot_series)
        try namesMap.setMaxEntries(options.pathSeries)
        try slotSeriesMap.setMaxEntries(options.pathSeries)
        pathNames = PathNames(map: namesMap, slotSeries: slotSeriesMap)
        failures = try CounterMapReader(map: failureMap, strategy: options.readStrategy)
        syscallCounts = try CounterMapReader(map: countsMap, strategy: options.readStrategy)
        overflow = try CounterMapReader(map: object.map(maps.syscall_overflow), strategy: options.readStrategy)
        pathFailures = try CounterMapReader(map: pathMap, strategy: options.readStrategy)
        pathOverflow = try CounterMapReader(map: object.map(maps.path_overflow), strategy: options.readStrategy)
        events = try CounterMapReader(map: object.map(maps.event_counts), strategy: options.readStrategy)
        triggerCounts = try CounterMapReader(map: object.map(maps.trigger_counts), strategy: options.readStrategy)
        settings = try object.map(maps.settings)
        pathSyscalls = try object.map(maps.path_syscalls)
        excludedErrnos = try object.map(maps.excluded_errnos)
        commFilter = try object.map(maps.comm_filter)
        pidFilter = try object.map(maps.pid_filter)
        cgroupFilter = try object.map(maps.cgroup_filter)
        triggerSettings = try object.map(maps.trigger_settings)
        triggerRates = try object.map(maps.trigger_rates)
        triggerExactPaths = try object.map(maps.trigger_exact_paths)
        triggerFingerprints = try object.map(maps.trigger_fingerprints)
        triggerPrefixes = try object.map(maps.trigger_path_prefixes)
        // The copy size is a constant for the verifier: the ring buffer record's size.
        skeleton.pointee.rodata.pointee.user_stack_bytes = UInt32(options.userStackBytes)
        skeleton.pointee.rodata.pointee.kernel_features = features.programFlags
        skeleton.pointee.rodata.pointee.fingerprint_seed = fingerprintSeed
        skeleton.pointee.rodata.pointee.syscall_slot_count = UInt32(options.syscallSeries)
        skeleton.pointee.rodata.pointee.path_slot_count = UInt32(options.pathSeries)
        captures = try object.map(maps.captures)
        let record = MemoryLayout<capture_event>.size + options.userStackBytes + 8
        try captures.setMaxEntries(
            options.captureBufferBytes > 0
                ? options.captureBufferBytes : max(KernelLimits.defaultCaptureBufferBytes, Self.powerOfTwo(atLeast: record * 16)))
        counter = try object.program(programs.on_syscall_exit)
        asyncProbes = AsyncStackProbes(
            programs: .init(
                request: try object.program(programs.on_uv_fs_request), workSubmit: try object.program(programs.on_uv_work_submit),
                fsWork: try object.program(programs.on_uv_fs_work)),
            logger: logger)
        if !features.supportsAsyncStacks {
            for program in [asyncProbes.programs.request, asyncProbes.programs.workSubmit, asyncProbes.programs.fsWork] { try program.setAutoload(false) }
        }
        watches = try WatchMaps(
            .init(
                settings: object.map(maps.watch_settings), rates: object.map(maps.watch_rates), pids: object.map(maps.watch_pids),
                comms: object.map(maps.watch_comms), cgroups: object.map(maps.watch_cgroups), summary: object.map(maps.watch_summary),
                pathSummary: object.map(maps.watch_path_summary), counts: object.map(maps.watch_counts)),
            strategy: options.readStrategy, features: options.features,
            setKinds: { kinds in skeleton.pointee.bss.pointee.watch_kinds = kinds })
        watchEvents = try object.map(maps.watch_events)
        pendingSubmissions = try object.map(maps.pending_submissions)
        asyncRequests = try object.map(maps.async_requests)
        currentRequests = try object.map(maps.current_requests)
        try checkMapShapes()
    }

    /// Swift and the BPF compiler read bpf/errno_exporter.h separately: the sizes Swift sees must be
    /// the header's (asserted there for the C side).
    static func checkLayouts() throws {
        let layouts: [(String, Int, Int32)] = [
            ("syscall_failure_key", MemoryLayout<syscall_failure_key>.size, SIZEOF_SYSCALL_FAILURE_KEY),
            ("syscall_overflow_key", MemoryLayout<syscall_overflow_key>.size, SIZEOF_SYSCALL_OVERFLOW_KEY),
            ("syscall_slot_cache", MemoryLayout<syscall_slot_cache>.size, SIZEOF_SYSCALL_SLOT_CACHE),
            ("path_failure_key", MemoryLayout<path_failure_key>.size, SIZEOF_PATH_FAILURE_KEY),
            ("path_reading", MemoryLayout<path_reading>.size, SIZEOF_PATH_READING),
            ("agent_settings", MemoryLayout<agent_settings>.size, SIZEOF_AGENT_SETTINGS),
            ("trigger_settings", MemoryLayout<trigger_settings>.size, SIZEOF_TRIGGER_SETTINGS),
            ("trigger_exact_entry", MemoryLayout<trigger_exact_entry>.size, SIZEOF_TRIGGER_EXACT_ENTRY),
            ("trigger_prefix_key", MemoryLayout<trigger_prefix_key>.size, SIZEOF_TRIGGER_PREFIX_KEY),
            ("capture_mapping", MemoryLayout<capture_mapping>.size, SIZEOF_CAPTURE_MAPPING),
            ("async_submission", MemoryLayout<async_submission>.size, SIZEOF_ASYNC_SUBMISSION),
            ("async_request_key", MemoryLayout<async_request_key>.size, SIZEOF_ASYNC_REQUEST_KEY),
            ("capture_event", MemoryLayout<capture_event>.size, SIZEOF_CAPTURE_EVENT),
            ("watch_settings", MemoryLayout<watch_settings>.size, SIZEOF_WATCH_SETTINGS),
            ("watch_summary_key", MemoryLayout<watch_summary_key>.size, SIZEOF_WATCH_SUMMARY_KEY),
            ("watch_path_key", MemoryLayout<watch_path_key>.size, SIZEOF_WATCH_PATH_KEY),
            ("watch_event", MemoryLayout<watch_event>.size, SIZEOF_WATCH_EVENT),
        ]
        let wrong = layouts.filter { $0.1 != Int($0.2) }.map { "\($0.0) is \($0.1) bytes, the header says \($0.2)" }
        guard wrong.isEmpty else { throw StartupError("kernel/user struct layouts disagree (a build problem): \(wrong.joined(separator: "; "))") }
    }

    /// The compiled object's map shapes must be the structs Swift writes and reads.
    private func checkMapShapes() throws {
        let shapes: [(BPFMap, key: Int, value: Int)] = [
            (failures.map, MemoryLayout<syscall_failure_key>.size, 8), (syscallCounts.map, 4, 8),
            (overflow.map, MemoryLayout<syscall_overflow_key>.size, 8),
            (pathFailures.map, 4, 8), (pathOverflow.map, MemoryLayout<syscall_failure_key>.size, 8),
            (pathNames.map, 8, MemoryLayout<path_reading>.size), (pathNames.slotSeries, 4, 8),
            (settings, 4, MemoryLayout<agent_settings>.size), (triggerSettings, 4, MemoryLayout<trigger_settings>.size),
            (triggerExactPaths, 8, MemoryLayout<trigger_exact_entry>.size), (triggerPrefixes, MemoryLayout<trigger_prefix_key>.size, 8),
            (triggerFingerprints, 4, 8),
            (asyncRequests, MemoryLayout<async_request_key>.size, MemoryLayout<async_submission>.size),
        ] + watches.shapes
        let wrong = shapes.filter { $0.0.keySize != $0.key || $0.0.valueSize != $0.value }
            .map { "\($0.0.name): key \($0.0.keySize)/value \($0.0.valueSize) bytes, Swift uses \($0.key)/\($0.value)" }
        guard wrong.isEmpty else { throw StartupError("the embedded BPF object's maps disagree with its header (a build problem): \(wrong.joined(separator: "; "))") }
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        var result = 1
        while result < value { result <<= 1 }
        return result
    }

    /// Writes `new` into the settings maps — only what changed — while the program keeps running.
    /// Lists are completed before the filter flags switch, so a reload never counts under a
    /// half-written allow-list.
    func apply(_ new: KernelSettings) throws {
        if !new.cgroupIDs.isEmpty, !features.has(.ancestorCgroup) {
            let feature = KernelFeatures.Feature.ancestorCgroup
            throw StartupError("filters.cgroups needs bpf_get_current_ancestor_cgroup_id, which this kernel lacks (\(feature.since)); remove it")
        }
        try load()
        for number in Set(applied.pathArguments.keys).union(new.pathArguments.keys) where applied.pathArguments[number] != new.pathArguments[number] {
            try pathSyscalls.update(number, new.pathArguments[number] ?? 0)
        }
        for value in applied.excludedErrnos.symmetricDifference(new.excludedErrnos) where value < KernelLimits.maxErrnoValue {
            try excludedErrnos.update(value, UInt32(new.excludedErrnos.contains(value) ? 1 : 0))
        }
        let oldComms = applied.commFilter, newComms = new.commFilter
        for (comm, mark) in newComms where oldComms[comm] != mark {
            try commFilter.update(KernelSettings.commWords(comm), mark)
        }
        for pid in new.pids.subtracting(applied.pids) { try pidFilter.update(pid, UInt32(1)) }
        for id in new.cgroupIDs.subtracting(applied.cgroupIDs) { try cgroupFilter.update(id, UInt32(1)) }
        let (lookups, exact, prefixes) = try applyTriggers(new.triggers)
        try settings.update(UInt32(0), agent_settings(filters: new.filters, labels: new.labels, triggers: lookups, reserved: 0))
        skeleton.pointee.bss.pointee.success_triggers = new.triggers.wantsSuccesses ? 1 : 0
        for key in appliedExactPaths.keys where exact[key] == nil { try triggerExactPaths.delete(key) }
        try writeFingerprintBits(TriggerFingerprintBits(exact.keys))
        for key in appliedPrefixes.keys where prefixes[key] == nil { try triggerPrefixes.delete(key.prefixKey) }
        appliedExactPaths = exact
        appliedPrefixes = prefixes
        for comm in oldComms.keys where newComms[comm] == nil { try commFilter.delete(KernelSettings.commWords(comm)) }
        for pid in applied.pids.subtracting(new.pids) { try pidFilter.delete(pid) }
        for id in applied.cgroupIDs.subtracting(new.cgroupIDs) { try cgroupFilter.delete(id) }
        applied = new
    }

    /// Writes the words of `trigger_fingerprints` that differ from `bits` (each remembered as
    /// written, so a failed write is retried by the next).
    private func writeFingerprintBits(_ bits: TriggerFingerprintBits) throws {
        for index in bits.words.indices where bits.words[index] != appliedFingerprintBits.words[index] {
            try triggerFingerprints.update(UInt32(index), bits.words[index])
            appliedFingerprintBits.set(word: index, to: bits.words[index])
        }
    }

    /// Writes the triggers: ids kept by name (a removed trigger's id is cleared, its counters
    /// zeroed, and reused last), settings, then the path maps' new entries. Stale path entries are
    /// deleted by the caller after the lookup flags switch. Returns the lookup flags and the path
    /// maps' new contents.
    private func applyTriggers(_ plan: TriggerPlan) throws -> (UInt32, [UInt64: ExactPath], [PathBuffer: UInt64]) {
        let change = triggers.replace(plan)
        for id in change.removed {
            try triggerSettings.update(id, trigger_settings())
            for counter in 0..<UInt32(TRIGGER_COUNTER_COUNT.rawValue) {
                try triggerCounts.map.updateAllCPUs(id * UInt32(TRIGGER_COUNTER_COUNT.rawValue) + counter, UInt64(0))
            }
        }
        for (id, entry, old) in change.kept {
            if old == nil || old!.changesRate(from: entry) { try triggerRates.update(id, UInt64(0)) }
            if old != entry { try triggerSettings.update(id, entry.kernelSettings(window: triggers.window(entry.name))) }
        }
        let ids = triggers.ids
        let exact = try plan.exactPaths(ids: ids, seed: fingerprintSeed)
        let prefixes = plan.prefixes(ids: ids)
        // A new path's bit is set before its entry is written (and before any trigger setting
        // names it), old ones' cleared after their entries are gone (`apply`): a path is never in
        // the map without its bit.
        try writeFingerprintBits(appliedFingerprintBits.union(TriggerFingerprintBits(exact.keys)))
        for (key, entry) in exact where appliedExactPaths[key] != entry {
            try triggerExactPaths.update(key, entry.kernelEntry)
        }
        for (key, set) in prefixes where appliedPrefixes[key] != set {
            try triggerPrefixes.update(key.prefixKey, trigger_set(ids: set))
        }
        wantsAsyncStacks = plan.wantsAsyncStacks && features.supportsAsyncStacks
        asyncComms = plan.asyncComms
        if !wantsAsyncStacks { asyncProbes.detachAll() }
        let lookups = (exact.isEmpty ? 0 : TRIGGERS_EXACT.rawValue) | (prefixes.isEmpty ? 0 : TRIGGERS_PREFIX.rawValue)
            | (wantsAsyncStacks ? TRIGGERS_ASYNC.rawValue : 0)
        return (lookups, exact, prefixes)
    }

    /// Which processes' binaries to look for async-stack probes in: nil while no trigger has
    /// async_stacks or before the program is attached; else the comms (nil inside: any).
    var asyncProbeScope: Set<String>?? {
        guard wantsAsyncStacks, isAttached else { return nil }
        return .some(asyncComms)
    }

    /// Attaches the async-stack uprobes to the `candidates` not probed yet; sweeps stale requests.
    func refreshAsyncProbes(_ candidates: [AsyncStackProbes.Candidate]) {
        guard wantsAsyncStacks, isAttached else { return }
        asyncProbes.refresh(candidates)
        asyncProbes.sweep(asyncRequests, now: MonotonicClock.nanoseconds())
    }

    /// Arms an `on_alert` trigger for `window`. False when no such trigger is in force.
    func arm(_ name: String, _ window: ArmingWindow) throws -> Bool {
        guard let (id, entry) = triggers.entry(named: name) else { return false }
        try triggerSettings.update(id, entry.kernelSettings(window: window))
        triggers.record(window, for: name)
        return true
    }

    /// Each trigger's counters, by name.
    func readTriggerCounts() throws -> [String: TriggerCounts] {
        var slots: [UInt32: UInt64] = [:]
        for entry in try triggerCounts.readAll() { slots[entry.key(as: UInt32.self)] = entry.value }
        let stride = UInt32(TRIGGER_COUNTER_COUNT.rawValue)
        var counts: [String: TriggerCounts] = [:]
        for (name, id) in triggers.ids {
            func slot(_ counter: trigger_counter) -> UInt64 { slots[id * stride + counter.rawValue] ?? 0 }
            counts[name] = TriggerCounts(
                matches: slot(TRIGGER_MATCHES), captures: slot(TRIGGER_CAPTURES), rateLimited: slot(TRIGGER_RATE_LIMITED),
                ringBufferFull: slot(TRIGGER_RING_BUFFER_FULL))
        }
        return counts
    }

    /// The counted slots of `path_failures` (slot → count) as the series they count, and the count
    /// of those without a series. The kernel names a series before it counts it and never removes
    /// a name, so a series is always there; were one ever missing, its count would be reported, not
    /// misnamed.
    private func namedPathFailures(_ slots: [CounterEntry]) throws -> (named: [PathFailure], unnamedCount: UInt64) {
        var named: [PathFailure] = []
        var unnamedCount: UInt64 = 0
        for entry in slots where entry.value > 0 {
            if let slot = entry.index, let series = try pathNames.series(ofSlot: slot) {
                named.append(PathFailure(series, count: entry.value))
            } else {
                unnamedCount &+= entry.value
            }
        }
        return (named, unnamedCount)
    }

    /// The syscall counter's keys with their counts: `slots` (key → slot) joined with `counts` (slot →
    /// count summed over CPUs). Read keys first: a key given its slot after that read, or past the
    /// slots the counts' read covered, waits for the next scrape, and a count read later is only larger.
    static func syscallFailures(slots: [CounterEntry], counts: [CounterEntry]) -> [SyscallFailure] {
        var countOfSlot = [UInt64](repeating: 0, count: counts.count)
        for entry in counts {
            if let slot = entry.index, slot < countOfSlot.count { countOfSlot[slot] = entry.value }
        }
        return slots.compactMap { entry in
            guard entry.value < UInt64(countOfSlot.count) else { return nil }  // slotted after the counts' read: next scrape
            return SyscallFailure(CounterEntry(key: entry.key, value: countOfSlot[Int(entry.value)]), overflow: false)
        }
    }

    /// The syscall counter's failures that path series counted for it (`PathFailure.syscallFailure`),
    /// one entry per syscall counter key.
    static func syscallShares(of paths: [PathFailure]) -> [SyscallFailure] {
        var totals: [[UInt8]: UInt64] = [:]
        for path in paths {
            if let share = path.syscallFailure { totals[share.rawKey, default: 0] &+= share.count }
        }
        return totals.map { SyscallFailure(CounterEntry(key: $0.key, value: $0.value), overflow: false) }
    }

    /// Reads every counter map and the self-metrics' inputs.
    func readCounters() throws -> KernelCounters {
        var counters = KernelCounters()
        // Keys before counts (see syscallFailures); slots are handed out in order, so those past the
        // number taken were never counted.
        let slotsTaken = skeleton.pointee.bss.pointee
        let failureEntries = try failures.readAll()
        let slotCounts = try syscallCounts.readAll(limit: Int(slotsTaken.syscall_slots_taken))
        let overflowEntries = try overflow.readAll()
        let pathEntries = try pathFailures.readAll(limit: Int(slotsTaken.path_slots_taken))
        let pathOverflowEntries = try pathOverflow.readAll()
        let (named, unnamedCount) = try namedPathFailures(pathEntries)
        counters.syscallFailures = Self.syscallFailures(slots: failureEntries, counts: slotCounts) + overflowEntries.map { SyscallFailure($0, overflow: true) }
            + Self.syscallShares(of: named)
        counters.pathFailures = named + pathOverflowEntries.map { PathFailure(overflow: $0) }
        counters.events = EventCounts(try events.readAll())
        counters.events.pathUnnamed = unnamedCount
        counters.programRecursionMisses = try counter.recursionMisses()
        counters.triggers = try readTriggerCounts()
        counters.maps = [
            // Slots handed out (a CPU's spare included) say how full a counter is.
            MapUsage(name: failures.map.name, entries: min(Int(slotsTaken.syscall_slots_taken), failures.map.maxEntries), maxEntries: failures.map.maxEntries),
            MapUsage(name: overflow.map.name, entries: overflowEntries.count, maxEntries: overflow.map.maxEntries),
            MapUsage(name: pathFailures.map.name, entries: min(Int(slotsTaken.path_slots_taken), pathFailures.map.maxEntries), maxEntries: pathFailures.map.maxEntries),
            MapUsage(name: pathOverflow.map.name, entries: pathOverflowEntries.count, maxEntries: pathOverflow.map.maxEntries),
        ] + [pendingSubmissions, asyncRequests, currentRequests].map { MapUsage(name: $0.name, entries: $0.entryCount(), maxEntries: $0.maxEntries) }
        counters.asyncProbes.uprobes = asyncProbes.uprobeCount
        counters.asyncProbes.expiredRequests = asyncProbes.expiredRequests
        counters.asyncProbes.skipped = asyncProbes.skips
        return counters
    }

    /// Verifies the programs and creates the maps in the kernel; nothing runs until `attach()`.
    func load() throws {
        guard !object.isLoaded else { return }
        do {
            try object.load()
        } catch {
            throw Preflight.explain(error)
        }
    }

    /// Loads (if not done yet) and attaches every program.
    func attach() throws {
        try load()
        do {
            links.append(try counter.attach())
        } catch {
            throw Preflight.explain(error)
        }
    }

    var isAttached: Bool { !links.isEmpty }

    /// Detaches every program; maps stay readable until the object is released.
    func detach() {
        asyncProbes.detachAll()
        links.forEach { $0.detach() }
        links.removeAll()
    }
}
