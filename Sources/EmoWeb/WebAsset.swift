import Crypto
import Foundation
import Hummingbird

/// One static file of the web app, in memory, with its content type and a strong ETag.
struct WebAsset: Sendable {
    let body: ByteBuffer
    let contentType: String
    let etag: String

    init(file: URL) throws {
        let data = try Data(contentsOf: file)
        body = ByteBuffer(data: data)
        contentType = Self.contentType(forExtension: file.pathExtension)
        etag = "\"" + SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }

    static func contentType(forExtension ext: String) -> String {
        switch ext.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json", "webmanifest": "application/json"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }

    /// The page may reach the cluster nodes (other ports, other hosts) for its WebSocket and SSE streams.
    static let contentSecurityPolicy =
        "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; style-src 'self'; "
        + "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    func response(ifNoneMatch: String?, includeBody: Bool = true) -> Response {
        var headers: HTTPFields = [
            .eTag: etag,
            .cacheControl: "no-cache",
            .init("X-Content-Type-Options")!: "nosniff",
        ]
        if contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            headers[.init("Referrer-Policy")!] = "no-referrer"
        }
        if let ifNoneMatch, ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: includeBody ? body : ByteBuffer()))
    }
}
