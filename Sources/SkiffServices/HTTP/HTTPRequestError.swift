// Why a request was refused, and the limits that bound what one request may cost.

/// Why the parser refused a request; each kind maps to the status sent before closing.
public enum HTTPRequestError: UInt8, Equatable, Hashable, Sendable, CaseIterable {
    /// A line ended in a bare CR or a bare LF, or more than a few empty lines came first.
    case malformedLine
    /// The request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3).
    case malformedRequestLine
    /// The request-target is not a valid origin-, absolute-, authority- or asterisk-form.
    case invalidTarget
    /// HTTP major version other than 1 (505).
    case unsupportedVersion
    /// The request-target is longer than the limit (414).
    case targetTooLong
    /// The request line is longer than the limit outside the request-target (400).
    case requestLineTooLong
    /// A field line is not `token ":" OWS value OWS`, or its value holds a control byte.
    case malformedField
    /// A field line begins with white space: obsolete line folding (RFC 9112 §5.2).
    case obsoleteLineFolding
    /// The header section is longer than the limit (431).
    case headerSectionTooLarge
    /// More header field lines than the limit (431).
    case tooManyFields
    /// HTTP/1.1 without Host, or more than one Host (RFC 9112 §3.2).
    case invalidHost
    /// Content-Length not 1*DIGIT, or several that disagree (RFC 9112 §6.3 item 5).
    case invalidContentLength
    /// Both Transfer-Encoding and Content-Length (RFC 9112 §6.3 item 3).
    case conflictingFraming
    /// Transfer-Encoding whose final coding is not chunked, chunked twice, or in HTTP/1.0
    /// (RFC 9112 §6.1; 400).
    case invalidTransferEncoding
    /// A transfer coding other than chunked before the final chunked (RFC 9112 §6.1; 501).
    case unsupportedTransferCoding
    /// The content is longer than the limit (413).
    case contentTooLarge
    /// A chunk-size line or the CRLF after chunk data is malformed (RFC 9112 §7.1).
    case malformedChunk
    /// The trailer section is longer than the limit, or has too many fields (431).
    case trailerSectionTooLarge
    /// An Expect other than 100-continue (RFC 9110 §10.1.1; 417).
    case unsupportedExpectation

    /// The response status for this kind.
    public var status: HTTPStatus {
        switch self {
        case .unsupportedVersion: return .httpVersionNotSupported
        case .targetTooLong: return .uriTooLong
        case .headerSectionTooLarge, .tooManyFields, .trailerSectionTooLarge: return .requestHeaderFieldsTooLarge
        case .unsupportedTransferCoding: return .notImplemented
        case .contentTooLarge: return .contentTooLarge
        case .unsupportedExpectation: return .expectationFailed
        default: return .badRequest
        }
    }

    /// A short name for logs and counters.
    public var name: StaticString {
        switch self {
        case .malformedLine: return "malformed line"
        case .malformedRequestLine: return "malformed request line"
        case .invalidTarget: return "invalid request-target"
        case .unsupportedVersion: return "unsupported version"
        case .targetTooLong: return "request-target too long"
        case .requestLineTooLong: return "request line too long"
        case .malformedField: return "malformed field"
        case .obsoleteLineFolding: return "obsolete line folding"
        case .headerSectionTooLarge: return "header section too large"
        case .tooManyFields: return "too many fields"
        case .invalidHost: return "missing or repeated Host"
        case .invalidContentLength: return "invalid Content-Length"
        case .conflictingFraming: return "Transfer-Encoding with Content-Length"
        case .invalidTransferEncoding: return "invalid Transfer-Encoding"
        case .unsupportedTransferCoding: return "unsupported transfer coding"
        case .contentTooLarge: return "content too large"
        case .malformedChunk: return "malformed chunk"
        case .trailerSectionTooLarge: return "trailer section too large"
        case .unsupportedExpectation: return "unsupported expectation"
        }
    }
}

/// What one request may cost. Every limit is checked as bytes arrive, before they are stored.
public struct HTTPLimits: Equatable, Sendable {
    /// The request line without CRLF; beyond it, 414 when the excess is in the target, else 400.
    public var maxRequestLineBytes: Int
    /// The request-target (414).
    public var maxTargetBytes: Int
    /// All header field lines with their CRLFs (431); also the bound for trailers.
    public var maxHeaderBytes: Int
    /// Header field lines (431); also the bound for trailers.
    public var maxHeaderCount: Int
    /// The content after de-chunking (413; with Content-Length, before any of it is read).
    public var maxBodyBytes: Int
    /// A chunk-size line with its extensions (400).
    public var maxChunkLineBytes: Int

    public init(maxRequestLineBytes: Int = 8192, maxTargetBytes: Int = 4096, maxHeaderBytes: Int = 16384,
                maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20, maxChunkLineBytes: Int = 1024) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxTargetBytes = maxTargetBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
