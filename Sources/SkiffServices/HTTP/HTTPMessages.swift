// A request as handlers see it and the response they return.

/// A complete request (RFC 9112 §2.1): request line, header fields, decoded content, trailers.
public struct HTTPRequest {
    public var method: HTTPMethod
    /// The request-target exactly as received (RFC 9112 §3.2).
    public var target: [UInt8]
    /// The path of the target: up to `?` for origin-form, the path after the authority for
    /// absolute-form (`/` when it has none), `*` for asterisk-form, the authority for CONNECT.
    /// Still percent-encoded.
    public var path: [UInt8]
    /// What follows `?`, without it; nil when the target has no `?`.
    public var query: [UInt8]?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The content, de-chunked.
    public var body: [UInt8]
    /// Trailer fields of a chunked body (RFC 9112 §7.1.2); kept apart from `headers`.
    public var trailers: HTTPHeaders
    /// Whether the connection persists after the response (RFC 9112 §9.3).
    public var keepAlive: Bool

    public init(method: HTTPMethod, target: [UInt8], path: [UInt8], query: [UInt8]?,
                version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                trailers: HTTPHeaders = HTTPHeaders(), keepAlive: Bool = true) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.trailers = trailers
        self.keepAlive = keepAlive
    }

    /// A GET (or other) request for `target` in origin-form, e.g. for tests and internal calls.
    public init(method: HTTPMethod = .get, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        let bytes = Array(target.utf8)
        let (path, query) = splitOriginForm(bytes[...])
        self.init(method: method, target: bytes, path: Array(path), query: query.map { Array($0) },
                  headers: headers, body: body)
    }

    /// `path` as text (percent-encoding kept).
    public var pathString: String { String(decoding: path, as: UTF8.self) }
    /// `query` as text, or nil.
    public var queryString: String? { query.map { String(decoding: $0, as: UTF8.self) } }
    /// The content as text (invalid UTF-8 repaired with U+FFFD).
    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The value of a query parameter `name` (first occurrence, `+` and %XX decoded), or nil.
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        let wanted = Array(name.utf8)
        for pair in query.split(separator: 0x26, omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: 0x3D) ?? pair.endIndex
            guard let key = percentDecoded(pair[pair.startIndex..<equals], plusAsSpace: true), key == wanted else { continue }
            let rawValue = equals < pair.endIndex ? pair[(equals + 1)...] : []
            guard let value = percentDecoded(rawValue, plusAsSpace: true) else { return nil }
            return String(decoding: value, as: UTF8.self)
        }
        return nil
    }
}

/// What a handler returns.
public struct HTTPResponse {
    public var status: HTTPStatus
    /// Fields to send. The server writes the framing (`Content-Length`, or `Transfer-Encoding:
    /// chunked` for a streamed body of unknown length), `Connection`, and `Date` when it has a
    /// clock itself: fields of those names here are ignored (`Date` only when the server sends one).
    public var headers: HTTPHeaders
    /// The content: bytes in memory, or `.stream` to produce it while it is sent.
    public var body: HTTPBody
    /// Close the connection after this response.
    public var closeConnection: Bool

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: HTTPBody = .empty,
                closeConnection: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.closeConnection = closeConnection
    }

    /// `text/plain; charset=utf-8`.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: .text(text))
    }

    /// `application/json`; `json` is sent as given (the caller produces valid JSON).
    public static func json(_ json: String, status: HTTPStatus = .ok) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        return HTTPResponse(status: status, headers: headers, body: .text(json))
    }

    /// A short `text/plain` body naming the status, e.g. "404 Not Found".
    public static func status(_ status: HTTPStatus) -> HTTPResponse {
        var text: [UInt8] = []
        httpAppendDecimal(status.code, to: &text)
        text.append(asciiSpace)
        appendStatic(status.reasonPhrase, to: &text)
        text.append(asciiLF)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: status.forbidsContent ? .empty : .bytes(text))
    }

    /// A streamed body of type `contentType` (see `HTTPBodyProducer`).
    public static func stream(_ producer: any HTTPBodyProducer, contentType: String,
                              status: HTTPStatus = .ok) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", contentType)
        return HTTPResponse(status: status, headers: headers, body: .stream(producer))
    }

    /// A redirect to `location` (301, 302, 303, 307 or 308).
    public static func redirect(to location: String, status: HTTPStatus = .found) -> HTTPResponse {
        var response = HTTPResponse.status(status)
        response.headers.add("Location", location)
        return response
    }
}

/// Splits an origin-form target at the first `?`.
func splitOriginForm(_ target: ArraySlice<UInt8>) -> (path: ArraySlice<UInt8>, query: ArraySlice<UInt8>?) {
    if let mark = target.firstIndex(of: 0x3F) {
        return (target[target.startIndex..<mark], target[(mark + 1)...])
    }
    return (target, nil)
}

/// Decodes %XX escapes (and `+` as space in query components); nil if an escape is malformed.
public func percentDecoded(_ bytes: some Collection<UInt8>, plusAsSpace: Bool = false) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var pending = 0 // 0: plain; 1: after '%'; 2: after '%' and one digit
    var high = 0
    for byte in bytes {
        switch pending {
        case 1:
            guard let value = httpHexDigit(byte) else { return nil }
            high = value
            pending = 2
        case 2:
            guard let value = httpHexDigit(byte) else { return nil }
            out.append(UInt8(high * 16 + value))
            pending = 0
        default:
            if byte == 0x25 {
                pending = 1
            } else if plusAsSpace && byte == 0x2B {
                out.append(asciiSpace)
            } else {
                out.append(byte)
            }
        }
    }
    return pending == 0 ? out : nil
}
