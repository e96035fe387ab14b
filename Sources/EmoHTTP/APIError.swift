import Foundation
import Hummingbird

/// An error answered as JSON: `{"error": "<code>", "message": "...", ...}`. Every EmoStream endpoint reports
/// bad input this way, never as a bare status or a 500.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var extra: [String: any Sendable]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, extra: [String: any Sendable] = [:],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object = extra
        object["error"] = code
        object["message"] = message
        var response = jsonResponse(object, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// A JSON response from a dictionary of JSON-compatible values.
public func jsonResponse(_ object: [String: any Sendable], status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
}

/// A JSON response from an `Encodable` value.
public func jsonResponse(encoding value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
}
