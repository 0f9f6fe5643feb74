/// What one client may cost the agent: a slow or hostile client cannot stall it or its BPF readers.
public struct ServerLimits: Sendable {
    /// Connections open at once; more are closed as they are accepted (--web.max-connections).
    public var maxConnections = 512
    /// Scrapes served at once; more get 503 (like node_exporter's --web.max-requests).
    public var maxConcurrentScrapes = 40
    /// A connection that sends nothing for this long is closed (slow or stalled clients).
    public var idleTimeout: Duration = .seconds(60)
    /// Largest header field, and all header fields together.
    public var maxHeaderFieldBytes = 8 * 1024
    public var maxHeaderBytes = 32 * 1024
    public var maxHeaderCount = 100

    public init() {}
}
