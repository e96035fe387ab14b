import HTTPTypes
import Hummingbird

/// Adds the browser security headers to every response, errors included: `X-Content-Type-Options: nosniff`,
/// `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy: same-origin` and a
/// `Content-Security-Policy`. A response that sets one of them itself keeps its own (the web app's pages carry the
/// policy they need: scripts and styles from the same origin, streams from the nodes).
///
/// Put it first on a router (outermost), so that it also sees the errors the other middlewares render as JSON.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// For responses that carry none: JSON, metrics and errors load nothing, so nothing is allowed.
    public static var apiContentSecurityPolicy: String { "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" }

    let headers: HTTPFields

    public init(contentSecurityPolicy: String = Self.apiContentSecurityPolicy) {
        self.headers = [
            .init("X-Content-Type-Options")!: "nosniff",
            .init("X-Frame-Options")!: "DENY",
            .init("Referrer-Policy")!: "no-referrer",
            .init("Cross-Origin-Opener-Policy")!: "same-origin",
            .contentSecurityPolicy: contentSecurityPolicy,
        ]
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        for field in headers where response.headers[field.name] == nil {
            response.headers.append(field)
        }
        return response
    }
}
