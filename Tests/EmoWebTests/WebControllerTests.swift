import EmoWeb
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct WebControllerTests {
    func router() throws -> Router<BasicRequestContext> {
        let router = Router()
        try WebController().addRoutes(to: router)
        return router
    }

    @Test func servesThePageWithItsHeaders() async throws {
        let app = Application(router: try router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                let html = String(buffer: response.body)
                #expect(html.contains("<script type=\"module\" src=\"/assets/app.js\">"))
            }
        }
    }

    @Test func servesAssetsWithContentTypesAndRevalidates() async throws {
        let app = Application(router: try router())
        try await app.test(.router) { client in
            let etag = try await client.execute(uri: "/assets/app.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                return try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/assets/app.js", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/assets/style.css", method: .get) { response in
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
            }
            try await client.execute(uri: "/", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/assets/nope.js", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/assets/..%2FPackage.swift", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
