import BPFKit

/// One of the kernel's ring buffers (captures, watch events), polled by one thread: each record is
/// decoded and handed to the handler given when it was opened.
public struct RecordRing {
    let ring: RingBuffer

    /// Waits up to `timeoutMilliseconds` for records and hands each to the handler.
    public func poll(timeoutMilliseconds: Int32) throws {
        _ = try ring.poll(timeoutMilliseconds: timeoutMilliseconds)
    }
}
