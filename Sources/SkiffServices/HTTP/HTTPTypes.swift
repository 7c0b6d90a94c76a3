// The value types of the HTTP/1.1 server: methods, statuses, header fields and bodies.
// Everything is bytes: field names are compared ASCII-case-insensitively byte by byte, so nothing
// on the request path needs the Unicode tables that String comparison would pull in (Embedded).

/// A request method (RFC 9110 §9). Methods are case-sensitive tokens.
public enum HTTPMethod: Hashable, Sendable {
    case get, head, post, put, delete, connect, options, trace, patch
    /// Any other token, as received.
    case other([UInt8])

    /// Recognizes a method token (case-sensitive, RFC 9110 §9.1).
    public init(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 3:
            if bytesEqual(bytes, "GET") { self = .get; return }
            if bytesEqual(bytes, "PUT") { self = .put; return }
        case 4:
            if bytesEqual(bytes, "HEAD") { self = .head; return }
            if bytesEqual(bytes, "POST") { self = .post; return }
        case 5:
            if bytesEqual(bytes, "PATCH") { self = .patch; return }
            if bytesEqual(bytes, "TRACE") { self = .trace; return }
        case 6:
            if bytesEqual(bytes, "DELETE") { self = .delete; return }
        case 7:
            if bytesEqual(bytes, "CONNECT") { self = .connect; return }
            if bytesEqual(bytes, "OPTIONS") { self = .options; return }
        default: break
        }
        self = .other(Array(bytes))
    }

    /// The method token's bytes.
    public var bytes: [UInt8] {
        switch self {
        case .get: return Array("GET".utf8)
        case .head: return Array("HEAD".utf8)
        case .post: return Array("POST".utf8)
        case .put: return Array("PUT".utf8)
        case .delete: return Array("DELETE".utf8)
        case .connect: return Array("CONNECT".utf8)
        case .options: return Array("OPTIONS".utf8)
        case .trace: return Array("TRACE".utf8)
        case .patch: return Array("PATCH".utf8)
        case .other(let token): return token
        }
    }

    /// The method token as text.
    public var name: String { String(decoding: bytes, as: UTF8.self) }
}

/// An HTTP version as on the wire: `HTTP/<major>.<minor>` (RFC 9112 §2.3).
public struct HTTPVersion: Hashable, Sendable {
    public var major: UInt8
    public var minor: UInt8
    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)
}

/// A response status code (RFC 9110 §15) with its reason phrase.
public struct HTTPStatus: Hashable, Sendable {
    /// Three digits, 100...999 (only 100...599 are defined).
    public var code: Int
    public init(code: Int) {
        precondition(code >= 100 && code <= 999, "HTTP status code out of range")
        self.code = code
    }

    public static let `continue` = HTTPStatus(code: 100)
    public static let ok = HTTPStatus(code: 200)
    public static let created = HTTPStatus(code: 201)
    public static let accepted = HTTPStatus(code: 202)
    public static let noContent = HTTPStatus(code: 204)
    public static let movedPermanently = HTTPStatus(code: 301)
    public static let found = HTTPStatus(code: 302)
    public static let seeOther = HTTPStatus(code: 303)
    public static let notModified = HTTPStatus(code: 304)
    public static let temporaryRedirect = HTTPStatus(code: 307)
    public static let permanentRedirect = HTTPStatus(code: 308)
    public static let badRequest = HTTPStatus(code: 400)
    public static let unauthorized = HTTPStatus(code: 401)
    public static let forbidden = HTTPStatus(code: 403)
    public static let notFound = HTTPStatus(code: 404)
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let conflict = HTTPStatus(code: 409)
    public static let lengthRequired = HTTPStatus(code: 411)
    public static let preconditionFailed = HTTPStatus(code: 412)
    public static let contentTooLarge = HTTPStatus(code: 413)
    public static let uriTooLong = HTTPStatus(code: 414)
    public static let unsupportedMediaType = HTTPStatus(code: 415)
    public static let expectationFailed = HTTPStatus(code: 417)
    public static let unprocessableContent = HTTPStatus(code: 422)
    public static let tooManyRequests = HTTPStatus(code: 429)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let badGateway = HTTPStatus(code: 502)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let gatewayTimeout = HTTPStatus(code: 504)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    /// 1 for 1xx, 2 for 2xx, ... 5 for 5xx.
    public var statusClass: Int { code / 100 }

    /// Whether a response with this status never has content (RFC 9110 §6.4.1: 1xx, 204, 304).
    public var forbidsContent: Bool { code < 200 || code == 204 || code == 304 }

    /// The reason phrase (RFC 9110 §15); empty for codes it does not name (the phrase is optional).
    public var reasonPhrase: StaticString {
        switch code {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 203: return "Non-Authoritative Information"
        case 204: return "No Content"
        case 205: return "Reset Content"
        case 206: return "Partial Content"
        case 300: return "Multiple Choices"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 421: return "Misdirected Request"
        case 422: return "Unprocessable Content"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return ""
        }
    }
}

