import BPFKit

/// The kernel's ring buffer of capture records, polled by one thread.
public struct CaptureRing {
    let ring: RingBuffer

    /// Waits up to `timeoutMilliseconds` for records and hands each to the handler.
    public func poll(timeoutMilliseconds: Int32) throws {
        _ = try ring.poll(timeoutMilliseconds: timeoutMilliseconds)
    }
}
