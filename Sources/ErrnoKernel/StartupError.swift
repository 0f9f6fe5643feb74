/// A reason the agent cannot run (or a config cannot be applied), phrased as what is wrong and what
/// to do.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
