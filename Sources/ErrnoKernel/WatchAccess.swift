/// What the watches ask of the kernel side: start a watch in a free slot, end it, read what it
/// counted. `KernelHandle` is the real one; tests put a fake behind it to run the watch routes
/// without root.
public protocol WatchAccess: AnyObject, Sendable {
    /// Puts `spec` in force; returns its slot (the bit of `WatchEventRecord.slots` that names it).
    func startWatch(_ spec: WatchSpec) throws -> UInt32
    /// Stops the watch in `slot` from matching anything more (its target is gone); its summaries stay
    /// readable until it ends.
    func retireWatch(_ slot: UInt32) throws
    /// Ends the watch in `slot` and forgets its summaries.
    func endWatch(_ slot: UInt32) throws
    /// Its counters, and with `summaries` its summaries, read now.
    func readWatch(_ slot: UInt32, summaries: Bool) throws -> WatchReading
}
