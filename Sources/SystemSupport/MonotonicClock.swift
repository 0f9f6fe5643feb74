import Foundation

/// CLOCK_MONOTONIC, the clock the BPF program stamps records and compares arming deadlines with,
/// and its conversion to wall-clock time for people.
public enum MonotonicClock {
    /// Now, in nanoseconds since boot (not counting suspend).
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// CLOCK_REALTIME − CLOCK_MONOTONIC in nanoseconds: add it to a monotonic stamp to date it.
    public static func realtimeOffset() -> Int64 {
        var real = timespec(), monotonic = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        return (Int64(real.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(monotonic.tv_nsec)
    }

    /// The wall-clock date of a monotonic stamp, given `offset` from `realtimeOffset()`.
    public static func date(ofMonotonic nanoseconds: UInt64, offset: Int64) -> Date {
        let wall = Int64(truncatingIfNeeded: nanoseconds) &+ offset
        return Date(timeIntervalSince1970: Double(wall) / 1e9)
    }
}