/// Header (or trailer) fields in the order received or added; names keep their case, lookups
/// ignore ASCII case (RFC 9110 §5.1). All fields share one byte buffer.
public struct HTTPHeaders: Equatable, Sendable {
    struct Field: Equatable, Sendable {
        var name: Range<Int>
        var value: Range<Int>
    }
    private(set) var storage: [UInt8] = []
    private(set) var fields: [Field] = []

    public init() {}

    /// Fields from (name, value) text pairs.
    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { add(name, value) }
    }

    /// How many field lines.
    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// Appends a field line. The caller is responsible for valid bytes; the response writer
    /// drops lines whose name is not a token or whose value holds CR, LF or NUL.
    public mutating func add(name: some Collection<UInt8>, value: some Collection<UInt8>) {
        let nameStart = storage.count
        storage.append(contentsOf: name)
        let valueStart = storage.count
        storage.append(contentsOf: value)
        fields.append(Field(name: nameStart..<valueStart, value: valueStart..<storage.count))
    }

    public mutating func add(_ name: String, _ value: String) {
        add(name: name.utf8, value: value.utf8)
    }

    /// Replaces every field of this name with one line.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    /// Removes every field of this name.
    public mutating func remove(_ name: String) {
        guard contains(name) else { return }
        var kept = HTTPHeaders()
        for i in 0..<fields.count where !nameEquals(i, name.utf8) {
            kept.add(name: storage[fields[i].name], value: storage[fields[i].value])
        }
        self = kept
    }

    public func contains(_ name: String) -> Bool { firstIndex(name.utf8) != nil }

    /// The first value of a field, as bytes.
    public func firstValue(_ name: String) -> ArraySlice<UInt8>? {
        guard let i = firstIndex(name.utf8) else { return nil }
        return storage[fields[i].value]
    }

    /// Every value of a field, combined with ", " as RFC 9110 §5.3 allows for list fields.
    public subscript(name: String) -> String? {
        var combined: [UInt8] = []
        var found = false
        for i in 0..<fields.count where nameEquals(i, name.utf8) {
            if found { combined.append(contentsOf: [0x2C, 0x20]) }
            combined.append(contentsOf: storage[fields[i].value])
            found = true
        }
        return found ? String(decoding: combined, as: UTF8.self) : nil
    }

    /// The name and value bytes of field line `index`.
    public func name(at index: Int) -> ArraySlice<UInt8> { storage[fields[index].name] }
    public func value(at index: Int) -> ArraySlice<UInt8> { storage[fields[index].value] }

    /// The indices of the field lines with this name, in order.
    public func indices(of name: String) -> [Int] {
        var found: [Int] = []
        for i in 0..<fields.count where nameEquals(i, name.utf8) { found.append(i) }
        return found
    }

    func firstIndex(_ name: String.UTF8View) -> Int? {
        for i in 0..<fields.count where nameEquals(i, name) { return i }
        return nil
    }

    func nameEquals(_ index: Int, _ name: String.UTF8View) -> Bool {
        let range = fields[index].name
        guard range.count == name.count else { return false }
        var position = range.lowerBound
        for byte in name {
            if httpLower(storage[position]) != httpLower(byte) { return false }
            position += 1
        }
        return true
    }
}

/// The content of a response.
public enum HTTPBody {
    case empty
    /// Bytes on the heap (shared, not copied, by every response that sends them).
    case bytes([UInt8])
    /// Memory that lives as long as the program: a `StaticString`'s bytes or data linked into the
    /// image. Sent without a copy.
    case immortal(UnsafeRawBufferPointer)
    /// Content made piece by piece while it is sent: the server pulls from the producer only as
    /// the connection's send buffer has room, so a body of any size costs the server no memory.
    /// Read once: a response with a stream is sent once.
    case stream(any HTTPBodyProducer)

    /// Text as UTF-8 bytes.
    public static func text(_ text: String) -> HTTPBody { .bytes(Array(text.utf8)) }

    /// A string literal's bytes, without a copy.
    public static func literal(_ text: StaticString) -> HTTPBody {
        // In bounds and immortal: a StaticString's UTF-8 lives in the image's constant data.
        precondition(text.hasPointerRepresentation, "HTTPBody.literal needs a pointer StaticString")
        return .immortal(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The length of the content when it is known before it is sent: nil only for a stream that
    /// does not announce one.
    public var length: Int? {
        switch self {
        case .empty: return 0
        case .bytes(let bytes): return bytes.count
        case .immortal(let buffer): return buffer.count
        case .stream(let producer): return producer.length
        }
    }

    /// The length of the content held in memory (`length ?? 0` for a stream).
    public var count: Int { length ?? 0 }

    /// Whether the content is produced as it is sent.
    public var isStream: Bool {
        if case .stream = self { return true }
        return false
    }

    /// Calls `body` with the content's bytes (none for a stream, whose bytes are not in memory).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch self {
        case .empty, .stream: return body(UnsafeRawBufferPointer(start: nil, count: 0))
        case .bytes(let bytes): return bytes.withUnsafeBytes { body($0) }
        case .immortal(let buffer): return body(buffer)
        }
    }

