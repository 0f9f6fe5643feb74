/// One path series as `path_names` holds it: the counter's identity and the path's bytes.
struct PathSeries {
    /// A `path_failure_key`.
    let key: [UInt8]
    /// The path's bytes up to the NUL; empty for a NULL or unreadable path.
    let path: [UInt8]
}
