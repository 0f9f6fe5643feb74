import ErrnoKernel
import ErrnoServer

/// What the command line decided: where the config is, what to serve where, what to keep.
public struct AgentOptions: Sendable {
    public var configFile: String
    public var addresses: [ListenAddress]
    public var telemetryPath = "/metrics"
    /// `--web.config.file`.
    public var webConfigFile: String?
    /// `--web.enable-lifecycle`.
    public var enableLifecycle = false
    public var limits = ServerLimits()
    /// `--capabilities.keep`: capability names, nil to keep all; `keepIsDefault` when not given.
    public var keepCapabilities: [String]?
    public var keepIsDefault = true
    /// `--kernel.disable-feature`: features used as if this kernel lacked them (to see, or test,
    /// how the agent runs on an older kernel).
    public var disabledFeatures: Set<KernelFeatures.Feature> = []

    public init(configFile: String, addresses: [ListenAddress]) {
        self.configFile = configFile
        self.addresses = addresses
    }
}
