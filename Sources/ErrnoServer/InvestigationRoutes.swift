import Captures
import ErrnoConfig
import Foundation
import Hummingbird
import NIOCore
import Watches

/// What the investigation endpoints act on (`--web.enable-investigations`): the ephemeral triggers'
/// control, the watches, and the limits on how long either may live.
public struct InvestigationAPI: Sendable {
    public let triggers: any EphemeralTriggerControl
    public let watches: WatchRegistry
    /// How long an ephemeral trigger lives when the request does not say, and at most.
    public let defaultDurationSeconds: Int
    public let maxDurationSeconds: Int

    public init(triggers: any EphemeralTriggerControl, watches: WatchRegistry, defaultDurationSeconds: Int = 300, maxDurationSeconds: Int = 3600) {
        self.triggers = triggers
        self.watches = watches
        self.defaultDurationSeconds = min(defaultDurationSeconds, maxDurationSeconds)
        self.maxDurationSeconds = maxDurationSeconds
    }
}

/// `POST /api/v1/triggers` (a temporary trigger: the config's trigger keys plus `pid` and
/// `duration`; 201 with the trigger as `/api/v1/triggers` lists it) and `DELETE /api/v1/triggers/{name}` (an ephemeral one; 409
/// for a configured one). 403 while investigations are not enabled. Each create and delete is an
/// audit log line naming the user.
enum InvestigationRoutes {
    static let disabled = "investigations are not enabled (start errno_exporter with --web.enable-investigations)"

    /// `authenticated`: a web config checks basic-auth users, so the user a request names is known.
    static func add(to router: Router<BasicRequestContext>, api: InvestigationAPI?, directory: TriggerDirectory, authenticated: Bool) {
        WatchRoutes.add(to: router, watches: api?.watches, api: api, authenticated: authenticated)
        router.post("/api/v1/triggers") { request, _ -> Response in
            guard let api else { return CaptureRoutes.failure(.forbidden, "forbidden", disabled) }
            if let refused = crossSiteRefusal(request) { return refused }
            let body: ByteBuffer
            switch await jsonBody(request, maxBytes: EphemeralTriggerRequest.maxBytes, what: "the trigger") {
            case .body(let buffer): body = buffer
            case .refused(let response): return response
            }
            let parsed: EphemeralTriggerRequest
            do {
                parsed = try EphemeralTriggerRequest.parse(
                    String(decoding: body.readableBytesView, as: UTF8.self), defaultSeconds: api.defaultDurationSeconds, maxSeconds: api.maxDurationSeconds)
            } catch {
                return CaptureRoutes.failure(.badRequest, "bad_data", "\(error)")
            }
            do {
                let trigger = try api.triggers.addEphemeral(parsed, by: authenticated ? user(request) : "anonymous")
                // As /api/v1/triggers lists it (its counts are zero if they cannot be read now).
                let status = (try? directory.statuses().first { $0.name == trigger.name })
                    ?? TriggerStatus(newEphemeral: trigger)
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: APIModels.TriggerJSON(status: status)), status: .created)
            } catch let error as EphemeralTriggerError {
                return refusal(error)
            } catch {
                return CaptureRoutes.failure(.internalServerError, "internal", "putting the trigger in force failed: \(error)")
            }
        }
        router.delete("/api/v1/triggers/:name") { request, context -> Response in
            guard let api else { return CaptureRoutes.failure(.forbidden, "forbidden", disabled) }
            if let refused = crossSiteRefusal(request) { return refused }
            let name = context.parameters.get("name") ?? ""
            do {
                try api.triggers.removeEphemeral(name, by: authenticated ? user(request) : "anonymous")
                return CaptureRoutes.json(CaptureRoutes.Envelope(data: ["deleted": name]))
            } catch let error as EphemeralTriggerError {
                return refusal(error)
            } catch {
                return CaptureRoutes.failure(.internalServerError, "internal", "removing the trigger failed: \(error)")
            }
        }
    }

    /// The refusal of a request a browser made for another site's page: `Sec-Fetch-Site` says
    /// cross-site or same-site, or `Origin` names another host than the request's. Command-line
    /// clients send neither header. (A page that rebinds DNS to the agent passes these checks;
    /// basic auth in the web config keeps it out: it cannot send the operator's credentials.)
    static func crossSiteRefusal(_ request: Request) -> Response? {
        if let site = request.headers[.init("Sec-Fetch-Site")!]?.lowercased(), site == "cross-site" || site == "same-site" {
            return CaptureRoutes.failure(.forbidden, "forbidden", "investigations refuse requests from other sites' pages (Sec-Fetch-Site: \(site))")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
            guard host.lowercased() == (request.head.authority ?? "").lowercased() else {
                return CaptureRoutes.failure(.forbidden, "forbidden", "investigations refuse requests from other origins (Origin: \(origin.prefix(200)))")
            }
        } else if request.headers[.origin] == "null" {
            return CaptureRoutes.failure(.forbidden, "forbidden", "investigations refuse requests from opaque origins")
        }
        return nil
    }

    /// A request body read for an investigation route, or the answer refusing it.
    enum JSONBody {
        case body(ByteBuffer)
        case refused(Response)
    }

    /// The body of a create request: JSON by its content type — a browser's cross-site form or
    /// text/plain POST (no CORS preflight) is refused before it is read — and at most `maxBytes`.
    static func jsonBody(_ request: Request, maxBytes: Int, what: String) async -> JSONBody {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return .refused(CaptureRoutes.failure(.unsupportedMediaType, "bad_data", "send \(what) as Content-Type: application/json"))
        }
        do {
            return .body(try await request.body.collect(upTo: maxBytes))
        } catch {
            return .refused(CaptureRoutes.failure(.contentTooLarge, "bad_data", "the body exceeds \(maxBytes) bytes"))
        }
    }

    static func refusal(_ error: EphemeralTriggerError) -> Response {
        switch error {
        case .configured, .exists: CaptureRoutes.failure(.conflict, "conflict", error.description)
        case .unknown: CaptureRoutes.failure(.notFound, "not_found", error.description)
        case .tooMany: CaptureRoutes.failure(.tooManyRequests, "too_many", error.description)
        case .noRoom: CaptureRoutes.failure(.unprocessableContent, "bad_data", error.description)
        }
    }

    /// The basic-auth user the request names (checked by the middleware: call only when a web config
    /// has users), else `anonymous`; for the audit log.
    static func user(_ request: Request) -> String {
        guard let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let user = String(data: decoded, encoding: .utf8)?.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first
        else { return "anonymous" }
        return String(user.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}
