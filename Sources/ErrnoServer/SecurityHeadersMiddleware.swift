import Hummingbird

/// Headers on every response that keep a browser from doing more with what the agent serves than
/// showing it: no sniffing of content types, no framing, and a policy that allows nothing but the
/// agent's own: its script file (no inline script), requests to itself, its forms, inline style —
/// no other host.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.init("X-Frame-Options")!] = "DENY"
        return response
    }
}
