import Synchronization
import SystemSupport

/// The executable mappings of processes seen in captures, for kernels whose capture records carry
/// none (no VMA iterator): read from /proc/PID/maps as soon as a record arrives (by the thread that
/// reads the ring, before any slow symbolizing), remembered per process and refreshed while it
/// lives, so a process that exits right after its syscall, or after a later one, is still
/// symbolized. Entries are tied to the process's start time (a reused pid is another process:
/// its maps are never given to the old one's record), dropped a while after the process is gone,
/// and bounded in number. /proc is read outside the lock.
final class ProcessMapsCache: Sendable {
    private struct Entry {
        let startTime: UInt64
        var maps: ProcessMaps
        var goneSinceRefresh = 0

        /// What its mappings' names hold, the bulk of an entry's memory.
        var nameBytes: Int { maps.mappings.reduce(0) { $0 + $1.name.utf8.count } }
    }

    private let entries = Mutex<[Int32: Entry]>([:])
    let capacity: Int
    /// Executable mappings kept per process, and bytes of mapping names across the cache.
    static let maxMappings = 4096
    static let maxNameBytes = 32 << 20
    /// Refreshes a gone process survives (so a late record of it still finds its maps).
    static let refreshesKeptAfterExit = 15

    init(capacity: Int = 256) {
        self.capacity = capacity
    }

    /// The maps read as the record arrived (`arrivedWith`: the process's start time then), only if
    /// they are still that process's; when the process was gone on arrival (nil), as last seen.
    func maps(pid: Int32, arrivedWith startTime: UInt64?) -> ProcessMaps? {
        entries.withLock { entries in
            guard let entry = entries[pid], startTime == nil || entry.startTime == startTime else { return nil }
            return entry.maps
        }
    }

    /// Reads and remembers the process's maps now; its start time, nil when it is gone.
    func remember(pid: Int32) -> UInt64? {
        guard let fresh = Self.read(pid) else { return nil }
        remember(pid, fresh)
        return fresh.startTime
    }

    /// Re-reads every remembered process; forgets those gone for long. An entry is refreshed only
    /// from the process it was read from (same start time): a pid now held by another process
    /// counts as gone, so a late record of the old one still finds its maps.
    func refresh() {
        for pid in entries.withLock({ Array($0.keys) }) {
            let fresh = Self.read(pid)
            entries.withLock { entries in
                guard let entry = entries[pid] else { return }
                if let fresh, fresh.startTime == entry.startTime {
                    entries[pid] = Entry(startTime: fresh.startTime, maps: fresh.maps)
                } else if entry.goneSinceRefresh >= Self.refreshesKeptAfterExit {
                    entries[pid] = nil
                } else {
                    entries[pid]?.goneSinceRefresh += 1
                }
            }
        }
    }

    private func remember(_ pid: Int32, _ fresh: (startTime: UInt64, maps: ProcessMaps)) {
        entries.withLock { entries in
            entries[pid] = Entry(startTime: fresh.startTime, maps: fresh.maps)
            // Over count or over the name budget: the processes gone longest (then any other) go first.
            while entries.count > 1, entries.count > capacity || entries.values.reduce(0, { $0 + $1.nameBytes }) > Self.maxNameBytes,
                let victim = entries.filter({ $0.key != pid }).max(by: { $0.value.goneSinceRefresh < $1.value.goneSinceRefresh })?.key
            {
                entries[victim] = nil
            }
        }
    }

    /// The process's start time and executable mappings; nil when it is gone.
    private static func read(_ pid: Int32) -> (startTime: UInt64, maps: ProcessMaps)? {
        guard let before = startTime(pid), let maps = try? ProcessMaps(pid: pid), startTime(pid) == before else { return nil }
        return (before, ProcessMaps(pid: pid, mappings: Array(maps.mappings.lazy.filter(\.executable).prefix(maxMappings))))
    }

    /// Field 22 of /proc/PID/stat (after the comm, which may hold spaces and parentheses).
    static func startTime(_ pid: Int32) -> UInt64? {
        guard let text = SmallFile.read("/proc/\(pid)/stat", limit: 4096), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
