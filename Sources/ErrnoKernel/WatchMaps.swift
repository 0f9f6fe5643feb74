import BPFKit
import CErrnoBPF
import KernelNames

/// The watch side of the loaded program: slots (one per running watch, reused last so that a
/// record already in the ring buffer rarely meets its slot's next watch), the selector maps (which
/// watches look at each pid, comm and cgroup), the summaries and counters, and the `watch_kinds`
/// global that keeps failing syscalls away from empty selectors. Used under `KernelHandle`'s lock.
final class WatchMaps {
    private let settings: BPFMap
    private let rates: BPFMap
    private let pids: BPFMap
    private let comms: BPFMap
    private let cgroups: BPFMap
    private let summary: CounterMapReader
    private let pathSummary: CounterMapReader
    private let counts: CounterMapReader
    private let setKinds: (UInt32) -> Void
    private let features: KernelFeatures
    private var running: [UInt32: WatchSpec] = [:]
    /// Running watches that match nothing more (out of the selectors), their summaries kept.
    private var retired: Set<UInt32> = []
    private var nextSlot: UInt32 = 0

    struct Maps {
        var settings, rates, pids, comms, cgroups, summary, pathSummary, counts: BPFMap
    }

    init(_ maps: Maps, strategy: CounterMapReader.Strategy, features: KernelFeatures, setKinds: @escaping (UInt32) -> Void) throws {
        settings = maps.settings
        rates = maps.rates
        pids = maps.pids
        comms = maps.comms
        cgroups = maps.cgroups
        summary = try CounterMapReader(map: maps.summary, strategy: strategy)
        pathSummary = try CounterMapReader(map: maps.pathSummary, strategy: strategy)
        counts = try CounterMapReader(map: maps.counts, strategy: strategy)
        self.features = features
        self.setKinds = setKinds
    }

    /// The map shapes the Swift side writes and reads, for the start-up check.
    var shapes: [(BPFMap, key: Int, value: Int)] {
        [
            (settings, 4, MemoryLayout<watch_settings>.size), (summary.map, MemoryLayout<watch_summary_key>.size, 8),
            (pathSummary.map, MemoryLayout<watch_path_key>.size, 8), (comms, 16, 8), (pids, 4, 8), (cgroups, 8, 8),
        ]
    }

    /// Puts a watch in force; returns its slot. Its summaries and counters start from zero.
    func start(_ spec: WatchSpec) throws -> UInt32 {
        if case .cgroup = spec.target, !features.has(.ancestorCgroup) {
            throw StartupError("a cgroup watch needs bpf_get_current_ancestor_cgroup_id, which this kernel lacks (\(KernelFeatures.Feature.ancestorCgroup.since))")
        }
        guard let slot = freeSlot() else { throw StartupError("all \(MAX_WATCHES) watch slots are in use") }
        try clear(slot)
        try rates.update(slot, UInt64(0))
        let interval: UInt64 = spec.eventsPerSecond > 0 ? 1_000_000_000 / UInt64(spec.eventsPerSecond) : 0
        let burst = interval * UInt64(max(spec.eventsPerSecond - 1, 0))
        let flags = WATCH_ACTIVE.rawValue | (spec.pathsOnly ? WATCH_PATHS_ONLY.rawValue : 0)
        try settings.update(slot, watch_settings(flags: flags, reserved: 0, event_interval_ns: interval, burst_ns: burst))
        running[slot] = spec
        do {
            try writeSelector(spec.target)
        } catch {
            running[slot] = nil
            try? settings.update(slot, watch_settings())
            throw error
        }
        setKinds(kinds)
        return slot
    }

    /// Takes the watch in `slot` out of the selectors: it matches nothing more; its summaries stay.
    func retire(_ slot: UInt32) throws {
        guard let spec = running[slot], retired.insert(slot).inserted else { return }
        do {
            try writeSelector(spec.target)
        } catch {
            retired.remove(slot)
            throw error
        }
        setKinds(kinds)
    }

    /// Ends the watch in `slot`: out of the selectors first, then its settings, summaries and
    /// counters. When a write fails the slot stays taken (never handed to a new watch half-cleared).
    func end(_ slot: UInt32) throws {
        guard let spec = running.removeValue(forKey: slot) else { return }
        let wasRetired = retired.remove(slot) != nil
        do {
            try writeSelector(spec.target)
            setKinds(kinds)
            try settings.update(slot, watch_settings())
            try clear(slot)
        } catch {
            running[slot] = spec
            if wasRetired { retired.insert(slot) }
            throw error
        }
    }

