import Foundation
import Hummingbird
import NIOFoundationCompat

extension Request {
    /// Decodes a small JSON body, answering bad input as JSON errors: 415 for another content type, 413 above
    /// `limit`, 400 `invalid_json` (naming the field when a field has the wrong type or is missing).
    public func decodeJSONBody<T: Decodable>(as type: T.Type, limit: Int = 64 * 1024) async throws -> T {
        let contentType = headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
        guard contentType?.lowercased() == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
        }
        let body: ByteBuffer
        do {
            body = try await self.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body exceeds \(limit) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError(.badRequest, "missing_field", "\(key.stringValue) is required", extra: ["field": key.stringValue])
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError(.badRequest, "invalid_field", "\(field.isEmpty ? "the body" : field) has the wrong type", extra: ["field": field])
        } catch {
            throw APIError(.badRequest, "invalid_json", "the body is not valid JSON")
        }
    }
}

extension Request {
    /// The token of an `Authorization: Bearer <token>` header, or nil.
    public var bearerToken: String? {
        guard let header = headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
