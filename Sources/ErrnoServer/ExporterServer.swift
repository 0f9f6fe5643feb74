import Captures
import CompressNIO
import ErrnoKernel
import ErrnoMetrics
import Foundation
import Exposition
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The agent's HTTP face: `/metrics` (or the configured telemetry path), the landing page `/`,
/// `/-/healthy`, `/-/ready` and `/-/reload`. One Hummingbird application per listen address.
public struct ExporterServer: Sendable {
    public let addresses: [ListenAddress]
    public let telemetryPath: String
    public let gatherer: Gatherer
    public let isReady: @Sendable () -> Bool
    /// Reloads the config (`--web.enable-lifecycle`); nil answers `/-/reload` with 403.
    public let reload: (@Sendable () throws -> Void)?
    public let limits: ServerLimits
    /// `--web.config.file`'s basic auth, for every route; nil without a web config.
    public let authentication: BasicAuthentication?
    /// HTTPS only, when the web config has tls_server_config.
    public let tls: TLSConfiguration?
    /// The capture and trigger endpoints (and the landing page's captures).
    public let captures: CaptureAPI?
    /// The cap on open connections (`--web.max-connections`); nil: none.
    public let connections: ConnectionGate?
    /// Whether OpenMetrics expositions carry `_created` samples (`--web.disable-openmetrics-created-samples`).
    public let openMetricsCreatedSamples: Bool
    /// What fails now, for the landing page and `/api/v1/failures/recent`; nil: neither shows it.
    public let recent: RecentFailures?
    /// Runs after a scrape's exposition is built and its intermediate data freed, when no other
    /// scrape is in flight, before the response is written: the agent hands the allocator's free
    /// pages back to the system there, and after the first successful scrape (`true`: answered
    /// 200) drops its code pages once more, which that scrape waits for (milliseconds, once).
    public let afterScrape: @Sendable (_ succeeded: Bool) -> Void
    public let logger: Logger
    private let scrapesInFlight = ManagedAtomicCounter()

    public init(
        addresses: [ListenAddress], telemetryPath: String, gatherer: Gatherer, isReady: @escaping @Sendable () -> Bool,
        reload: (@Sendable () throws -> Void)?, limits: ServerLimits = ServerLimits(), authentication: BasicAuthentication? = nil,
        tls: TLSConfiguration? = nil, captures: CaptureAPI? = nil, connections: ConnectionGate? = nil, openMetricsCreatedSamples: Bool = true,
        recent: RecentFailures? = nil, afterScrape: @escaping @Sendable (_ succeeded: Bool) -> Void = { _ in }, logger: Logger
    ) {
        self.afterScrape = afterScrape
        self.openMetricsCreatedSamples = openMetricsCreatedSamples
        self.recent = recent
        self.captures = captures
        self.connections = connections
        self.limits = limits
        self.authentication = authentication
        self.tls = tls
        self.addresses = addresses
        self.telemetryPath = telemetryPath
        self.gatherer = gatherer
        self.isReady = isReady
        self.reload = reload
        self.logger = logger
    }