    /// What the kernel counted for the watch in `slot`: its counters, and its summaries when asked.
    ///
    /// Read in the reverse of the order the kernel counts a failure in (total, syscall summary, path
    /// summary): a failure counted while the maps are read is then either missing from all three or
    /// in every one after the first it shows in, so no path row lacks its syscall row or its total
    /// (unless the syscall summary was full: `summaryFull` counts those).
    func read(_ slot: UInt32, summaries: Bool) throws -> WatchReading {
        var reading = WatchReading()
        for entry in try summaries ? pathSummary.readAll() : [] {
            var key = entry.key(as: watch_path_key.self)
            guard key.slot == slot else { continue }
            let path = withUnsafeBytes(of: &key.path) { PathReading(flags: key.flags, buffer: $0) }
            reading.paths.append(.init(syscallNumber: key.syscall_nr, errno: key.err, path: path, count: entry.value))
        }
        for entry in try summaries ? summary.readAll() : [] {
            let key = entry.key(as: watch_summary_key.self)
            if key.slot == slot { reading.syscalls.append(.init(syscallNumber: key.syscall_nr, errno: key.err, count: entry.value)) }
        }
        var counters: [UInt32: UInt64] = [:]
        for entry in try counts.readAll() { counters[entry.key(as: UInt32.self)] = entry.value }
        func counter(_ which: watch_counter) -> UInt64 { counters[slot * UInt32(WATCH_COUNTER_COUNT.rawValue) + which.rawValue] ?? 0 }
        reading.failures = counter(WATCH_FAILURES)
        reading.events = counter(WATCH_EVENTS)
        reading.rateLimited = counter(WATCH_RATE_LIMITED)
        reading.ringBufferFull = counter(WATCH_RING_BUFFER_FULL)
        reading.summaryFull = counter(WATCH_SUMMARY_FULL)
        return reading
    }

    /// enum watch_kind_flags for the running watches.
    private var kinds: UInt32 {
        running.filter { !retired.contains($0.key) }.values.reduce(0) { kinds, spec in
            switch spec.target {
            case .pid: kinds | WATCH_BY_PID.rawValue
            case .comm: kinds | WATCH_BY_COMM.rawValue
            case .cgroup: kinds | WATCH_BY_CGROUP.rawValue
            }
        }
    }

    /// Writes the set of running watches on `target` into its selector map (deletes it when none).
    private func writeSelector(_ target: WatchSpec.Target) throws {
        let slots = running.filter { $0.value.target == target && !retired.contains($0.key) }.keys.reduce(UInt64(0)) { $0 | 1 << UInt64($1) }
        switch target {
        case .pid(let pid): try slots == 0 ? pids.delete(pid) : pids.update(pid, slots)
        case .comm(let comm): try slots == 0 ? comms.delete(KernelSettings.commWords(comm)) : comms.update(KernelSettings.commWords(comm), slots)
        case .cgroup(let id): try slots == 0 ? cgroups.delete(id) : cgroups.update(id, slots)
        }
    }

    /// The next free slot after the last one handed out.
    private func freeSlot() -> UInt32? {
        for step in 0..<UInt32(MAX_WATCHES) {
            let slot = (nextSlot + step) % UInt32(MAX_WATCHES)
            if running[slot] == nil {
                nextSlot = (slot + 1) % UInt32(MAX_WATCHES)
                return slot
            }
        }
        return nil
    }

    /// Zeroes the slot's counters and removes its summary entries.
    private func clear(_ slot: UInt32) throws {
        for counter in 0..<UInt32(WATCH_COUNTER_COUNT.rawValue) {
            try counts.map.updateAllCPUs(slot * UInt32(WATCH_COUNTER_COUNT.rawValue) + counter, UInt64(0))
        }
        for reader in [summary, pathSummary] {
            for entry in try reader.readAll() where entry.key.withUnsafeBytes({ $0.loadUnaligned(as: UInt32.self) }) == slot {
                try reader.map.delete(keyBytes: entry.key)
            }
        }
    }
}