    /// A copy of the content held in memory (empty for a stream).
    public var array: [UInt8] { withBytes { Array($0) } }
}

/// What a producer did when asked for bytes.
public enum HTTPBodyProduction: Equatable, Sendable {
    /// `body` was called with the next bytes (it may have taken fewer, or none: those bytes are
    /// offered again on the next call).
    case offered
    /// The content is complete; `body` was not called.
    case end
    /// The content cannot be completed (a source failed): the server aborts the connection, so
    /// the peer sees a truncated response rather than a complete-looking one.
    case failed
}

/// The source of a streamed response body (`HTTPBody.stream`). The server calls `produce` from
/// its `step` whenever the connection's send buffer has room, until it returns `.end`.
///
/// Framing follows from `length` (RFC 9112 §6.3): a known length is sent as Content-Length (the
/// producer must then offer exactly that many bytes; fewer aborts the connection, more are not
/// sent); an unknown one as `Transfer-Encoding: chunked` to HTTP/1.1 clients and by closing the
/// connection after the body for HTTP/1.0 clients. A producer must answer synchronously: one that
/// offers nothing without ending stalls its connection until the server's send timeout.
public protocol HTTPBodyProducer: AnyObject {
    /// The content's length when known in advance.
    var length: Int? { get }

    /// Offers up to `limit` (> 0) of the next bytes to `body`, which returns how many it took.
    /// Bytes not taken must be offered again next time. Returns `.end` (without calling `body`)
    /// once every byte was taken.
    func produce(limit: Int, into body: (UnsafeRawBufferPointer) -> Int) -> HTTPBodyProduction
}

// MARK: - Byte helpers (RFC 9110 §5.6.2 tokens, RFC 5234 core rules)

let asciiSpace: UInt8 = 0x20
let asciiTab: UInt8 = 0x09
let asciiCR: UInt8 = 0x0D
let asciiLF: UInt8 = 0x0A
let asciiColon: UInt8 = 0x3A
let asciiComma: UInt8 = 0x2C
let asciiSemicolon: UInt8 = 0x3B
let asciiQuote: UInt8 = 0x22
let asciiSlash: UInt8 = 0x2F

@inline(__always)
func httpLower(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}

/// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
    default: return false
    }
}

/// Bytes allowed in a field value (RFC 9110 §5.5): VCHAR, obs-text, SP and HTAB.
@inline(__always)
func isFieldValueByte(_ byte: UInt8) -> Bool {
    byte == asciiTab || (byte >= 0x20 && byte != 0x7F)
}

@inline(__always)
func isOWS(_ byte: UInt8) -> Bool { byte == asciiSpace || byte == asciiTab }

func httpHexDigit(_ byte: UInt8) -> Int? {
    switch byte {
    case 0x30...0x39: return Int(byte - 0x30)
    case 0x41...0x46: return Int(byte - 0x41 + 10)
    case 0x61...0x66: return Int(byte - 0x61 + 10)
    default: return nil
    }
}

/// Whether `bytes` equal the ASCII `text` exactly.
func bytesEqual(_ bytes: some Collection<UInt8>, _ text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    return text.withUTF8Buffer { literal in
        var i = 0
        for byte in bytes {
            if byte != literal[i] { return false }
            i += 1
        }
        return true
    }
}

/// Whether `bytes` equal the lower-case ASCII `text`, ignoring ASCII case.
func bytesEqualIgnoringCase(_ bytes: some Collection<UInt8>, _ text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    return text.withUTF8Buffer { literal in
        var i = 0
        for byte in bytes {
            if httpLower(byte) != literal[i] { return false }
            i += 1
        }
        return true
    }
}

/// The elements of a comma-separated list field value (RFC 9110 §5.6.1), OWS trimmed, empty
/// elements skipped. Does not look inside quoted strings (callers use it for token lists).
func listElements(_ value: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
    var elements: [ArraySlice<UInt8>] = []
    var start = value.startIndex
    var i = value.startIndex
    while i <= value.endIndex {
        if i == value.endIndex || value[i] == asciiComma {
            let element = trimOWS(value[start..<i])
            if !element.isEmpty { elements.append(element) }
            start = i + 1
        }
        i += 1
    }
    return elements
}

func trimOWS(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var lower = bytes.startIndex
    var upper = bytes.endIndex
    while lower < upper && isOWS(bytes[lower]) { lower += 1 }
    while upper > lower && isOWS(bytes[upper - 1]) { upper -= 1 }
    return bytes[lower..<upper]
}

/// Appends `value` (>= 0) in decimal.
func httpAppendDecimal(_ value: Int, to out: inout [UInt8]) {
    if value <= 0 {
        out.append(0x30)
        return
    }
    var digits: [UInt8] = []
    var rest = value
    while rest > 0 {
        digits.append(UInt8(0x30 + rest % 10))
        rest /= 10
    }
    out.append(contentsOf: digits.reversed())
}

func appendStatic(_ text: StaticString, to out: inout [UInt8]) {
    text.withUTF8Buffer { out.append(contentsOf: $0) }
}
