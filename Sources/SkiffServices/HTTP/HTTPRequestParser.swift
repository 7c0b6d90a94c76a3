// An incremental HTTP/1.1 request parser (RFC 9112). It takes bytes as they arrive, in pieces of
// any size, keeps only the line being read, and stops after each complete request so pipelined
// requests are answered in order. Every limit is checked before bytes are stored; no input traps.
//
// Strictness (what is refused, and why) follows RFC 9112's rules for servers:
// - lines end in CRLF; a bare CR or bare LF is an error (§2.2 allows this choice);
// - obs-fold is refused with 400 (§5.2); whitespace before the colon is refused (§5.1);
// - Transfer-Encoding with Content-Length, Transfer-Encoding in HTTP/1.0, or chunked not last are
//   400 and close (§6.1, §6.3); an unknown coding before chunked is 501 (§6.1);
// - Content-Length fields must all carry the same 1*DIGIT value (§6.3 item 5).

public struct HTTPRequestParser {
    public let limits: HTTPLimits

    enum Phase: Equatable {
        case requestLine, headers, body, chunkSize, chunkData, chunkDataCR, chunkDataLF, trailers, complete, failed
    }

    enum LineResult { case incomplete, done, tooLong, malformed }

    private(set) var phase = Phase.requestLine
    /// The line being read, without its CRLF.
    private var line: [UInt8] = []
    /// The line ended in CR; the next byte must be LF.
    private var sawCR = false
    private var emptyLinesBefore = 0
    /// Bytes of the header (or trailer) section so far, CRLFs included.
    private var sectionBytes = 0
    private var started = false

    private var method = HTTPMethod.get
    private var target: [UInt8] = []
    private var path: [UInt8] = []
    private var query: [UInt8]? = nil
    private var version = HTTPVersion.http11
    private var headers = HTTPHeaders()
    private var trailers = HTTPHeaders()
    private var body: [UInt8] = []
    private var keepAlive = true
    /// Bytes still expected: of the content (Content-Length) or of the current chunk.
    private var remaining = 0

    /// Why the request was refused; the parser consumes nothing more once set.
    public private(set) var error: HTTPRequestError?
    /// The head asked for `100-continue` (HTTP/1.1) and content is still to come (RFC 9110 §10.1.1).
    public private(set) var expectsContinue = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// A complete request waits in `takeRequest()`.
    public var isComplete: Bool { phase == .complete }
    public var hasFailed: Bool { phase == .failed }
    /// Some bytes of a request have been consumed, and it is neither complete nor refused.
    public var isMidRequest: Bool { started && phase != .complete && phase != .failed }
    /// The head is parsed and content is still being read.
    public var isReadingContent: Bool {
        switch phase {
        case .body, .chunkSize, .chunkData, .chunkDataCR, .chunkDataLF, .trailers: return true
        default: return false
        }
    }
    /// The method of the request being read, once its request line is parsed.
    public var currentMethod: HTTPMethod? { phase == .requestLine ? nil : method }
    /// Content bytes read so far for the request being read.
    public var contentBytesRead: Int { body.count }

    /// Parses from the start of `input` and returns how many bytes it consumed: all of them,
    /// or fewer when a request completed (the rest belongs to the next one) or was refused.
    /// Consumes nothing while a complete request waits or after an error.
    public mutating func consume(_ input: UnsafeRawBufferPointer) -> Int {
        var i = 0
        let count = input.count
        while i < count {
            switch phase {
            case .complete, .failed:
                return i
            case .requestLine:
                started = true
                switch readLine(input, &i, limit: limits.maxRequestLineBytes) {
                case .incomplete: break
                case .done: parseRequestLine()
                case .malformed: fail(.malformedLine)
                case .tooLong: fail(lineOverflowIsInTarget() ? .targetTooLong : .requestLineTooLong)
                }
            case .headers:
                switch readLine(input, &i, limit: max(0, limits.maxHeaderBytes - sectionBytes - 2)) {
                case .incomplete: break
                case .done:
                    if line.isEmpty {
                        finishHead()
                    } else if let problem = addField(trailer: false) {
                        fail(problem)
                    }
                case .malformed: fail(.malformedLine)
                case .tooLong: fail(.headerSectionTooLarge)
                }
            case .body, .chunkData:
                let take = min(remaining, count - i)
                // In bounds: i + take <= count.
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                remaining -= take
                if remaining == 0 {
                    phase = phase == .body ? .complete : .chunkDataCR
                }
            case .chunkDataCR, .chunkDataLF:
                // RFC 9112 §7.1: chunk-data is followed by CRLF, exactly.
                let expected = phase == .chunkDataCR ? asciiCR : asciiLF
                guard input[i] == expected else {
                    fail(.malformedChunk)
                    return i
                }
                i += 1
                phase = phase == .chunkDataCR ? .chunkDataLF : .chunkSize
            case .chunkSize:
                switch readLine(input, &i, limit: limits.maxChunkLineBytes) {
                case .incomplete: break
                case .done: parseChunkSizeLine()
                case .malformed, .tooLong: fail(.malformedChunk)
                }
            case .trailers:
                switch readLine(input, &i, limit: max(0, limits.maxHeaderBytes - sectionBytes - 2)) {
                case .incomplete: break
                case .done:
                    if line.isEmpty {
                        phase = .complete
                    } else if let problem = addField(trailer: true) {
                        fail(problem == .headerSectionTooLarge ? .trailerSectionTooLarge : problem)
                    }
                case .malformed: fail(.malformedLine)
                case .tooLong: fail(.trailerSectionTooLarge)
                }
            }
        }
        return i
    }

