import ErrnoKernel

extension ArmingWindow {
    /// One window for two alerts arming the same trigger at once: the later deadline, narrowed only
    /// by the comm and pid both share (different ones: any), so neither alert's process is missed.
    public func merged(with other: ArmingWindow) -> ArmingWindow {
        ArmingWindow(
            untilMonotonicNanoseconds: max(untilMonotonicNanoseconds, other.untilMonotonicNanoseconds),
            comm: comm == other.comm ? comm : nil, pid: pid == other.pid ? pid : nil)
    }
}
