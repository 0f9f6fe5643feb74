import CompressNIO
import Captures
import Foundation
import Hummingbird
import NIOCore

/// What the capture endpoints read: the stored captures and the triggers' state; and the receiver
/// of Alertmanager's webhook, which arms triggers.
public struct CaptureAPI: Sendable {
    public let store: CaptureStore
    public let triggers: TriggerDirectory
    public let webhook: AlertWebhook?
    /// Ephemeral triggers (`--web.enable-investigations`); nil: their routes answer 403.
    public let investigations: InvestigationAPI?

    public init(store: CaptureStore, triggers: TriggerDirectory, webhook: AlertWebhook? = nil, investigations: InvestigationAPI? = nil) {
        self.store = store
        self.triggers = triggers
        self.webhook = webhook
        self.investigations = investigations
    }
}

/// `GET /api/v1/triggers`, `GET /api/v1/captures` (newest first; `?trigger=NAME`, `?limit=N`,
/// `?format=json|pprof`), `GET /api/v1/captures/{id}` (`?format=json|folded|pprof`) and
/// `POST /api/v1/alerts` (Alertmanager's
/// webhook, payload version 4, which arms `on_alert` triggers). JSON answers use Prometheus' API envelope:
/// `{"status":"success","data":…}`, or `{"status":"error","errorType":…,"error":…}` with a 4xx.
enum CaptureRoutes {
    static let defaultLimit = 100

