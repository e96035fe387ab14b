import EmoHTTP
import Foundation
import Testing

/// `GET /openapi.json` on the live servers of `emostream up`: the gateway's view (it accepts reactions, so it
/// holds the ingest operations too) and a node's.
@Suite struct OpenAPITests {
    func documentedPaths(_ servers: Set<OpenAPIDocument.Server>) -> Set<String> {
        Set(OpenAPIDocument.bundled.routes(for: servers).map(\.path))
    }

    @Test func theGatewayAndEveryNodeServeTheirPartOfTheDocument() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let node = try #require(endpoints.nodes.first)
            let nodeBase = try #require(node.sseURL.components(separatedBy: "/events").first)
            let servers: [(url: String, tags: Set<OpenAPIDocument.Server>)] = [
                (endpoints.api, [.gateway, .ingest]), (nodeBase, [.node]),
            ]
            for (url, tags) in servers {
                let result = try await request(.GET, url + "/openapi.json", contentType: nil)
                #expect(result.status == 200, "\(url)")
                let document = try JSONSerialization.jsonObject(with: Data(result.text.utf8)) as? [String: Any]
                #expect((document?["openapi"] as? String)?.hasPrefix("3.1.") == true, "\(url): \(result.text.prefix(200))")
                let paths = document?["paths"] as? [String: Any] ?? [:]
                #expect(Set(paths.keys) == documentedPaths(tags), "\(url)")
            }
        }
    }
}
