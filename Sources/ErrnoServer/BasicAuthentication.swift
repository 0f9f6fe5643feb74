import CCrypt
import ErrnoConfig
import Foundation
import Hummingbird
import Logging
import Synchronization

/// HTTP basic authentication for every route, from `--web.config.file`. The file is re-read when it
/// changes (no restart to add a user or rotate a password); a broken edit keeps the last good one in
/// force and is logged. Verified credentials are remembered (bcrypt is slow by design).
public final class BasicAuthentication: Sendable {
    struct State {
        var config: WebConfig
        var modified: Date?
        var verified: Set<String> = []
    }

    private let path: String
    private let logger: Logger
    private let state: Mutex<State>

    static let rememberedCredentials = 64

    /// `initial` is `path` as loaded at start (a broken file there is the caller's error to report).
    public init(path: String, initial: WebConfig, logger: Logger) {
        self.path = path
        self.logger = logger
        state = Mutex(State(config: initial, modified: Self.modificationDate(path)))
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    private func currentConfig() -> (WebConfig, Set<String>) {
        state.withLock { state in
            let modified = Self.modificationDate(path)
            if modified != state.modified {
                state.modified = modified
                do {
                    state.config = try WebConfigLoader.load(path: path)
                    state.verified.removeAll()
                    logger.info("web config reloaded", metadata: ["file": "\(path)"])
                } catch {
                    logger.error("web config reload failed; the previous one stays in force", metadata: ["error": "\(error)"])
                }
            }
            return (state.config, state.verified)
        }
    }

    /// The bcrypt hash with the highest cost (`$2y$12$…` → 12).
    static func costliest(_ hashes: some Collection<String>) -> String? {
        hashes.max { cost($0) < cost($1) }
    }

    static func cost(_ hash: String) -> Int {
        let fields = hash.split(separator: "$")
        return fields.count >= 2 ? Int(fields[1]) ?? 0 : 0
    }

    /// Whether `authorization` (the header's value) names a configured user with the right password.
    func allows(_ authorization: String?) -> Bool {
        let (config, verified) = currentConfig()
        if config.basicAuthUsers.isEmpty { return true }
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":")
        else { return false }
        let user = String(credentials[..<colon]), password = String(credentials[credentials.index(after: colon)...])
        let key = "\(user)\u{0}\(password)"
        if verified.contains(key) { return true }
        guard let hash = config.basicAuthUsers[user] else {
            // An unknown user's password is checked against the costliest configured hash, so the
            // answer takes as long as a known user's wrong password: timing names no user.
            if let decoy = Self.costliest(config.basicAuthUsers.values) { _ = errno_bcrypt_matches(password, decoy) }
            return false
        }
        guard errno_bcrypt_matches(password, hash) == 1 else { return false }
        state.withLock { state in
            if state.verified.count >= Self.rememberedCredentials { state.verified.removeAll() }
            state.verified.insert(key)
        }
        return true
    }
}

/// Answers 401 to requests `BasicAuthentication` does not allow.
struct BasicAuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let authentication: BasicAuthentication

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard authentication.allows(request.headers[.authorization]) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Basic realm=\"errno_exporter\", charset=\"UTF-8\""
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "Unauthorized\n")))
        }
        return try await next(request, context)
    }
}