    /// One service per listen address; `onListening` receives each bound address (port 0 resolved).
    public func services(onListening: @escaping @Sendable (String) -> Void = { _ in }) throws -> [any Service] {
        let router = makeRouter()
        let logger = self.logger
        let limits = self.limits
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(Int64(limits.idleTimeout.components.seconds) * 1_000_000_000 + limits.idleTimeout.components.attoseconds / 1_000_000_000),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderFieldBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: limits.maxHeaderCount))
        let tls = self.tls, connections = self.connections
        let server = HTTPServerBuilder { responder in
            let plain = HTTP1Channel(responder: responder, configuration: http1)
            guard let tls else { return connections.map { $0.guarding(plain) } ?? plain }
            let secure = try TLSChannel(plain, tlsConfiguration: tls)
            return connections.map { $0.guarding(secure) } ?? secure
        }
        return addresses.map { address in
            Application(
                router: router,
                server: server,
                configuration: .init(address: .hostname(address.host, port: address.port), serverName: "errno_exporter/\(BuildInfo.version)"),
                onServerRunning: { channel in
                    let bound = channel.localAddress.map { "\($0.ipAddress ?? address.host):\($0.port ?? address.port)" } ?? address.description
                    logger.info("listening", metadata: ["address": "\(bound)"])
                    onListening(bound)
                },
                logger: logger)
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeadersMiddleware())
        if let authentication { router.add(middleware: BasicAuthenticationMiddleware(authentication: authentication)) }
        addMetricsRoute(to: router)
        addLifecycleRoutes(to: router)
        if let captures { CaptureRoutes.add(to: router, api: captures, authenticated: authentication != nil) }
        addLandingPage(to: router)
        return router
    }

    /// The telemetry path: every collector gathered, encoded as `Accept` asks, gzipped when allowed;
    /// at most `limits.maxConcurrentScrapes` at once.
    private func addMetricsRoute(to router: Router<BasicRequestContext>) {
        let gatherer = self.gatherer, isReady = self.isReady, logger = self.logger, createdSamples = openMetricsCreatedSamples
        let inFlight = scrapesInFlight, maxScrapes = limits.maxConcurrentScrapes, afterScrape = self.afterScrape
        router.get(RouterPath(telemetryPath)) { request, _ -> Response in
            guard isReady() else {
                return Self.text(.serviceUnavailable, "BPF programs are not attached yet\n")
            }
            guard inFlight.increment() <= maxScrapes else {
                inFlight.decrement()
                return Self.text(.serviceUnavailable, "too many concurrent scrapes (--web.max-requests=\(maxScrapes)); retry later\n")
            }
            let response = Self.scrape(request, gatherer: gatherer, createdSamples: createdSamples, logger: logger)
            if inFlight.decrement() == 0 {
                afterScrape(response.status == .ok)  // once concurrent scrapes are all done: their memory is free then
            }
            return response
        }
    }

    /// One scrape's response: every collector gathered, encoded as `Accept` asks, gzipped when
    /// allowed. Everything but the body is freed when it returns.
    private static func scrape(_ request: Request, gatherer: Gatherer, createdSamples: Bool, logger: Logger) -> Response {
        let format = ExpositionFormat.negotiate(accept: request.headers[.accept])
        let (families, errors) = gatherer.gather()
        for error in errors {
            logger.error("collector failed", metadata: ["error": "\(error)"])
        }
        if !errors.isEmpty && families.isEmpty {
            return Self.text(.internalServerError, "collection failed: \(errors.map { "\($0)" }.joined(separator: "; "))\n")
        }
        var headers = HTTPFields()
        headers[.contentType] = format.contentType
        headers[.vary] = "Accept, Accept-Encoding"
        var body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try format.encode(families, createdSamples: createdSamples))
        } catch {
            return Self.text(.internalServerError, "encoding the exposition failed: \(error)\n")
        }
        if Self.acceptsGzip(request.headers[.acceptEncoding]), let compressed = try? body.compress(with: .gzip()) {
            headers[.contentEncoding] = "gzip"
            body = compressed
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// `/-/healthy`, `/-/ready` and `/-/reload` (403 without `--web.enable-lifecycle`).
    private func addLifecycleRoutes(to router: Router<BasicRequestContext>) {
        let isReady = self.isReady, reload = self.reload
        router.get("/-/healthy") { _, _ in Self.text(.ok, "Healthy\n") }
        router.get("/-/ready") { _, _ in isReady() ? Self.text(.ok, "Ready\n") : Self.text(.serviceUnavailable, "Not ready: BPF programs are not attached yet\n") }
        let reloadHandler: @Sendable (Request, BasicRequestContext) async -> Response = { _, _ in
            guard let reload else { return Self.text(.forbidden, "Lifecycle API is not enabled.\n") }
            do {
                try reload()
                return Self.text(.ok, "OK\n")
            } catch {
                return Self.text(.internalServerError, "failed to reload config: \(error)\n")
            }
        }
        router.post("/-/reload", use: reloadHandler)
        router.put("/-/reload", use: reloadHandler)
    }

    /// `/`: the landing page (`?comm=` narrows what fails now to one comm and prefills the live
    /// view, `?pid=` prefills it); `/static/investigate.js`, its script; `/api/v1/failures/recent`
    /// (`?limit=`, `?comm=`), what fails now as JSON.
    private func addLandingPage(to router: Router<BasicRequestContext>) {
        let captures = self.captures, isReady = self.isReady, telemetryPath = self.telemetryPath, recent = self.recent
        router.get("/static/investigate.js") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/javascript; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: InvestigationScript.source)))
        }
        router.get("/api/v1/failures/recent") { request, _ -> Response in
            guard let recent else { return CaptureRoutes.failure(.notFound, "not_found", "no kernel counters behind this server") }
            let query = request.uri.queryParameters
            let limit = query["limit"].flatMap { Int(String($0)) } ?? LandingPage.recentRows
            guard (1...1000).contains(limit) else { return CaptureRoutes.failure(.badRequest, "bad_data", "limit must be 1 to 1000") }
            do {
                let report = try recent.report(limit: limit, comm: query["comm"].map(String.init))
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: APIModels.RecentJSON(report: report)))
            } catch {
                return CaptureRoutes.failure(.internalServerError, "internal", "reading the counters failed: \(error)")
            }
        }
        router.get("/") { request, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            let triggers = (try? captures?.triggers.statuses()) ?? []
            let recentCaptures = captures?.store.list(limit: LandingPage.recentCaptures) ?? []
            let byTrigger = triggers.compactMap { trigger -> (String, [Capture])? in
                let kept = captures?.store.list(trigger: trigger.name, limit: LandingPage.flameGraphCaptures) ?? []
                return kept.isEmpty ? nil : (trigger.name, kept)
            }
            let query = request.uri.queryParameters
            let comm = query["comm"].map(String.init).flatMap { $0.isEmpty ? nil : String($0.unicodeScalars.prefix(64)) }
            var page = LandingPage(
                telemetryPath: telemetryPath, ready: isReady(), triggers: triggers, captures: recentCaptures, capturesByTrigger: byTrigger,
                features: captures?.triggers.kernelFeatures)
            page.recent = try? recent?.report(limit: LandingPage.recentRows, comm: comm)
            page.comm = comm
            page.pid = query["pid"].map(String.init).flatMap { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) ? String($0.prefix(8)) : nil }
            page.investigations = captures?.investigations != nil
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page.html)))
        }
    }

    /// Whether an `Accept-Encoding` header allows gzip (`gzip`, `x-gzip` or `*` with a q-value above 0).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { coding in
            let parts = coding.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first, ["gzip", "x-gzip", "*"].contains(name) else { return false }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A shared counter of requests in flight.
final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one; returns the new count.
    func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Takes one off; returns the new count.
    @discardableResult
    func decrement() -> Int { value.wrappingSubtract(1, ordering: .relaxed).newValue }
}
