import CErrnoBPF
import Testing

@testable import ErrnoKernel

/// The structs Swift reads and writes are the header's, and the header's limits are what the rest
/// of the agent sees.
@Suite struct LayoutTests {
    @Test func swiftSeesTheHeadersLayouts() throws {
        try ErrnoProgram.checkLayouts()
        #expect(MemoryLayout<capture_event>.size == Int(SIZEOF_CAPTURE_EVENT))
        // The kernel looks {prefix_bits, path} of a path reading up as a trigger_prefix_key, and its
        // counter key from the reading's start.
        let prefixBits = MemoryLayout<path_reading>.offset(of: \path_reading.prefix_bits)!
        let path = MemoryLayout<path_reading>.offset(of: \path_reading.path)!
        #expect(path - prefixBits == MemoryLayout<trigger_prefix_key>.offset(of: \trigger_prefix_key.path)!)
        #expect(MemoryLayout<path_reading>.offset(of: \path_reading.key)! == 0)
        #expect(MemoryLayout<path_failure_key>.size % 8 == 0, "a series fingerprint mixes the key's whole words")
    }

    @Test func limitsComeFromTheHeader() {
        #expect(KernelLimits.pathBytes == Int(PATH_BUFFER_LEN) - 1)
        #expect(KernelLimits.maxTriggers == 64)
        #expect(KernelLimits.userStackBytes.contains(KernelLimits.defaultUserStackBytes))
        #expect(KernelLimits.commBytes == 15)
    }
}
