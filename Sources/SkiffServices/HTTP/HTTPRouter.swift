// Routing by method and path: exact routes first, then the longest matching prefix; 404 when no
// path matches, 405 with Allow when the path matches but the method does not (RFC 9110 §15.5.6).

/// A request handler: synchronous, from request to response.
public typealias HTTPHandler = (HTTPRequest) -> HTTPResponse

/// Maps requests to handlers. Paths are compared byte for byte, still percent-encoded.
public final class HTTPRouter {
    struct Route {
        var method: HTTPMethod
        var path: [UInt8]
        var isPrefix: Bool
        var handler: HTTPHandler
    }
    private var routes: [Route] = []

    /// Answers requests no route's path matches (404 by default).
    public var notFound: HTTPHandler = { _ in HTTPResponse.status(.notFound) }

    public init() {}

    /// `method` on exactly `path` (e.g. "/api/status"). A GET route also answers HEAD
    /// (RFC 9110 §9.3.2) unless a HEAD route for the same path exists; the body is not sent.
    public func route(_ method: HTTPMethod, _ path: String, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, path: Array(path.utf8), isPrefix: false, handler: handler))
    }

    /// `method` on every path under `prefix`: "/static" matches "/static" and "/static/…" but
    /// not "/statics"; a prefix ending in "/" matches every path that starts with it.
    public func route(_ method: HTTPMethod, prefix: String, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, path: Array(prefix.utf8), isPrefix: true, handler: handler))
    }

    public func get(_ path: String, _ handler: @escaping HTTPHandler) { route(.get, path, handler) }
    public func post(_ path: String, _ handler: @escaping HTTPHandler) { route(.post, path, handler) }
    public func put(_ path: String, _ handler: @escaping HTTPHandler) { route(.put, path, handler) }
    public func delete(_ path: String, _ handler: @escaping HTTPHandler) { route(.delete, path, handler) }

    /// Serves `assets` under `prefix` (GET and HEAD): "/" serves the whole site.
    public func serve(_ assets: StaticAssets, at prefix: String = "/") {
        let stripped = prefix.utf8.last == asciiSlash ? Array(prefix.utf8.dropLast()) : Array(prefix.utf8)
        route(.get, prefix: prefix) { request in
            let rest = request.path.count >= stripped.count ? request.path[stripped.count...] : []
            return assets.response(to: request, path: rest.isEmpty ? [asciiSlash] : Array(rest))
        }
    }

    /// The response of the route that matches `request`, or 404/405.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        // The most specific matching path: an exact route, else the longest prefix.
        var best: (length: Int, exact: Bool)? = nil
        for route in routes where matches(route, request.path) {
            let candidate = (length: route.path.count, exact: !route.isPrefix)
            if let current = best {
                if (candidate.exact && !current.exact)
                    || (candidate.exact == current.exact && candidate.length > current.length) {
                    best = candidate
                }
            } else {
                best = candidate
            }
        }
        guard let best else { return notFound(request) }
        var getHandler: HTTPHandler? = nil
        var allowed: [HTTPMethod] = []
        for route in routes where route.isPrefix != best.exact && route.path.count == best.length
            && matches(route, request.path) {
            if route.method == request.method { return route.handler(request) }
            if route.method == .get { getHandler = route.handler }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if request.method == .head, let getHandler { return getHandler(request) }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        var response = HTTPResponse.status(.methodNotAllowed)
        var allow: [UInt8] = []
        for method in allowed {
            if !allow.isEmpty { allow.append(contentsOf: [asciiComma, asciiSpace]) }
            allow.append(contentsOf: method.bytes)
        }
        response.headers.add(name: "Allow".utf8, value: allow)
        return response
    }

    private func matches(_ route: Route, _ path: [UInt8]) -> Bool {
        guard route.isPrefix else { return route.path == path }
        guard path.count >= route.path.count, path.starts(with: route.path) else { return false }
        if path.count == route.path.count || route.path.last == asciiSlash { return true }
        return path[route.path.count] == asciiSlash
    }
}
