import Glibc
import Synchronization

/// libdebuginfod takes its servers, cache, timeouts and size cap from environment variables only,
/// read at each query. This sets them, from the fetch thread alone, to a fetch's settings.
///
/// glibc's setenv is unsafe against a concurrent getenv only when it grows the environment array, so
/// `reserve()` defines every variable once, at start-up, before any other thread exists; later
/// changes replace values in place. The servers inherited in `DEBUGINFOD_URLS` are remembered first:
/// they apply when the config names none.
public enum DebuginfodEnvironment {
    /// What `apply` sets.
    static let variables = ["DEBUGINFOD_URLS", "DEBUGINFOD_CACHE_PATH", "DEBUGINFOD_TIMEOUT", "DEBUGINFOD_MAXTIME", "DEBUGINFOD_MAXSIZE"]
    /// Set at all (even empty), these turn on output to the agent's stderr or extra request headers.
    static let unwanted = ["DEBUGINFOD_PROGRESS", "DEBUGINFOD_VERBOSE", "DEBUGINFOD_HEADERS_FILE"]
    private static let inherited = Mutex<[String]?>(nil)

    /// Remembers the inherited `DEBUGINFOD_URLS`, defines every variable `apply` sets and removes
    /// those that would make libdebuginfod print progress or send extra headers. Call first thing.
    public static func reserve() {
        inherited.withLock { urls in
            guard urls == nil else { return }
            urls = getenv("DEBUGINFOD_URLS").map { String(cString: $0).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init) } ?? []
            for name in unwanted { unsetenv(name) }
            for name in variables { setenv(name, "", 1) }
        }
    }

    /// The servers named by `DEBUGINFOD_URLS` when the agent started (empty before `reserve()`).
    public static var inheritedURLs: [String] { inherited.withLock { $0 ?? [] } }

    /// Points libdebuginfod at `settings` (call on the fetch thread, before a query).
    static func apply(_ settings: DebuginfodSettings) {
        setenv("DEBUGINFOD_URLS", settings.urls.joined(separator: " "), 1)
        setenv("DEBUGINFOD_CACHE_PATH", settings.cacheDirectory, 1)
        setenv("DEBUGINFOD_TIMEOUT", String(settings.timeoutSeconds), 1)
        setenv("DEBUGINFOD_MAXTIME", String(settings.timeoutSeconds), 1)
        setenv("DEBUGINFOD_MAXSIZE", String(settings.maxFileBytes), 1)
    }
}
