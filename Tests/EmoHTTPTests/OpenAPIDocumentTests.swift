import EmoHTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOFoundationCompat
import Prometheus
import Testing

/// The hand-written OpenAPI document: well formed, every operation tagged with known servers, every reference
/// resolved; its per-server views; and the operations server's routes against it.
@Suite struct OpenAPIDocumentTests {
    let document = OpenAPIDocument.bundled

    func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func isAnOpenAPI31DocumentWhoseOperationsNameTheirServers() throws {
        let root = try object(document.data)
        let version = try #require(root["openapi"] as? String)
        #expect(version.hasPrefix("3.1."))
        let servers = Set(OpenAPIDocument.Server.allCases.map(\.rawValue))
        #expect(Set((root["tags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) == servers)
        let paths = try #require(root["paths"] as? [String: [String: Any]])
        var operationIDs: [String] = []
        for (path, item) in paths {
            for (method, value) in item where method != "parameters" {
                let operation = try #require(value as? [String: Any], "\(method) \(path)")
                let tags = operation["tags"] as? [String] ?? []
                #expect(!tags.isEmpty && Set(tags).isSubset(of: servers), "\(method) \(path): tags \(tags)")
                #expect(!(operation["responses"] as? [String: Any] ?? [:]).isEmpty, "\(method) \(path) has no responses")
                operationIDs.append(operation["operationId"] as? String ?? "")
            }
        }
        #expect(Set(operationIDs).count == operationIDs.count && !operationIDs.contains(""), "operationIds must be unique")
        // Every server's view holds at least /healthz, /metrics and /openapi.json.
        for server in OpenAPIDocument.Server.allCases {
            #expect(
                document.routes(for: [server]).isSuperset(
                    of: ["/healthz", "/metrics", "/openapi.json"].map { OpenAPIDocument.Route(method: "GET", path: $0) }),
                "\(server)")
        }
    }

    @Test func everyReferenceResolves() throws {
        let root = try object(document.data)
        var references: [String] = []
        func collect(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                if let reference = dictionary["$ref"] as? String { references.append(reference) }
                dictionary.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(root)
        #expect(!references.isEmpty)
        for reference in Set(references) {
            #expect(reference.hasPrefix("#/"), "\(reference) is not local")
            var node: Any? = root
            for component in reference.dropFirst(2).split(separator: "/") {
                node = (node as? [String: Any])?[String(component)]
            }
            #expect(node != nil, "\(reference) does not resolve")
        }
    }

    @Test func everyPathTemplateParameterIsDeclared() throws {
        let root = try object(document.data)
        for (path, item) in try #require(root["paths"] as? [String: [String: Any]]) {
            let names = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            guard !names.isEmpty else { continue }
            for (method, value) in item where method != "parameters" {
                let parameters = (item["parameters"] as? [[String: Any]] ?? []) + ((value as? [String: Any])?["parameters"] as? [[String: Any]] ?? [])
                let declared = Set(parameters.filter { $0["in"] as? String == "path" }.compactMap { $0["name"] as? String })
                #expect(declared == Set(names), "\(method) \(path)")
            }
        }
    }

    @Test func aViewHoldsTheOperationsOfItsServersOnly() throws {
        let view = try object(document.view(for: [.node]))
        let paths = try #require(view["paths"] as? [String: [String: Any]])
        var routes: Set<OpenAPIDocument.Route> = []
        for (path, item) in paths {
            for method in item.keys where method != "parameters" { routes.insert(.init(method: method, path: path)) }
        }
        #expect(routes == document.routes(for: [.node]))
        #expect(routes.contains(.init(method: "GET", path: "/ws")))
        #expect(!routes.contains(.init(method: "POST", path: "/api/login")))
        #expect((view["tags"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["node"])
        #expect(view["components"] != nil)
    }

    @Test func theOperationsServerRegistersExactlyItsDocumentedRoutes() {
        let router = OperationsServer.buildRouter(role: "processor", registry: PrometheusCollectorRegistry(), logProblem: { nil })
        #expect(router.registeredRoutes.sorted() == document.routes(for: [.operations]).sorted())
    }

    @Test func theOperationsServerServesItsView() async throws {
        let app = OperationsServer.buildApplication(
            configuration: .init(port: 0), role: "publisher", registry: PrometheusCollectorRegistry(),
            logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let served = try object(Data(buffer: response.body))
            #expect((served["openapi"] as? String)?.hasPrefix("3.1.") == true)
            #expect(Set((served["paths"] as? [String: Any] ?? [:]).keys) == ["/healthz", "/metrics", "/openapi.json"])
        }
    }
}
