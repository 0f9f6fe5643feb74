import BPFKit

/// What the BPF program is sized with when it opens: fixed until a restart.
public struct KernelOptions: Sendable {
    public var syscallSeries = KernelLimits.defaultSyscallSeries
    public var pathSeries = KernelLimits.defaultPathSeries
    public var userStackBytes = KernelLimits.defaultUserStackBytes
    /// 0: sized for 16 captures, at least `KernelLimits.defaultCaptureBufferBytes`.
    public var captureBufferBytes = 0
    public var readStrategy = CounterMapReader.Strategy.batch
    /// What the kernel offers (`KernelFeatures.probe()`); the programs are chosen by it.
    public var features = KernelFeatures()

    public init() {}
}
