import ErrnoConfig
import ErrnoKernel
import ErrnoServer
import SystemSupport

/// What the command line decided: where the config is, what to serve where, what to keep.
public struct AgentOptions: Sendable {
    /// A flag's value the agent cannot use, with the reason.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public var configFile: String
    var addresses: [ListenAddress]
    public var telemetryPath = "/metrics"
    /// `--web.config.file`.
    public var webConfigFile: String?
    /// `--web.enable-lifecycle`.
    public var enableLifecycle = false
    /// `--web.enable-investigations`: watches and ephemeral triggers through the API.
    public var enableInvestigations = false
    /// `--web.investigations.max-triggers`: ephemeral triggers at once.
    public var maxEphemeralTriggers = 8
    /// `--web.investigations.max-watches`: watches at once.
    public var maxWatches = 8
    /// `--web.investigations.max-duration`: the longest a watch or an ephemeral trigger lives (seconds).
    public var maxInvestigationSeconds = 3600
    /// How long a watch or an ephemeral trigger lives when the request does not say.
    public static let defaultInvestigationSeconds = 300
    /// Not `--web.disable-openmetrics-created-samples`.
    public var openMetricsCreatedSamples = true
    var limits = ServerLimits()
    /// `--capabilities.keep`: capability names, nil to keep all; `keepIsDefault` when not given.
    var keepCapabilities: [String]?
    var keepIsDefault = true
    /// `--kernel.disable-feature`: features used as if this kernel lacked them (to see, or test,
    /// how the agent runs on an older kernel).
    var disabledFeatures: Set<KernelFeatures.Feature> = []

    /// `--capabilities.keep`'s default.
    public static let defaultCapabilitiesKeep = Capabilities.defaultKeep.joined(separator: ",")
    /// The web limits' defaults (`--web.max-requests`, `--web.max-connections`, `--web.idle-timeout`).
    public static let defaultMaxRequests = ServerLimits().maxConcurrentScrapes
    public static let defaultMaxConnections = ServerLimits().maxConnections
    public static let defaultIdleTimeoutSeconds = Double(ServerLimits().idleTimeout.components.seconds)

    /// `--web.investigations.*` from their command-line text; throws `Invalid` naming the flag.
    public mutating func setInvestigationLimits(maxTriggers: Int, maxWatches: Int = 8, maxDuration: String) throws {
        guard (1...64).contains(maxTriggers) else { throw Invalid(description: "--web.investigations.max-triggers must be 1 to 64, got \(maxTriggers)") }
        guard (1...KernelLimits.maxWatches).contains(maxWatches) else {
            throw Invalid(description: "--web.investigations.max-watches must be 1 to \(KernelLimits.maxWatches), got \(maxWatches)")
        }
        guard let seconds = DurationText.seconds(maxDuration), (1...86_400).contains(seconds) else {
            throw Invalid(description: "--web.investigations.max-duration must be a duration from 1s to 1d, like 1h; got \"\(maxDuration)\"")
        }
        maxEphemeralTriggers = maxTriggers
        self.maxWatches = maxWatches
        maxInvestigationSeconds = seconds
    }

    /// The options from their command-line text; throws `Invalid` naming the flag.
    public init(
        configFile: String, listenAddresses: [String], capabilitiesKeep: String = Self.defaultCapabilitiesKeep, disabledFeatures: [String] = []
    ) throws {
        self.configFile = configFile
        addresses = try listenAddresses.map { address in
            do { return try ListenAddress(parsing: address) } catch { throw Invalid(description: "--web.listen-address: \(error)") }
        }
        keepCapabilities = capabilitiesKeep == "all" ? nil : capabilitiesKeep.split(separator: ",").map(String.init)
        keepIsDefault = capabilitiesKeep == Self.defaultCapabilitiesKeep
        self.disabledFeatures = Set(try disabledFeatures.map { name in
            guard let feature = KernelFeatures.Feature(rawValue: name) else {
                let known = KernelFeatures.Feature.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "--kernel.disable-feature: unknown feature \"\(name)\"; features: \(known)")
            }
            return feature
        })
    }

    /// `--web.max-requests`, `--web.max-connections`, `--web.idle-timeout` (seconds).
    public mutating func setLimits(maxRequests: Int, maxConnections: Int, idleTimeoutSeconds: Double) throws {
        guard maxRequests >= 1 else { throw Invalid(description: "--web.max-requests must be at least 1") }
        guard maxConnections >= 1 else { throw Invalid(description: "--web.max-connections must be at least 1") }
        guard idleTimeoutSeconds > 0 else { throw Invalid(description: "--web.idle-timeout must be positive") }
        limits.maxConcurrentScrapes = maxRequests
        limits.maxConnections = maxConnections
        limits.idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1000))
    }

    /// `--web.telemetry-path`.
    public mutating func setTelemetryPath(_ path: String) throws {
        guard path.hasPrefix("/"), path.count > 1, !["/-/healthy", "/-/ready"].contains(path) else {
            throw Invalid(description: "--web.telemetry-path must start with '/' and not be '/', '/-/healthy' or '/-/ready'")
        }
        telemetryPath = path
    }
}
