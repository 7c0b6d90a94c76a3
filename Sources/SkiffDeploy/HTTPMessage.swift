import Glibc

// The values SkiffDeploy's HTTP/1.1 client (HTTPClient.swift) works with: where the server is,
// how its certificate is checked, and requests and responses (RFC 9110, RFC 9112).

/// How the server's TLS certificate is checked before any byte of a request is sent.
public enum TLSVerification: Sendable, Equatable {
    /// The chain must lead to a CA in the system's store, and the certificate must name the host.
    case system
    /// The chain must lead to one of the PEM certificates in these files (govc's
    /// GOVC_TLS_CA_CERTS, a ':'-separated list), and the certificate must name the host.
    case caFiles([String])
    /// Anything is accepted (`--insecure`).
    case insecure
    /// The certificate must have this SHA-1 or SHA-256 thumbprint (`--thumbprint`), whoever issued
    /// it: "AA:BB:...", with or without colons, any case. See `CertificateThumbprint`.
    case thumbprint(String)

    /// The chain must lead to one of the PEM certificates in this one file.
    public static func caFile(_ path: String) -> TLSVerification { .caFiles([path]) }
}

/// A SHA-1 or SHA-256 digest of a certificate's DER bytes, as vSphere shows it ("AA:BB:...").
public struct CertificateThumbprint: Sendable, Equatable, CustomStringConvertible {
    public enum Algorithm: Sendable, Equatable {
        case sha1
        case sha256

        public var name: String { self == .sha1 ? "SHA-1" : "SHA-256" }
    }

    public var algorithm: Algorithm
    public var bytes: [UInt8]

    public init(algorithm: Algorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Parses 20 (SHA-1) or 32 (SHA-256) bytes in hex, any case, either all bytes separated by
    /// colons or none. A bad value is a usage error naming `--thumbprint`.
    public init(_ text: String) throws(DeployError) {
        let trimmed = text.trimmingASCIIWhitespace()
        var digits: [UInt8] = []
        let utf8 = Array(trimmed.utf8)
        let hasColons = utf8.contains(UInt8(ascii: ":"))
        for (index, byte) in utf8.enumerated() {
            if byte == UInt8(ascii: ":") {
                // Colons only between bytes: after every second digit, never doubled or at the end.
                guard hasColons, index % 3 == 2, index + 1 < utf8.count else {
                    throw Self.invalid(text)
                }
                continue
            }
            if hasColons, index % 3 == 2 { throw Self.invalid(text) }
            guard let value = hexValue(byte) else { throw Self.invalid(text) }
            digits.append(value)
        }
        switch digits.count {
        case 40: algorithm = .sha1
        case 64: algorithm = .sha256
        default: throw Self.invalid(text)
        }
        bytes = stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    private static func invalid(_ text: String) -> DeployError {
        .usage("--thumbprint \(text): not a SHA-1 or SHA-256 certificate thumbprint (40 or 64 hex digits, as AA:BB:...)")
    }

    /// "AA:BB:..." in upper case, as vSphere shows thumbprints.
    public var description: String { Self.format(bytes) }

    static func format(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ":")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Where an HTTP server is: parsed from `https://[user[:password]@]host[:port][/path]`.
public struct HTTPEndpoint: Sendable, Equatable {
    /// "https" or "http".
    public var scheme: String
    /// A name or an IP literal; IPv6 without brackets.
    public var host: String
    public var port: Int
    /// The URL's path, e.g. "/sdk"; "" when it has none (or only "/"). Query and fragment dropped.
    public var basePath: String

    public init(scheme: String, host: String, port: Int, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses an http:// or https:// URL (RFC 3986 §3: the authority ends at the first "/", "?"
    /// or "#"). User information is skipped (the caller takes the credentials from the URL itself)
    /// and never appears in an error message: see `redacted`.
    public init(url: String) throws(DeployError) {
        let text = url.trimmingASCIIWhitespace()
        let bytes = Array(text.utf8)
        guard let schemeEnd = schemeSeparator(in: bytes) else {
            throw .usage("\(Self.redacted(text)): not an http:// or https:// URL")
        }
        let givenScheme = String(decoding: bytes[0..<schemeEnd], as: UTF8.self).lowercased()
        guard givenScheme == "https" || givenScheme == "http" else {
            throw .usage("\(Self.redacted(text)): not an http:// or https:// URL")
        }
        var rest = Array(bytes[(schemeEnd + 3)...])
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.count
        var authority = Array(rest[0..<authorityEnd])
        rest = Array(rest[authorityEnd...])
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            authority = Array(authority[(at + 1)...])
        }
        let shown = Self.redacted(text)
        var hostBytes: [UInt8]
        var portBytes: [UInt8]?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else {
                throw .usage("\(shown): an IPv6 address in the URL needs a closing ]")
            }
            hostBytes = Array(authority[1..<close])
            let after = authority[(close + 1)...]
            if let colon = after.first {
                guard colon == UInt8(ascii: ":") else { throw .usage("\(shown): unexpected text after ]") }
                portBytes = Array(after.dropFirst())
            }
            guard isIPv6Literal(String(decoding: hostBytes, as: UTF8.self)) else {
                throw .usage("\(shown): not an IPv6 address between [ and ]")
            }
        } else if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
            hostBytes = Array(authority[0..<colon])
            portBytes = Array(authority[(colon + 1)...])
        } else {
            hostBytes = authority
        }
        guard !hostBytes.isEmpty else { throw .usage("\(shown): the URL has no host") }
        for byte in hostBytes where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "%") && authority.first != UInt8(ascii: "[") {
            throw .usage("\(shown): the host contains a character that is not allowed")
        }
        var parsedPort = givenScheme == "https" ? 443 : 80
        if let portBytes {
            guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(String(decoding: portBytes, as: UTF8.self)), (1...65535).contains(value)
            else {
                throw .usage("\(shown): the port is not a number from 1 to 65535")
            }
            parsedPort = value
        }
        let pathEnd = rest.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.count
        var path = Array(rest[0..<pathEnd])
        for byte in path where byte <= 0x20 || byte >= 0x7F {
            throw .usage("\(shown): the path contains a space or a control character (percent-encode it)")
        }
        if path == [UInt8(ascii: "/")] { path = [] }
        scheme = givenScheme
        host = String(decoding: hostBytes, as: UTF8.self)
        port = parsedPort
        basePath = String(decoding: path, as: UTF8.self)
    }

