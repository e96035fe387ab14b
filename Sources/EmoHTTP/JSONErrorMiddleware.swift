import EmoStore
import Hummingbird
import NIOCore

/// Renders the framework's own errors (unknown route, wrong method, unreadable body) as JSON error bodies like
/// every other EmoStream error, instead of an empty response; a store that cannot be reached becomes
/// `503 store_unavailable` with `Retry-After`, not a 500.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw APIError(
                error.status, Self.code(for: error.status),
                error.body ?? "\(error.status.code) \(error.status.reasonPhrase): \(request.method) \(request.uri.path)",
                headers: error.headers)
        } catch EmoStoreError.unavailable {
            throw APIError(
                .serviceUnavailable, "store_unavailable", "the store cannot be reached right now; retry shortly",
                headers: [.retryAfter: "1"])
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than this endpoint accepts")
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "payload_too_large"
        case .badRequest: "bad_request"
        default: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }
}
