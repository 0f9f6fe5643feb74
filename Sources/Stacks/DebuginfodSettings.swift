/// Where and how missing debug files are fetched by build ID: the debuginfod servers (none: nothing
/// is ever fetched), the on-disk cache libdebuginfod keeps (its directory and a size cap the fetcher
/// enforces) and how long one fetch may take. Built from the config's `symbolization:` section.
public struct DebuginfodSettings: Sendable, Equatable {
    /// Server URLs, tried together by libdebuginfod; empty: fetching is off.
    public var urls: [String]
    /// libdebuginfod's cache: `<build ID>/debuginfo` files. Root's, not writable by others.
    public var cacheDirectory: String
    /// The cache's size cap: after each fetch the least recently used debug files go first.
    public var cacheMaxBytes: Int64
    /// Connect timeout, the longest stall and the longest whole transfer of one fetch.
    public var timeoutSeconds: Int

    public static let defaultCacheDirectory = "/var/cache/errno_exporter/debuginfod"
    public static let defaultCacheMaxBytes: Int64 = 1 << 30
    public static let defaultTimeoutSeconds = 30

    public init(
        urls: [String] = [], cacheDirectory: String = Self.defaultCacheDirectory, cacheMaxBytes: Int64 = Self.defaultCacheMaxBytes,
        timeoutSeconds: Int = Self.defaultTimeoutSeconds
    ) {
        self.urls = urls
        self.cacheDirectory = cacheDirectory
        self.cacheMaxBytes = cacheMaxBytes
        self.timeoutSeconds = timeoutSeconds
    }

    public var isEnabled: Bool { !urls.isEmpty }

    /// One debug file larger than this is not downloaded (nor parsed: `ElfImage.maxFileBytes`).
    var maxFileBytes: Int64 { min(cacheMaxBytes, ElfImage.maxFileBytes) }
}
