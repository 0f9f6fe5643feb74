/// A stack-capture trigger as the kernel needs it (the config's `triggers:` entries, resolved).
public struct TriggerSpec: Sendable, Equatable {
    public var name: String
    /// Exact paths, and path prefixes, compared byte for byte.
    public var paths: [String]
    public var prefixes: [String]
    /// Only this comm, when set.
    public var comm: String?
    public var onFailure = true
    public var onSuccess = false
    public var userStack = true
    public var kernelStack = true
    /// Captures per minute at most; 0: no limit.
    public var maxPerMinute = 10
    /// False for `on_alert`: captures only while an alert's window is open.
    public var alwaysArmed = true
    /// Also capture the thread that submitted a Node.js (libuv) async request on the paths.
    public var asyncStacks = false

    public init(name: String, paths: [String] = [], prefixes: [String] = []) {
        self.name = name
        self.paths = paths
        self.prefixes = prefixes
    }
}