    static func add(to router: Router<BasicRequestContext>, api: CaptureAPI, authenticated: Bool = false) {
        InvestigationRoutes.add(to: router, api: api.investigations, directory: api.triggers, authenticated: authenticated)
        router.get("/api/v1/triggers") { _, _ -> Response in
            do {
                let warnings = api.triggers.kernelWarnings
                return json(Envelope(data: try api.triggers.statuses().map(APIModels.TriggerJSON.init), warnings: warnings.isEmpty ? nil : warnings))
            } catch {
                return failure(.internalServerError, "internal", "reading the trigger counters failed: \(error)")
            }
        }
        if let alerts = api.webhook {
            router.post("/api/v1/alerts") { request, _ -> Response in
                let body: ByteBuffer
                do {
                    body = try await request.body.collect(upTo: AlertNotification.maxBytes)
                } catch {
                    let error = WebhookError(.tooLarge, "the body exceeds \(AlertNotification.maxBytes) bytes; nothing was armed")
                    alerts.refused(error)
                    return failure(.contentTooLarge, "bad_data", error.description)
                }
                do {
                    let outcome = try alerts.receive(body: Array(buffer: body), contentType: request.headers[.contentType])
                    return json(Envelope(data: APIModels.OutcomeJSON(outcome: outcome)))
                } catch let error as WebhookError {
                    return failure(HTTPResponse.Status(code: error.status.rawValue), "bad_data", error.description)
                } catch {
                    return failure(.internalServerError, "internal", "arming failed: \(error)")
                }
            }
        }
        router.get("/api/v1/captures") { request, _ -> Response in
            let query = request.uri.queryParameters
            var limit = defaultLimit
            if let text = query["limit"] {
                guard let value = Int(String(text)), value >= 1 else {
                    return failure(.badRequest, "bad_data", "limit must be a positive integer, got \"\(text)\"")
                }
                limit = value
            }
            let trigger = query["trigger"].map(String.init)
            let captures = api.store.list(trigger: trigger, limit: limit)
            switch query["format"].map(String.init) ?? "json" {
            case "json": return json(Envelope(data: captures.map(APIModels.CaptureJSON.init)))
            case "pprof": return pprof(captures, name: "captures-\(trigger ?? "all")")
            case "svg":
                let title = "\(trigger.map { "trigger \($0)" } ?? "all triggers"): \(captures.count) captures"
                guard limit <= maxFlameGraphCaptures else {
                    return failure(.badRequest, "bad_data", "a flame graph draws at most \(maxFlameGraphCaptures) captures (limit)")
                }
                return flameGraph(captures, title: title, query: query, name: "flamegraph-\(trigger ?? "all")") { focus, search in
                    "captures?" + FlameGraphLinks.query(["trigger": trigger, "limit": query["limit"].map(String.init), "format": "svg", "focus": focus, "search": search])
                }
            case let other: return failure(.badRequest, "bad_data", "unknown format \"\(other)\"; formats are json, pprof (an aggregate), svg (a flame graph)")
            }
        }
        router.get("/api/v1/captures/:id") { request, context -> Response in
            guard let text = context.parameters.get("id"), let id = UInt64(text) else {
                return failure(.badRequest, "bad_data", "a capture id is a positive integer")
            }
            guard let capture = api.store.capture(id: id) else {
                return failure(.notFound, "not_found", "no capture \(id) (captures are kept in a ring of captures.keep; it may have been replaced)")
            }
            let query = request.uri.queryParameters
            switch query["format"].map(String.init) ?? "json" {
            case "json": return json(Envelope(data: APIModels.CaptureJSON(capture: capture)))
            case "folded":
                var buildIDs = false
                if let text = query["build_ids"] {
                    guard let value = Bool(String(text)) else { return failure(.badRequest, "bad_data", "build_ids is true or false, got \"\(text.prefix(64))\"") }
                    buildIDs = value
                }
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: capture.folded(buildIDs: buildIDs))))
            case "pprof": return pprof([capture], name: "capture-\(capture.id)")
            case "svg":
                return flameGraph([capture], title: "capture \(capture.id): \(capture.syscall) \(capture.path)", query: query, name: "flamegraph-\(capture.id)") { focus, search in
                    "\(capture.id)?" + FlameGraphLinks.query(["format": "svg", "focus": focus, "search": search])
                }
            case let other:
                return failure(.badRequest, "bad_data", "unknown format \"\(other)\"; formats are json, folded, pprof, svg (a flame graph)")
            }
        }
    }

    /// Captures one flame graph draws at most.
    static let maxFlameGraphCaptures = 10_000

    /// The flame graph of `captures` as SVG: `?focus=` (child indexes from the root, `.`-separated) zooms,
    /// `?search=` highlights, `?download=true` makes it a file. `link(focus, search)` is a zoom's URL.
    static func flameGraph(
        _ captures: [Capture], title: String, query: Parameters, name: String, link: @escaping (String, String?) -> String
    ) -> Response {
        let focusText = query["focus"].map(String.init) ?? ""
        let search = query["search"].map(String.init)
        let focus = focusText.isEmpty ? [] : focusText.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) ?? -1 }
        guard focus.count <= 4096, !focus.contains(where: { $0 < 0 }), (search?.utf8.count ?? 0) <= 1024 else {
            return failure(.badRequest, "bad_data", "focus is child indexes separated by dots (at most 4096), search at most 1024 bytes")
        }
        let graph = FlameGraph(stacks: captures.map { $0.foldedFrames() })
        let svg = graph.svg(title: title, focus: focus, search: search) { path in
            link(path.map(String.init).joined(separator: "."), search)
        }
        var headers = HTTPFields()
        headers[.contentType] = "image/svg+xml; charset=utf-8"
        headers[.cacheControl] = "no-store"
        if query["download"] == "true" { headers[.contentDisposition] = "attachment; filename=\"\(fileName(name)).svg\"" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    /// A gzipped pprof profile of `captures`, as `go tool pprof` fetches one.
    static func pprof(_ captures: [Capture], name: String) -> Response {
        guard let profile = PprofProfile.encode(captures) else { return failure(.internalServerError, "internal", "encoding the profile failed") }
        var buffer = ByteBuffer(bytes: profile)
        guard let compressed = try? buffer.compress(with: .gzip()) else { return failure(.internalServerError, "internal", "compressing the profile failed") }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = "attachment; filename=\"\(fileName(name)).pb.gz\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: compressed))
    }

    /// A download's file name from `name` (which holds a client's query parameter): letters, digits,
    /// `.`, `_` and `-` only, at most 64 of them.
    static func fileName(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".unicodeScalars)
        return String(String.UnicodeScalarView(name.unicodeScalars.prefix(64).map { allowed.contains($0) ? $0 : "_" }))
    }

    /// Prometheus' API envelope; `warnings` as Prometheus puts them (absent when there are none).
    struct Envelope<Data: Encodable>: Encodable {
        var status = "success"
        let data: Data
        var warnings: [String]? = nil
    }

    struct ErrorEnvelope: Encodable {
        var status = "error"
        let errorType: String
        let error: String
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let body = (try? encoder.encode(value)) ?? Data(#"{"status":"error","errorType":"internal","error":"encoding failed"}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"  // captures and counts change from one request to the next
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func failure(_ status: HTTPResponse.Status, _ type: String, _ message: String) -> Response {
        json(ErrorEnvelope(errorType: type, error: message), status: status)
    }
}
