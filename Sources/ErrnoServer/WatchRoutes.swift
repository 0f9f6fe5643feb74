import Foundation
import Hummingbird
import NIOCore
import Watches

/// `POST /api/v1/watches` (JSON `{"pid": N}`, `{"comm": C}` or `{"cgroup": PATH}`, optional
/// `paths_only`, `duration`, `events_per_second`; 201 with the watch), `GET /api/v1/watches`,
/// `GET /api/v1/watches/{id}` (the watch and its summary), `GET /api/v1/watches/{id}/events` (the
/// failures as they happen: Server-Sent Events when `Accept: text/event-stream`, else NDJSON) and
/// `DELETE /api/v1/watches/{id}`. 403 for all while investigations are not enabled.
enum WatchRoutes {
    static func add(to router: Router<BasicRequestContext>, watches: WatchRegistry?, api: InvestigationAPI?, authenticated: Bool) {
        router.post("/api/v1/watches") { request, _ -> Response in
            guard let api, let watches else { return disabled() }
            if let refused = InvestigationRoutes.crossSiteRefusal(request) { return refused }
            let body: ByteBuffer
            switch await InvestigationRoutes.jsonBody(request, maxBytes: WatchRequest.maxBytes, what: "the watch") {
            case .body(let buffer): body = buffer
            case .refused(let response): return response
            }
            let parsed: WatchRequest
            do {
                parsed = try WatchRequest.parse(Array(buffer: body), defaultSeconds: api.defaultDurationSeconds, maxSeconds: api.maxDurationSeconds)
            } catch {
                return CaptureRoutes.failure(.badRequest, "bad_data", "\(error)")
            }
            do {
                let watch = try watches.create(parsed, by: authenticated ? InvestigationRoutes.user(request) : "anonymous")
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: APIModels.WatchJSON(watch: watch)), status: .created)
            } catch {
                return refusal(error)
            }
        }
        router.get("/api/v1/watches") { request, _ -> Response in
            guard let watches else { return disabled() }
            if let refused = InvestigationRoutes.crossSiteRefusal(request) { return refused }
            return CaptureRoutes.json(CaptureRoutes.Envelope(data: watches.list().map { APIModels.WatchJSON(watch: $0) }))
        }
        router.get("/api/v1/watches/:id") { request, context -> Response in
            guard let watches else { return disabled() }
            if let refused = InvestigationRoutes.crossSiteRefusal(request) { return refused }
            let id = context.parameters.get("id") ?? ""
            do {
                guard let (watch, reading) = try watches.reading(id) else { return refusal(WatchRegistry.Refusal.unknown(id)) }
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: APIModels.WatchJSON(watch: watch, reading: reading)))
            } catch {
                return refusal(error)
            }
        }
        router.get("/api/v1/watches/:id/events") { request, context -> Response in
            guard let watches else { return disabled() }
            if let refused = InvestigationRoutes.crossSiteRefusal(request) { return refused }
            let id = context.parameters.get("id") ?? ""
            let stream: AsyncStream<WatchStreamItem>
            do {
                guard let subscribed = try watches.subscribe(id) else { return refusal(WatchRegistry.Refusal.unknown(id)) }
                stream = subscribed
            } catch {
                return refusal(error)
            }
            let serverSent = request.headers[.accept]?.lowercased().contains("text/event-stream") == true
            var headers = HTTPFields()
            headers[.contentType] = serverSent ? "text/event-stream; charset=utf-8" : "application/x-ndjson"
            headers[.cacheControl] = "no-store"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    for await item in stream {
                        try await writer.write(ByteBuffer(bytes: frame(item, serverSent: serverSent)))
                        if case .end = item { break }
                    }
                    try await writer.finish(nil)
                })
        }
        router.delete("/api/v1/watches/:id") { request, context -> Response in
            guard let watches else { return disabled() }
            if let refused = InvestigationRoutes.crossSiteRefusal(request) { return refused }
            let id = context.parameters.get("id") ?? ""
            do {
                try watches.delete(id, by: authenticated ? InvestigationRoutes.user(request) : "anonymous")
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: ["deleted": id]))
            } catch {
                return refusal(error)
            }
        }
    }

    /// A refused request's answer (`WatchRegistry.Refusal`; anything else is an internal error).
    static func refusal(_ error: any Error) -> Response {
        guard let error = error as? WatchRegistry.Refusal else { return CaptureRoutes.failure(.internalServerError, "internal", "\(error)") }
        return switch error {
        case .tooMany, .tooManyStreams: CaptureRoutes.failure(.tooManyRequests, "too_many", error.description)
        case .noSuchCgroup, .unsupported: CaptureRoutes.failure(.unprocessableContent, "bad_data", error.description)
        case .unknown: CaptureRoutes.failure(.notFound, "not_found", error.description)
        case .kernel: CaptureRoutes.failure(.internalServerError, "internal", error.description)
        }
    }

    static func disabled() -> Response { CaptureRoutes.failure(.forbidden, "forbidden", InvestigationRoutes.disabled) }

    /// One stream item as bytes: an NDJSON line, or an SSE event (a heartbeat is an SSE comment).
    static func frame(_ item: WatchStreamItem, serverSent: Bool) -> [UInt8] {
        let json = APIModels.WatchItemJSON(item: item)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let line = (try? encoder.encode(json)).map { Array($0) } ?? Array(#"{"end":"encoding_failed"}"#.utf8)
        guard serverSent else { return line + [0x0A] }
        if case .heartbeat = item { return Array(": heartbeat\n\n".utf8) }
        return Array("event: \(json.eventName)\ndata: ".utf8) + line + Array("\n\n".utf8)
    }
}
