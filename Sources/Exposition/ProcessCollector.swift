import Glibc
import SystemSupport

/// The standard `process_*` metrics of the running process, read from /proc/self at scrape time
/// (the same set and meaning as the Go client's process collector).
public struct ProcessCollector: Collector {
    public init() {}

    public func collect() throws -> [MetricFamily] {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var families: [MetricFamily] = []
        if let stat = Self.readFile("/proc/self/stat"), let fields = Self.statFields(stat) {
            // fields[0] is field 3 (state) of proc(5): utime is 14, stime 15, starttime 22, vsize 23, rss 24.
            let utime = Double(fields[11]) ?? 0, stime = Double(fields[12]) ?? 0
            let startTicks = Double(fields[19]) ?? 0
            families.append(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", Double(fields[20]) ?? 0))
            families.append(gauge("process_resident_memory_bytes", "Resident memory size in bytes.", (Double(fields[21]) ?? 0) * pageSize))
            families.append(MetricFamily(
                name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", type: .counter,
                samples: [Sample(value: (utime + stime) / ticks)]))
            if let bootTime = Self.bootTime() {
                families.append(gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", bootTime + startTicks / ticks))
            }
        }
        families.append(gauge("process_open_fds", "Number of open file descriptors.", Double(Self.openDescriptors())))
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(gauge("process_max_fds", "Maximum number of open file descriptors.", Double(limit.rlim_cur)))
        }
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 {
            let value: Double = limit.rlim_cur == rlim_t.max ? -1 : Double(limit.rlim_cur)
            families.append(gauge("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", value))
        }
        return families
    }

    /// When this process started (seconds since the epoch; boot time has whole seconds, so this is
    /// up to a second early, never late), as `process_start_time_seconds` says.
    public static func startTime() -> Double? {
        guard let stat = readFile("/proc/self/stat"), let fields = statFields(stat), let bootTime = bootTime(), let startTicks = Double(fields[19]) else {
            return nil
        }
        return bootTime + startTicks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func gauge(_ name: String, _ help: String, _ value: Double) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, samples: [Sample(value: value)])
    }

    /// Fields after the `(comm)` of /proc/PID/stat; comm may contain spaces and parentheses.
    static func statFields(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count >= 22 ? fields : nil
    }

    static func bootTime() -> Double? {
        guard let stat = readFile("/proc/stat") else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingPrefix(" "))
        }
        return nil
    }

    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if UInt8(bitPattern: entry.pointee.d_name.0) != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1  // the descriptor opendir itself holds
    }

    static func readFile(_ path: String) -> String? {
        SmallFile.read(path, limit: 1 << 20)
    }
}
