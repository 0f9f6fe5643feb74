import Foundation

/// RFC 3339 timestamps as the API and the logs show them: UTC, microseconds (milliseconds in logs).
public enum RFC3339 {
    /// `2026-11-30T06:12:03.123456Z` (`fractionDigits` 6), `2026-11-30T06:12:03.123Z` (3).
    public static func format(_ date: Date, fractionDigits: Int = 6) -> String {
        let scale = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000][max(0, min(6, fractionDigits))]
        let seconds = date.timeIntervalSince1970
        let whole = Int(seconds.rounded(.down))
        let fraction = Int(((seconds - Double(whole)) * Double(scale)).rounded(.down))
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
            + (fractionDigits > 0 ? String(format: ".%0\(fractionDigits)dZ", fraction) : "Z")
    }
}
