// An HTTP/1.1 response parser fed bytes as they arrive (RFC 9112): status line, header fields,
// and the body framed by Content-Length, chunked transfer coding (extensions and trailers
// skipped), or the end of the connection. It never traps on what a server sends: every problem is
// a `HTTPParseError` with a one-line reason. No sockets here, so tests feed it byte by byte.

public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct HTTPResponseParser {
    public struct Limits: Sendable, Equatable {
        /// The status line and all header fields (of each 1xx response too, and of the trailers).
        public var maxHeaderBytes: Int
        /// The decoded body.
        public var maxBodyBytes: Int
        /// Interim (1xx) responses before the final one: each is small, but a server that sent
        /// them without end would keep the client waiting forever (no silence for the timeout).
        public var maxInterimResponses: Int

        public init(maxHeaderBytes: Int = 64 << 10, maxBodyBytes: Int = 64 << 20, maxInterimResponses: Int = 10) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxInterimResponses = maxInterimResponses
        }
    }

    private enum State {
        case statusLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case complete
    }

    public let limits: Limits
    /// The request was HEAD: the response has no body whatever its headers say (RFC 9110 §9.3.2).
    public let requestWasHEAD: Bool

    private var state = State.statusLine
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already consumed (compacted now and then).
    private var position = 0
    private var headerBytes = 0
    private var response = HTTPResponse(status: 0, reason: "")
    private var minorVersion = 1
    /// Interim (1xx) responses skipped so far.
    public private(set) var interimResponses = 0

    public init(requestWasHEAD: Bool = false, limits: Limits = Limits()) {
        self.requestWasHEAD = requestWasHEAD
        self.limits = limits
    }

    /// True once any byte has been fed: a kept-alive connection that closes before this is retried.
    public private(set) var receivedAny = false

    /// Whether the connection can carry another request after this response: HTTP/1.1 without
    /// `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`; never after a body that
    /// ended with the connection, nor with bytes left over after the response.
    public var connectionReusable: Bool {
        guard case .complete = state, position == buffer.count, !closeDelimited else { return false }
        let tokens = response.headers(named: "Connection").flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingASCIIWhitespace().lowercased() }
        if tokens.contains("close") { return false }
        return minorVersion >= 1 || tokens.contains("keep-alive")
    }

    private var closeDelimited = false

    /// Takes the next bytes from the connection. Returns the response once it is complete (then
    /// more bytes are not expected: they make the connection not reusable).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPResponse? {
        if bytes.isEmpty { return nil }
        receivedAny = true
        if case .complete = state {
            buffer.append(contentsOf: bytes)
            return nil
        }
        if position > 0, position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        } else if position > 65536, position * 2 > buffer.count {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
        return try advance()
    }

    public mutating func feed(_ bytes: [UInt8]) throws(HTTPParseError) -> HTTPResponse? {
        try feed(bytes[...])
    }

    public mutating func feed(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPResponse? {
        var result: Result<HTTPResponse?, HTTPParseError> = .success(nil)
        bytes.withUnsafeBytes { raw in
            do throws(HTTPParseError) { result = .success(try feed(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// The connection ended. Completes a body delimited by the close; anything else unfinished
    /// is an error.
    public mutating func finish() throws(HTTPParseError) -> HTTPResponse {
        switch state {
        case .complete: return response
        case .untilClose:
            state = .complete
            return response
        case .statusLine where !receivedAny:
            throw HTTPParseError("the server closed the connection without a response")
        case .statusLine, .headers:
            throw HTTPParseError("the server closed the connection in the middle of the response header")
        case .fixedBody(let remaining):
            throw HTTPParseError("the server closed the connection \(remaining) bytes before the end of the body")
        case .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            throw HTTPParseError("the server closed the connection before the last chunk of the body")
        }
    }

    // MARK: - The state machine

    private mutating func advance() throws(HTTPParseError) -> HTTPResponse? {
        while true {
            switch state {
            case .statusLine:
                guard let line = try nextLine() else { return nil }
                if line.isEmpty, response.status == 0, headerBytes <= 2 {
                    // RFC 9112 §2.2: a recipient may ignore empty lines before the start line.
                    continue
                }
                try parseStatusLine(line)
                state = .headers
            case .headers:
                guard let line = try nextLine() else { return nil }
                if line.isEmpty {
                    if let done = try headersEnded() { return done }
                    continue
                }
                try parseField(line, into: &response.headers)
            case .fixedBody(let remaining):
                let available = buffer.count - position
                if available == 0 { return nil }
                let take = min(available, remaining)
                try appendBody(buffer[position..<(position + take)])
                position += take
                if take == remaining { return complete() }
                state = .fixedBody(remaining: remaining - take)
            case .chunkSize:
                guard let line = try nextLine() else { return nil }
                let size = try parseChunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    guard size <= limits.maxBodyBytes - response.body.count else { throw bodyTooLarge() }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let available = buffer.count - position
                if available == 0 { return nil }
                let take = min(available, remaining)
                try appendBody(buffer[position..<(position + take)])
                position += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard let line = try nextLine() else { return nil }
                guard line.isEmpty else { throw HTTPParseError("a chunk of the body is longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try nextLine() else { return nil }
                if line.isEmpty { return complete() }
                // Trailer fields are checked for form and dropped (RFC 9112 §7.1.2).
                var trailers: [(name: String, value: String)] = []
                try parseField(line, into: &trailers)
            case .untilClose:
                let available = buffer.count - position
                if available > 0 {
                    try appendBody(buffer[position...])
                    position = buffer.count
                }
                return nil
            case .complete:
                return nil
            }
        }
    }

    private mutating func complete() -> HTTPResponse {
        state = .complete
        return response
    }

    private func bodyTooLarge() -> HTTPParseError {
        HTTPParseError("the response body is larger than \(limits.maxBodyBytes) bytes")
    }

    private mutating func appendBody(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) {
        guard bytes.count <= limits.maxBodyBytes - response.body.count else { throw bodyTooLarge() }
        response.body.append(contentsOf: bytes)
    }

    /// The next line without its CRLF (a bare LF is accepted too, RFC 9112 §2.2), or nil when it
    /// has not all arrived. Counts against the header limit in the header and trailer states.
    private mutating func nextLine() throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let countsAsHeader: Bool
        switch state {
        case .statusLine, .headers, .trailers: countsAsHeader = true
        default: countsAsHeader = false
        }
        guard let newline = buffer[position...].firstIndex(of: 0x0A) else {
            let pending = buffer.count - position
            if countsAsHeader, headerBytes + pending > limits.maxHeaderBytes {
                throw HTTPParseError("the response header is larger than \(limits.maxHeaderBytes) bytes")
            }
            if !countsAsHeader, pending > 4096 {
                throw HTTPParseError("a chunk size line is longer than 4096 bytes")
            }
            return nil
        }
        let length = newline + 1 - position
        if countsAsHeader {
            headerBytes += length
            if headerBytes > limits.maxHeaderBytes {
                throw HTTPParseError("the response header is larger than \(limits.maxHeaderBytes) bytes")
            }
        }
        var end = newline
        if end > position, buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[position..<end]
        position = newline + 1
        return line
    }

    private mutating func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) {
        // HTTP-version SP 3DIGIT SP [reason-phrase] (RFC 9112 §4); some servers omit the last SP.
        let bytes = Array(line)
        let prefix = Array("HTTP/1.".utf8)
        guard bytes.count >= 12, Array(bytes[0..<7]) == prefix, bytes[7] >= 0x30, bytes[7] <= 0x39,
              bytes[8] == 0x20,
              bytes[9...11].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 12 || bytes[12] == 0x20
        else {
            throw HTTPParseError("not an HTTP/1.x status line: \(printable(line))")
        }
        minorVersion = Int(bytes[7] - 0x30)
        response.status = Int(bytes[9] - 0x30) * 100 + Int(bytes[10] - 0x30) * 10 + Int(bytes[11] - 0x30)
        guard response.status >= 100 else {
            throw HTTPParseError("status \(response.status) is not a valid HTTP status")
        }
        response.reason = bytes.count > 13 ? String(decoding: bytes[13...], as: UTF8.self) : ""
    }

    private func parseField(_ line: ArraySlice<UInt8>, into fields: inout [(name: String, value: String)]) throws(HTTPParseError) {
        if let first = line.first, first == 0x20 || first == 0x09 {
            throw HTTPParseError("obsolete header line folding: \(printable(line))")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError("a header line without a colon: \(printable(line))")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw HTTPParseError("not a header field name: \(printable(name))")
        }
        var value = line[(colon + 1)...]
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        if value.contains(where: { $0 == 0 || $0 == 0x0D || $0 == 0x0A }) {
            throw HTTPParseError("a header field value with a NUL or CR: \(printable(name))")
        }
        fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// Decides how the body is framed (RFC 9112 §6.3). Returns the response when it has no body.
    private mutating func headersEnded() throws(HTTPParseError) -> HTTPResponse? {
        let status = response.status
        if status < 200 {
            guard status != 101 else { throw HTTPParseError("the server switched protocols (101), which skiff does not ask for") }
            // An interim response (100 Continue, 103 Early Hints): the final one follows.
            interimResponses += 1
            guard interimResponses <= limits.maxInterimResponses else {
                throw HTTPParseError("more than \(limits.maxInterimResponses) interim (1xx) responses before the final one")
            }
            response = HTTPResponse(status: 0, reason: "")
            headerBytes = 0
            state = .statusLine
            return nil
        }
        if requestWasHEAD || status == 204 || status == 304 { return complete() }
        let codings = response.headers(named: "Transfer-Encoding").flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingASCIIWhitespace().lowercased() }.filter { !$0.isEmpty }
        if !codings.isEmpty {
            // Skiff asks for no compression (no TE, no Accept-Encoding), so only chunked can come.
            guard codings == ["chunked"], minorVersion >= 1 else {
                throw HTTPParseError("unsupported transfer coding \(codings.joined(separator: ", ")) (HTTP/1.\(minorVersion))")
            }
            state = .chunkSize
            return nil
        }
        let lengths = response.headers(named: "Content-Length").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { String($0).trimmingASCIIWhitespace() }
        if let first = lengths.first {
            // Several equal values are one length (RFC 9110 §8.6); different values are an error.
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.count <= 18,
                  first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(first)
            else {
                throw HTTPParseError("not a valid Content-Length: \(lengths.joined(separator: ", "))")
            }
            guard length <= limits.maxBodyBytes else { throw bodyTooLarge() }
            if length == 0 { return complete() }
            state = .fixedBody(remaining: length)
            return nil
        }
        closeDelimited = true
        state = .untilClose
        return nil
    }

    /// chunk-size [ chunk-ext ] (RFC 9112 §7.1.1): hex digits, then extensions, ignored.
    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let value = hexValue(line[index]) {
            digits += 1
            guard digits <= 15 else { throw HTTPParseError("a chunk size is too large: \(printable(line))") }
            size = size << 4 | Int(value)
            index += 1
        }
        guard digits > 0 else { throw HTTPParseError("not a chunk size: \(printable(line))") }
        var rest = line[index...]
        while let first = rest.first, first == 0x20 || first == 0x09 { rest = rest.dropFirst() }
        guard rest.isEmpty || rest.first == UInt8(ascii: ";") else {
            throw HTTPParseError("not a chunk size: \(printable(line))")
        }
        return size
    }
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    // tchar (RFC 9110 §5.6.2)
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}

/// Up to 80 bytes of a line for an error message, control and non-ASCII bytes as \xHH.
func printable(_ bytes: ArraySlice<UInt8>) -> String {
    var text = ""
    for byte in bytes.prefix(80) {
        if byte >= 0x20, byte < 0x7F {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let digits = Array("0123456789ABCDEF".utf8)
            text += "\\x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }
    }
    if bytes.count > 80 { text += "..." }
    return text.isEmpty ? "(empty)" : text
}
