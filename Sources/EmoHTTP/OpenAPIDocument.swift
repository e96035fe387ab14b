import Foundation
import Hummingbird

/// The OpenAPI 3.1 description of every HTTP endpoint of EmoStream, written by hand in `Resources/openapi.json`.
/// Each operation is tagged with the servers that serve it (``Server``); a server answers `GET /openapi.json` with
/// the ``view(for:)`` of its own tags, and each server's tests compare the routes it registers with
/// ``routes(for:)``.
public struct OpenAPIDocument: Sendable {
    /// A kind of EmoStream HTTP server, as the document's tags name it.
    public enum Server: String, Sendable, CaseIterable {
        /// The API port of `emostream up` and `emostream gateway`.
        case gateway
        /// `POST /api/emojis`: `emostream ingest`, and a gateway that accepts reactions.
        case ingest
        /// A cluster node.
        case node
        /// The `--metrics-port` of `emostream processor` and `emostream publisher`.
        case operations
    }

    /// An operation: a method and a path template as the router writes them (`POST /api/admin/nodes/{name}/drain`).
    public struct Route: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// Upper case: `GET`, `HEAD`, `POST`.
        public var method: String
        public var path: String

        public init(method: String, path: String) {
            self.method = method.uppercased()
            self.path = path
        }

        public var description: String { "\(method) \(path)" }

        public static func < (lhs: Route, rhs: Route) -> Bool {
            (lhs.path, lhs.method) < (rhs.path, rhs.method)
        }
    }

    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The document's JSON text.
    public let data: Data

    /// Parses `data` as a JSON object (throws when it is not one).
    public init(data: Data) throws {
        guard try JSONSerialization.jsonObject(with: data) is [String: Any] else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the OpenAPI document is not a JSON object"))
        }
        self.data = data
    }

    /// The document shipped in EmoHTTP's resources.
    public static let bundled: OpenAPIDocument = {
        // Like `Bundle.module` itself when the resource bundle is missing: a packaging bug, found at start-up.
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let document = try? OpenAPIDocument(data: Data(contentsOf: url))
        else { fatalError("EmoHTTP's resources hold no readable openapi.json") }
        return document
    }()

    var object: [String: Any] {
        // `init` checked that it is one.
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The operations tagged with any of `servers`.
    public func routes(for servers: Set<Server>) -> Set<Route> {
        let tags = Set(servers.map(\.rawValue))
        var routes: Set<Route> = []
        for (path, item) in object["paths"] as? [String: Any] ?? [:] {
            for (method, operation) in item as? [String: Any] ?? [:] where Self.methods.contains(method) {
                let operationTags = (operation as? [String: Any])?["tags"] as? [String] ?? []
                if !tags.isDisjoint(with: operationTags) { routes.insert(Route(method: method, path: path)) }
            }
        }
        return routes
    }

    /// The document with only the operations tagged with any of `servers` (and only those tags), as JSON.
    public func view(for servers: Set<Server>) -> Data {
        let tags = Set(servers.map(\.rawValue))
        var document = object
        var paths: [String: Any] = [:]
        for (path, item) in document["paths"] as? [String: Any] ?? [:] {
            guard var item = item as? [String: Any] else { continue }
            for method in Self.methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                if tags.isDisjoint(with: operation["tags"] as? [String] ?? []) { item[method] = nil }
            }
            if item.keys.contains(where: Self.methods.contains) { paths[path] = item }
        }
        document["paths"] = paths
        document["tags"] = (document["tags"] as? [[String: Any]])?.filter { tags.contains($0["name"] as? String ?? "") }
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? data
    }
}

extension Router {
    /// `GET /openapi.json`: the document's operations of `servers` (rendered once, here).
    public func addOpenAPIRoute(for servers: Set<OpenAPIDocument.Server>, document: OpenAPIDocument = .bundled) {
        let body = ByteBuffer(data: document.view(for: servers))
        get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }

    /// The routes registered on this router, written as the document writes them.
    public var registeredRoutes: Set<OpenAPIDocument.Route> {
        Set(routes.map { OpenAPIDocument.Route(method: $0.method.rawValue, path: $0.path.description) })
    }
}
