import Foundation
import Hummingbird

/// Serves the web app: `/` (the page) and `/assets/<file>` (its scripts, styles and icons), shipped in the
/// package as resources (`Sources/EmoWeb/Public`) — no CDN and no build step.
///
/// The files are read once, at start-up, and kept in memory (the whole app is a few tens of KiB). Every answer
/// carries an ETag and `Cache-Control: no-cache`, so a browser revalidates (and gets `304 Not Modified`) instead
/// of running a stale script after an upgrade; unversioned file names make that the honest policy.
public struct WebController: Sendable {
    let assets: [String: WebAsset]

    /// Loads the page and its assets from the module's resources. Throws when they are missing (a packaging bug).
    public init() throws {
        try self.init(directory: Self.publicDirectory())
    }

    /// Loads the assets from a directory laid out like `Public/` (for tests and development).
    public init(directory: URL) throws {
        let index = try WebAsset(file: directory.appendingPathComponent("index.html"))
        var assets = ["/": index, "/index.html": index]
        assets["/admin"] = try WebAsset(file: directory.appendingPathComponent("admin.html"))
        let assetDirectory = directory.appendingPathComponent("assets")
        for name in try FileManager.default.contentsOfDirectory(atPath: assetDirectory.path).sorted()
        where !name.hasPrefix(".") {
            assets["/assets/" + name] = try WebAsset(file: assetDirectory.appendingPathComponent(name))
        }
        self.assets = assets
    }

    static func publicDirectory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Public", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the web app's resources (Public) are missing"])
        }
        return url
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for path in ["/", "/index.html", "/admin"] {
            router.get(RouterPath(path)) { request, _ in try serve(path, request) }
            router.head(RouterPath(path)) { request, _ in try serve(path, request, includeBody: false) }
        }
        router.get("/assets/{file}") { request, context in
            try serve("/assets/" + context.parameters.require("file"), request)
        }
        router.head("/assets/{file}") { request, context in
            try serve("/assets/" + context.parameters.require("file"), request, includeBody: false)
        }
    }

    func serve(_ path: String, _ request: Request, includeBody: Bool = true) throws -> Response {
        guard let asset = assets[path] else {
            throw HTTPError(.notFound, message: "no such file")
        }
        return asset.response(ifNoneMatch: request.headers[.ifNoneMatch], includeBody: includeBody)
    }
}