    /// The complete request, if there is one; the parser then waits for the next request.
    public mutating func takeRequest() -> HTTPRequest? {
        guard phase == .complete else { return nil }
        let request = HTTPRequest(method: method, target: target, path: path, query: query, version: version,
                                  headers: headers, body: body, trailers: trailers, keepAlive: keepAlive)
        reset()
        return request
    }

    /// Forgets any partial request and error, as for a new connection.
    public mutating func reset() {
        phase = .requestLine
        line.removeAll(keepingCapacity: true)
        sawCR = false
        emptyLinesBefore = 0
        sectionBytes = 0
        started = false
        method = .get
        target = []
        path = []
        query = nil
        version = .http11
        headers = HTTPHeaders()
        trailers = HTTPHeaders()
        body = []
        keepAlive = true
        remaining = 0
        error = nil
        expectsContinue = false
    }

    // MARK: - Lines

    /// Reads bytes into `line` up to CRLF. A line longer than `limit` (CRLF not counted), a bare
    /// CR or a bare LF ends the request.
    private mutating func readLine(_ input: UnsafeRawBufferPointer, _ i: inout Int, limit: Int) -> LineResult {
        let count = input.count
        if !sawCR {
            var j = i
            while j < count && input[j] != asciiCR && input[j] != asciiLF { j += 1 }
            if line.count + (j - i) > limit {
                let room = max(0, limit - line.count)
                // In bounds: room < j - i, so i + room < j <= count.
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + room)]))
                i += room
                return .tooLong
            }
            // In bounds: i <= j <= count.
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<j]))
            i = j
            if j == count { return .incomplete }
            if input[j] == asciiLF { return .malformed }
            sawCR = true
            i += 1
            if i == count { return .incomplete }
        }
        guard input[i] == asciiLF else { return .malformed }
        i += 1
        sawCR = false
        return .done
    }

    private mutating func fail(_ problem: HTTPRequestError) {
        error = problem
        phase = .failed
        expectsContinue = false
    }

    /// For a request line over the limit: whether the excess lies in the request-target (one SP
    /// seen, then target bytes).
    private func lineOverflowIsInTarget() -> Bool {
        var spaces = 0
        for byte in line where byte == asciiSpace { spaces += 1 }
        return spaces == 1 && line.last != asciiSpace
    }

    // MARK: - Request line (RFC 9112 §3)

    private mutating func parseRequestLine() {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // RFC 9112 §2.2: ignore at least one empty line before the request-line; a few, here.
            emptyLinesBefore += 1
            if emptyLinesBefore > 4 { fail(.malformedLine) }
            return
        }
        guard let firstSpace = line.firstIndex(of: asciiSpace),
              let secondSpace = line[(firstSpace + 1)...].firstIndex(of: asciiSpace),
              !line[(secondSpace + 1)...].contains(asciiSpace) else {
            fail(.malformedRequestLine)
            return
        }
        let methodBytes = line[0..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let versionBytes = line[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenByte) else {
            fail(.malformedRequestLine)
            return
        }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
        guard versionBytes.count == 8, bytesEqual(versionBytes.prefix(5), "HTTP/"),
              let major = decimalDigit(versionBytes[versionBytes.startIndex + 5]),
              versionBytes[versionBytes.startIndex + 6] == 0x2E,
              let minor = decimalDigit(versionBytes[versionBytes.startIndex + 7]) else {
            fail(.malformedRequestLine)
            return
        }
        guard major == 1 else {
            fail(.unsupportedVersion)
            return
        }
        guard !targetBytes.isEmpty else {
            fail(.malformedRequestLine)
            return
        }
        guard targetBytes.count <= limits.maxTargetBytes else {
            fail(.targetTooLong)
            return
        }
        method = HTTPMethod(bytes: methodBytes)
        version = HTTPVersion(major: major, minor: minor)
        keepAlive = minor >= 1
        guard parseTarget(targetBytes) else {
            fail(.invalidTarget)
            return
        }
        target = Array(targetBytes)
        phase = .headers
        sectionBytes = 0
    }

    /// Fills `path` and `query` from the four request-target forms (RFC 9112 §3.2).
    private mutating func parseTarget(_ bytes: ArraySlice<UInt8>) -> Bool {
        // Visible ASCII only; no fragment (RFC 3986 §3.5 is not part of a request-target).
        for byte in bytes where byte < 0x21 || byte > 0x7E || byte == 0x23 { return false }
        let first = bytes[bytes.startIndex]
        if first == asciiSlash {
            let (p, q) = splitOriginForm(bytes)
            path = Array(p)
            query = q.map { Array($0) }
            return true
        }
        if bytes.count == 1 && first == 0x2A {
            // asterisk-form, for OPTIONS only (§3.2.4).
            guard method == .options else { return false }
            path = [0x2A]
            return true
        }
        if method == .connect {
            // authority-form (§3.2.3): host ":" port.
            guard bytes.contains(asciiColon), !bytes.contains(asciiSlash) else { return false }
            path = Array(bytes)
            return true
        }
        // absolute-form (§3.2.2): "http://" or "https://", authority, then path-abempty [ "?" query ].
        var schemeEnd = bytes.startIndex
        while schemeEnd < bytes.endIndex && bytes[schemeEnd] != asciiColon { schemeEnd += 1 }
        let scheme = bytes[bytes.startIndex..<schemeEnd]
        guard bytesEqualIgnoringCase(scheme, "http") || bytesEqualIgnoringCase(scheme, "https") else { return false }
        let rest = bytes[schemeEnd...]
        guard rest.count >= 3, bytesEqual(rest.prefix(3), "://") else { return false }
        let authorityStart = schemeEnd + 3
        var pathStart = authorityStart
        while pathStart < bytes.endIndex && bytes[pathStart] != asciiSlash && bytes[pathStart] != 0x3F { pathStart += 1 }
        guard pathStart > authorityStart else { return false }
        let (p, q) = splitOriginForm(bytes[pathStart...])
        path = p.isEmpty ? [asciiSlash] : Array(p)
        query = q.map { Array($0) }
        return true
    }

    // MARK: - Fields (RFC 9112 §5)

    /// Adds the field line in `line`; returns the problem, if any.
    private mutating func addField(trailer: Bool) -> HTTPRequestError? {
        defer { line.removeAll(keepingCapacity: true) }
        if isOWS(line[0]) { return .obsoleteLineFolding }
        guard let colon = line.firstIndex(of: asciiColon), colon > 0 else { return .malformedField }
        let name = line[0..<colon]
        // §5.1: no white space between field name and colon; the name is a token.
        guard name.allSatisfy(isTokenByte) else { return .malformedField }
        let value = trimOWS(line[(colon + 1)...])
        guard value.allSatisfy(isFieldValueByte) else { return .malformedField }
        sectionBytes += line.count + 2
        if trailer {
            guard trailers.count < limits.maxHeaderCount else { return .trailerSectionTooLarge }
            trailers.add(name: name, value: value)
        } else {
            guard headers.count < limits.maxHeaderCount else { return .tooManyFields }
            headers.add(name: name, value: value)
        }
        return nil
    }

    /// The empty line after the header fields: decide framing and persistence (RFC 9112 §6.3, §9.3).
    private mutating func finishHead() {
        line.removeAll(keepingCapacity: true)
        // §3.2: a Host field is required in HTTP/1.1, and never more than one.
        let hosts = headers.indices(of: "host")
        if hosts.count > 1 || (hosts.isEmpty && version.minor >= 1) {
            fail(.invalidHost)
            return
        }
        if let host = hosts.first, headers.value(at: host).contains(asciiComma) {
            fail(.invalidHost)
            return
        }

        // Connection options (RFC 9112 §9.3).
        var close = false
        var keepAliveOption = false
        for index in headers.indices(of: "connection") {
            for option in listElements(headers.value(at: index)) {
                if bytesEqualIgnoringCase(option, "close") { close = true }
                if bytesEqualIgnoringCase(option, "keep-alive") { keepAliveOption = true }
            }
        }
        keepAlive = !close && (version.minor >= 1 || keepAliveOption)

        var chunked = false
        let transferEncodings = headers.indices(of: "transfer-encoding")
        let contentLengths = headers.indices(of: "content-length")
        if !transferEncodings.isEmpty {
            // §6.1: HTTP/1.0 with Transfer-Encoding: faulty framing. §6.3 item 3: with
            // Content-Length, a likely smuggling attempt; refused, and the connection closes.
            if version.minor == 0 {
                fail(.invalidTransferEncoding)
                return
            }
            if !contentLengths.isEmpty {
                fail(.conflictingFraming)
                return
            }
            var codings: [ArraySlice<UInt8>] = []
            for index in transferEncodings { codings.append(contentsOf: listElements(headers.value(at: index))) }
            guard let last = codings.last, bytesEqualIgnoringCase(last, "chunked") else {
                fail(.invalidTransferEncoding)
                return
            }
            for coding in codings.dropLast() {
                if bytesEqualIgnoringCase(coding, "chunked") {
                    fail(.invalidTransferEncoding) // chunked at most once (§7)
                    return
                }
            }
            if codings.count > 1 {
                fail(.unsupportedTransferCoding) // gzip, deflate, ...: not decoded here (§6.1: 501)
                return
            }
            chunked = true
        }

        var contentLength = 0
        if !contentLengths.isEmpty {
            // §6.3 item 5, RFC 9110 §8.6: one value, or a list of identical values.
            var value: Int? = nil
            for index in contentLengths {
                let elements = listElements(headers.value(at: index))
                if elements.isEmpty {
                    fail(.invalidContentLength)
                    return
                }
                for element in elements {
                    guard let parsed = httpParseDecimal(element) else {
                        fail(.invalidContentLength)
                        return
                    }
                    if let value, value != parsed {
                        fail(.invalidContentLength)
                        return
                    }
                    value = parsed
                }
            }
            contentLength = value ?? 0
            if contentLength > limits.maxBodyBytes {
                fail(.contentTooLarge) // answered before any content is read
                return
            }
        }

        let contentFollows = chunked || contentLength > 0
        if let expect = headers.firstValue("expect") {
            // RFC 9110 §10.1.1: only 100-continue is defined; HTTP/1.0 ignores it.
            if bytesEqualIgnoringCase(trimOWS(expect), "100-continue") {
                expectsContinue = version.minor >= 1 && contentFollows
            } else {
                fail(.unsupportedExpectation)
                return
            }
        }

        sectionBytes = 0
        if chunked {
            phase = .chunkSize
        } else if contentLength > 0 {
            body.reserveCapacity(min(contentLength, 65536))
            remaining = contentLength
            phase = .body
        } else {
            phase = .complete
        }
    }

    // MARK: - Chunked (RFC 9112 §7.1)

    private mutating func parseChunkSizeLine() {
        defer { line.removeAll(keepingCapacity: true) }
        var size = 0
        var digits = 0
        var overflow = false
        var k = 0
        while k < line.count, let digit = httpHexDigit(line[k]) {
            if size > (Int.max - 15) / 16 {
                overflow = true
            } else {
                size = size * 16 + digit
            }
            digits += 1
            k += 1
        }
        guard digits > 0 else {
            fail(.malformedChunk)
            return
        }
        // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ): skipped,
        // but it must start with ";" and hold no control bytes.
        if k < line.count {
            while k < line.count && isOWS(line[k]) { k += 1 }
            guard k < line.count, line[k] == asciiSemicolon,
                  line[k...].allSatisfy(isFieldValueByte) else {
                fail(.malformedChunk)
                return
            }
        }
        if overflow || size > limits.maxBodyBytes - body.count {
            fail(.contentTooLarge)
            return
        }
        if size == 0 {
            sectionBytes = 0
            phase = .trailers
        } else {
            remaining = size
            phase = .chunkData
        }
    }
}

private func decimalDigit(_ byte: UInt8) -> UInt8? {
    byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : nil
}

/// 1*DIGIT as a non-negative Int; values too large for Int saturate at Int.max (they exceed
/// every limit anyway). nil for anything else.
func httpParseDecimal(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var value = 0
    for byte in bytes {
        guard let digit = decimalDigit(byte) else { return nil }
        if value > (Int.max - 9) / 10 {
            value = Int.max
        } else {
            value = value * 10 + Int(digit)
        }
    }
    return value
}
