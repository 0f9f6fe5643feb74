import CErrnoBPF
import Testing

@testable import ErrnoKernel

/// The structs Swift reads and writes are the header's, and the header's limits are what the rest
/// of the agent sees.
@Suite struct LayoutTests {
    @Test func swiftSeesTheHeadersLayouts() throws {
        try ErrnoProgram.checkLayouts()
        #expect(MemoryLayout<capture_event>.size == Int(SIZEOF_CAPTURE_EVENT))
        // The kernel looks {reserved, path} of a path key up as a trigger_prefix_key.
        let reserved = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.reserved)!
        let path = MemoryLayout<path_failure_key>.offset(of: \path_failure_key.path)!
        #expect(path - reserved == MemoryLayout<trigger_prefix_key>.offset(of: \trigger_prefix_key.path)!)
    }

    @Test func limitsComeFromTheHeader() {
        #expect(KernelLimits.pathBytes == Int(PATH_BUFFER_LEN) - 1)
        #expect(KernelLimits.maxTriggers == 64)
        #expect(KernelLimits.userStackBytes.contains(KernelLimits.defaultUserStackBytes))
        #expect(KernelLimits.commBytes == 15)
    }
}