    /// "host:port", "[v6]:port": how error messages name the server.
    public var hostAndPort: String { "\(hostForURL):\(port)" }

    /// The host as it appears in a URL and the Host header: IPv6 literals in brackets.
    var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// The Host header's value (RFC 9112 §3.2): the port only when it is not the scheme's default.
    var hostHeader: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? hostForURL : hostAndPort
    }

    var usesTLS: Bool { scheme == "https" }

    /// The URL with any user information cut out, for messages: everything from the start of the
    /// authority (or of the text, when it has no valid scheme) to the LAST "@" of the whole text.
    /// A password typed without percent-encoding may hold "/", "?", "#", "@" or even "://", so
    /// this may cut more than RFC 3986's user information (an "@" in a path), never less.
    public static func redacted(_ url: String) -> String {
        let bytes = Array(url.utf8)
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return url }
        var start = schemeSeparator(in: bytes).map { $0 + 3 } ?? 0
        if start > at { start = 0 }
        return String(decoding: bytes[0..<start] + bytes[(at + 1)...], as: UTF8.self)
    }
}

/// What a request carries after its header.
public enum HTTPBody {
    case none
    case bytes([UInt8])
    /// Streamed from the file with a Content-Length of its size; never read whole into memory.
    case file(path: String)
}

public struct HTTPRequest {
    public var method: String
    /// Origin form (RFC 9112 §3.2.1): "/sdk", "/folder/a%20b.iso?dcPath=DC0&dsName=LocalDS_0".
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: HTTPBody

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: HTTPBody = .none) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, reason: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The first header with this name (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEqual($0.name, name) }?.value
    }

    /// Every header with this name (case-insensitive), in order: Set-Cookie may come several times.
    public func headers(named name: String) -> [String] {
        headers.filter { asciiCaseInsensitiveEqual($0.name, name) }.map(\.value)
    }
}

// MARK: - Helpers

func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    let x = a.utf8, y = b.utf8
    guard x.count == y.count else { return false }
    return zip(x, y).allSatisfy { asciiLower($0) == asciiLower($1) }
}

func asciiLower(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}

func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}

/// Where "://" starts when the bytes before it are a scheme (RFC 3986 §3.1: a letter, then
/// letters, digits, "+", "-" or "."); nil otherwise ("user:pa://ss@host" has no scheme).
func schemeSeparator(in bytes: [UInt8]) -> Int? {
    guard let end = firstIndex(of: "://", in: bytes), end > 0 else { return nil }
    let isLetter: (UInt8) -> Bool = { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }
    guard isLetter(bytes[0]) else { return nil }
    for byte in bytes[1..<end] where !(isLetter(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2B || byte == 0x2D || byte == 0x2E) {
        return nil
    }
    return end
}

func firstIndex(of needle: String, in bytes: [UInt8]) -> Int? {
    let pattern = Array(needle.utf8)
    guard bytes.count >= pattern.count else { return nil }
    for start in 0...(bytes.count - pattern.count) where bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
        return start
    }
    return nil
}

func isIPv4Literal(_ text: String) -> Bool {
    var address = in_addr()
    return inet_pton(AF_INET, text, &address) == 1
}

func isIPv6Literal(_ text: String) -> Bool {
    var address = in6_addr()
    return inet_pton(AF_INET6, text, &address) == 1
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
