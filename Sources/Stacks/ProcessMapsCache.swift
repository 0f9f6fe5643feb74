/// The executable mappings of processes seen in captures, for kernels whose capture records carry
/// none (no VMA iterator): read from /proc/PID/maps when a record arrives, remembered per process
/// and refreshed while it lives, so a process that exits right after a later syscall is still
/// symbolized where it was seen before. Entries are tied to the process's start time (a reused pid
/// is another process), dropped a while after the process is gone, and bounded in number.
final class ProcessMapsCache {
    private struct Entry {
        let startTime: UInt64
        var maps: ProcessMaps
        var goneSinceRefresh = 0
    }

    private var entries: [Int32: Entry] = [:]
    let capacity: Int
    /// Refreshes a gone process survives (so a late record of it still finds its maps).
    static let refreshesKeptAfterExit = 15

    init(capacity: Int = 256) {
        self.capacity = capacity
    }

    /// The process's maps now, or — when it is gone — as last seen.
    func maps(pid: Int32) -> ProcessMaps? {
        if let fresh = Self.read(pid) {
            remember(pid, fresh)
            return fresh.maps
        }
        return entries[pid]?.maps
    }

    /// Re-reads every remembered process; forgets those gone for long.
    func refresh() {
        for (pid, entry) in entries {
            if let fresh = Self.read(pid) {
                entries[pid] = Entry(startTime: fresh.startTime, maps: fresh.maps)
            } else if entry.goneSinceRefresh >= Self.refreshesKeptAfterExit {
                entries[pid] = nil
            } else {
                entries[pid]?.goneSinceRefresh += 1
            }
        }
    }

    var count: Int { entries.count }

    private func remember(_ pid: Int32, _ fresh: (startTime: UInt64, maps: ProcessMaps)) {
        if entries[pid] == nil, entries.count >= capacity, let oldest = entries.max(by: { $0.value.goneSinceRefresh < $1.value.goneSinceRefresh })?.key {
            entries[oldest] = nil
        }
        entries[pid] = Entry(startTime: fresh.startTime, maps: fresh.maps)
    }

    /// The process's start time and executable mappings; nil when it is gone.
    private static func read(_ pid: Int32) -> (startTime: UInt64, maps: ProcessMaps)? {
        guard let before = startTime(pid), let maps = try? ProcessMaps(pid: pid), startTime(pid) == before else { return nil }
        return (before, ProcessMaps(pid: pid, mappings: maps.mappings.filter(\.executable)))
    }

    /// Field 22 of /proc/PID/stat (after the comm, which may hold spaces and parentheses).
    static func startTime(_ pid: Int32) -> UInt64? {
        guard let text = FileText.read("/proc/\(pid)/stat", limit: 4096), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
