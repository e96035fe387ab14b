import Foundation
import HTTPTypes
import Hummingbird

/// Cross-origin access for the listed origins only, with credentials (the gateway's API takes a bearer token).
/// A request from a listed origin gets `Access-Control-Allow-Origin: <that origin>` and
/// `Access-Control-Allow-Credentials: true`; its preflight (`OPTIONS` with `Access-Control-Request-Method`) is
/// answered `204` with the allowed methods and headers. A request from any other origin gets no CORS header at all
/// (its preflight goes on to the router, which answers as for any other `OPTIONS`), so browsers keep it from reading
/// the answer. With no origin listed (the default) nothing changes: the web app is served by the gateway itself.
public struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let allowMethods: String
    let allowHeaders: String
    let maxAge: String

    /// - Parameter origins: exact origins, `scheme://host[:port]` as a browser sends them, e.g. `https://emo.example`.
    public init(
        origins: [String], allowMethods: [HTTPRequest.Method] = [.get, .post, .head],
        allowHeaders: [HTTPField.Name] = [.contentType, .authorization, .init("Last-Event-ID")!, .init("Idempotency-Key")!],
        maxAge: Duration = .seconds(600)
    ) {
        self.origins = Set(origins.map(Self.normalized).filter { !$0.isEmpty })
        self.allowMethods = allowMethods.map(\.rawValue).joined(separator: ", ")
        self.allowHeaders = allowHeaders.map(\.canonicalName).joined(separator: ", ")
        self.maxAge = "\(maxAge.components.seconds)"
    }

    /// Origins compare without a trailing slash and case-insensitively (a browser sends them lower-case).
    static func normalized(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !origins.isEmpty else { return try await next(request, context) }
        guard let origin = request.headers[.origin], origins.contains(Self.normalized(origin)) else {
            var response = try await next(request, context)
            // Caches must not hand a listed origin's answer to another origin, nor the other way round.
            response.headers.append(HTTPField(name: .vary, value: "Origin"))
            return response
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .accessControlAllowCredentials: "true",
                    .accessControlAllowMethods: allowMethods, .accessControlAllowHeaders: allowHeaders,
                    .accessControlMaxAge: maxAge, .vary: "Origin",
                ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Errors too: a browser shows the page a JSON error only if the CORS headers are on it.
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        return response
    }
}
