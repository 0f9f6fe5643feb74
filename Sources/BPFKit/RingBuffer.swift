import CLibBPF
import Glibc

/// A consumer of a `BPF_MAP_TYPE_RINGBUF` map: `poll` waits for records and hands each to the
/// handler, in order, on the polling thread. Records are only valid during the handler call.
public final class RingBuffer {
    public typealias Handler = (UnsafeRawBufferPointer) -> Void

    private final class Context {
        let handler: Handler
        init(handler: @escaping Handler) { self.handler = handler }
    }

    private let handle: OpaquePointer
    private let context: Unmanaged<Context>
    private let owner: BPFObject

    /// Opens a consumer of `map` (loaded). `handler` runs for every record.
    public init(map: BPFMap, handler: @escaping Handler) throws {
        let context = Unmanaged.passRetained(Context(handler: handler))
        let callback: ring_buffer_sample_fn = { context, data, size in
            guard let context, let data else { return 0 }
            Unmanaged<Context>.fromOpaque(context).takeUnretainedValue().handler(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        guard let handle = ring_buffer__new(map.fileDescriptor, callback, context.toOpaque(), nil) else {
            context.release()
            throw BPFError("open ring buffer \(map.name)", code: errno)
        }
        self.handle = handle
        self.context = context
        self.owner = map.owner
    }

    deinit {
        ring_buffer__free(handle)
        context.release()
    }

    /// Waits up to `timeoutMilliseconds` for records and handles all available. Returns how many.
    @discardableResult
    public func poll(timeoutMilliseconds: Int32) throws -> Int {
        let handled = ring_buffer__poll(handle, timeoutMilliseconds)
        if handled < 0, handled != -EINTR { throw BPFError("poll ring buffer", code: -handled) }
        return max(Int(handled), 0)
    }
}
