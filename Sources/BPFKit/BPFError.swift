import CLibBPF
import Glibc

/// A failed libbpf or bpf(2) operation: what was attempted, on what, and the kernel's errno.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    /// What was being done, e.g. "load BPF object" or "attach program on_syscall_exit".
    public let operation: String
    /// The positive errno the operation failed with.
    public let code: Int32
    /// What libbpf printed while the operation ran (for a load: the verifier's log), oldest first.
    public var log: [String] = []

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code < 0 ? -code : code
    }

    /// libbpf's text for the error (it knows libbpf-specific codes that strerror does not).
    public var reason: String {
        var buffer = [CChar](repeating: 0, count: 256)
        libbpf_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { "\(operation): \(reason) (errno \(code))" }

    /// Runs a libbpf call that returns 0 or a negative errno.
    static func check(_ operation: @autoclosure () -> String, _ result: Int32) throws {
        if result < 0 { throw BPFError(operation(), code: result) }
    }
}
