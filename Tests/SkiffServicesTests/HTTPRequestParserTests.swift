import SkiffServices
import XCTest

/// What a parser made of some input: the complete requests, and the error that ended it, if any.
struct ParseOutcome {
    var requests: [HTTPRequest] = []
    var error: HTTPRequestError? = nil
    /// Bytes consumed before the error (or in all).
    var consumed = 0
    var summary: String {
        var text = ""
        for request in requests {
            text += "\(request.method.name) \(String(decoding: request.target, as: UTF8.self)) "
            text += "\(request.version.major).\(request.version.minor) keep=\(request.keepAlive) "
            text += "fields=\(request.headers.count) body=\(request.body) trailers=\(request.trailers.count)|"
        }
        if let error { text += "error=\(error)" }
        return text
    }
}

/// Feeds `bytes` to a parser in pieces of at most `piece` bytes, taking requests as they complete.
func parseAll(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits(), piece: Int = Int.max) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = ParseOutcome()
    var position = 0
    while position < bytes.count {
        let end = min(bytes.count, position + min(piece, bytes.count - position))
        var offset = position
        while offset < end {
            let n = bytes.withUnsafeBytes { parser.consume(UnsafeRawBufferPointer(rebasing: $0[offset..<end])) }
            offset += n
            if let request = parser.takeRequest() {
                outcome.requests.append(request)
            } else if let error = parser.error {
                outcome.error = error
                outcome.consumed = offset
                return outcome
            } else if n == 0 {
                XCTFail("parser consumed nothing without completing or failing")
                return outcome
            }
        }
        position = end
    }
    outcome.consumed = position
    return outcome
}

func parseAll(_ text: String, limits: HTTPLimits = HTTPLimits(), piece: Int = Int.max) -> ParseOutcome {
    parseAll(Array(text.utf8), limits: limits, piece: piece)
}

final class HTTPRequestParserTests: XCTestCase {
    func testSimpleGetFieldsPathAndQuery() {
        let outcome = parseAll("GET /a/b?x=1&y=%41+b HTTP/1.1\r\nHost: example.com\r\nX-Thing:  two words \t\r\n\r\n")
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.requests.count, 1)
        let request = outcome.requests[0]
        XCTAssertEqual(request.method, .get)
        XCTAssertEqual(request.pathString, "/a/b")
        XCTAssertEqual(request.queryString, "x=1&y=%41+b")
        XCTAssertEqual(request.queryParameter("y"), "A b")
        XCTAssertEqual(request.queryParameter("x"), "1")
        XCTAssertNil(request.queryParameter("z"))
        XCTAssertEqual(request.version, .http11)
        XCTAssertTrue(request.keepAlive)
        // RFC 9110 §5.1: names are case-insensitive; RFC 9112 §5.1: OWS trimmed.
        XCTAssertEqual(request.headers["x-thing"], "two words")
        XCTAssertEqual(request.headers["HOST"], "example.com")
        XCTAssertTrue(request.body.isEmpty)
    }

    func testRepeatedFieldsCombineWithComma() {
        let request = parseAll("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\n\r\n").requests.first
        XCTAssertEqual(request?.headers["Accept"], "a, b")
        XCTAssertEqual(request?.headers.indices(of: "ACCEPT").count, 2)
    }

    func testOtherMethodsAndTargetForms() {
        XCTAssertEqual(parseAll("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n").requests.first?.method, .other(Array("BREW".utf8)))
        let absolute = parseAll("GET http://example.com:8080/p/q?z HTTP/1.1\r\nHost: example.com\r\n\r\n").requests.first
        XCTAssertEqual(absolute?.pathString, "/p/q")
        XCTAssertEqual(absolute?.queryString, "z")
        XCTAssertEqual(parseAll("GET HTTP://example.com HTTP/1.1\r\nHost: h\r\n\r\n").requests.first?.pathString, "/")
        XCTAssertEqual(parseAll("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").requests.first?.pathString, "*")
        XCTAssertEqual(parseAll("GET * HTTP/1.1\r\nHost: h\r\n\r\n").error, .invalidTarget)
        XCTAssertEqual(parseAll("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").requests.first?.pathString,
                       "example.com:443")
        XCTAssertEqual(parseAll("GET example.com/x HTTP/1.1\r\nHost: h\r\n\r\n").error, .invalidTarget)
        XCTAssertEqual(parseAll("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n").error, .invalidTarget)
        XCTAssertEqual(parseAll("GET /\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n").error, .invalidTarget)
    }

    func testRequestLineShape() {
        XCTAssertEqual(parseAll("GET  / HTTP/1.1\r\nHost: h\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("GET / HTTP/1.1 \r\nHost: h\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("GET /\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("G(T / HTTP/1.1\r\nHost: h\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("GET / http/1.1\r\nHost: h\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("GET / HTTP/1.10\r\nHost: h\r\n\r\n").error, .malformedRequestLine)
        XCTAssertEqual(parseAll("GET / HTTP/2.0\r\nHost: h\r\n\r\n").error, .unsupportedVersion)
        XCTAssertEqual(HTTPRequestError.unsupportedVersion.status.code, 505)
        XCTAssertEqual(parseAll("GET / HTTP/1.9\r\nHost: h\r\n\r\n").requests.first?.version, HTTPVersion(major: 1, minor: 9))
    }

    func testLineEndings() {
        // RFC 9112 §2.2: this parser requires CRLF; bare LF and bare CR are refused.
        XCTAssertEqual(parseAll("GET / HTTP/1.1\nHost: h\r\n\r\n").error, .malformedLine)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n").error, .malformedLine)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\n\n").error, .malformedLine)
        // Leading empty lines are ignored (a few).
        XCTAssertEqual(parseAll("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").requests.count, 1)
        XCTAssertEqual(parseAll(String(repeating: "\r\n", count: 5) + "GET / HTTP/1.1\r\n").error, .malformedLine)
    }

    func testFieldSyntax() {
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n").error, .malformedField)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\n: y\r\n\r\n").error, .malformedField)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n").error, .malformedField)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX(: y\r\n\r\n").error, .malformedField)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n").error, .malformedField)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}\r\n\r\n").error, .malformedField)
        // obs-text is allowed in values; an empty value too.
        let request = parseAll(Array("GET / HTTP/1.1\r\nHost: h\r\nX: caf\u{E9}\r\nEmpty:\r\n\r\n".utf8)).requests.first
        XCTAssertEqual(request?.headers["x"], "caf\u{E9}")
        XCTAssertEqual(request?.headers["empty"], "")
    }

    func testObsoleteLineFoldingIsRejected() {
        // RFC 9112 §5.2.
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n").error, .obsoleteLineFolding)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n").error, .obsoleteLineFolding)
        XCTAssertEqual(HTTPRequestError.obsoleteLineFolding.status.code, 400)
    }

    func testHostRequiredOnceInHTTP11() {
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\n\r\n").error, .invalidHost)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").error, .invalidHost)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n").error, .invalidHost)
        XCTAssertEqual(parseAll("GET / HTTP/1.0\r\n\r\n").requests.count, 1)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost:\r\n\r\n").requests.count, 1) // empty authority (RFC 9112 §3.2)
    }

    func testKeepAliveRules() {
        // RFC 9112 §9.3.
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\n\r\n").requests.first?.keepAlive, true)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").requests.first?.keepAlive, false)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, close\r\n\r\n").requests.first?.keepAlive, false)
        XCTAssertEqual(parseAll("GET / HTTP/1.0\r\n\r\n").requests.first?.keepAlive, false)
        XCTAssertEqual(parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").requests.first?.keepAlive, true)
        XCTAssertEqual(parseAll("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").requests.first?.keepAlive, false)
    }

    func testContentLength() {
        let request = parseAll("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET").requests.first
        XCTAssertEqual(request?.bodyString, "hello")
        // RFC 9110 §8.6: identical values, in one field or several, are one length.
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc").requests.first?.bodyString, "abc")
        for bad in ["5, 6", "-1", "+5", "0x5", "5 5", "", " , ", "5;"] {
            XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(bad)\r\n\r\nhello").error,
                           .invalidContentLength, "Content-Length: \(bad)")
        }
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").error,
                       .invalidContentLength)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").requests.first?.body, [])
    }

    func testContentLengthOverLimitFailsBeforeTheContent() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"
        let outcome = parseAll(head + "hello world", limits: HTTPLimits(maxBodyBytes: 10))
        XCTAssertEqual(outcome.error, .contentTooLarge)
        XCTAssertEqual(outcome.consumed, head.utf8.count, "no content byte read")
        XCTAssertEqual(HTTPRequestError.contentTooLarge.status.code, 413)
        let huge = parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n")
        XCTAssertEqual(huge.error, .contentTooLarge)
        XCTAssertEqual(parseAll(head + "hello worl", limits: HTTPLimits(maxBodyBytes: 11)).requests.count, 0)
    }

    func testTransferEncodingRules() {
        let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        XCTAssertEqual(parseAll(chunked).requests.first?.bodyString, "abc")
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n").requests.count, 1)
        // RFC 9112 §6.1: an unknown coding before chunked is 501; chunked not last is 400.
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").error,
                       .unsupportedTransferCoding)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n").error,
                       .unsupportedTransferCoding)
        XCTAssertEqual(HTTPRequestError.unsupportedTransferCoding.status.code, 501)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n").error, .invalidTransferEncoding)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").error, .invalidTransferEncoding)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n").error, .invalidTransferEncoding)
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n").error, .invalidTransferEncoding)
        XCTAssertEqual(parseAll("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").error, .invalidTransferEncoding)
        // RFC 9112 §6.3 item 3: both framings is an error here.
        XCTAssertEqual(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").error,
                       .conflictingFraming)
    }

    func testChunkSizesInHex() {
        let body = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "A\r\n0123456789\r\n00b\r\nabcdefghijk\r\n1;name=value;flag\r\nX\r\n0000\r\n\r\n"
        XCTAssertEqual(parseAll(body).requests.first?.bodyString, "0123456789abcdefghijkX")
        let lower = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nf ; ext=\"q;d\"\r\n"
            + String(repeating: "z", count: 15) + "\r\n0\r\n\r\n"
        XCTAssertEqual(parseAll(lower).requests.first?.body.count, 15)
    }

    func testMalformedChunks() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        for (chunks, expected) in [
            ("\r\nabc\r\n0\r\n\r\n", HTTPRequestError.malformedChunk), // empty size
            ("x\r\n", .malformedChunk),
            ("0x3\r\nabc\r\n0\r\n\r\n", .malformedChunk),
            ("-3\r\nabc\r\n", .malformedChunk),
            ("3 \r\nabc\r\n0\r\n\r\n", .malformedChunk), // white space without an extension
            ("3\nabc\r\n", .malformedChunk), // bare LF
            ("3\r\nabcd\r\n", .malformedChunk), // data longer than the size: no CRLF after it
            ("3\r\nabc\n0\r\n\r\n", .malformedChunk), // LF without CR after data
            ("3\r\nabc\rX", .malformedChunk),
            ("3;a\u{1}b\r\nabc\r\n", .malformedChunk), // control byte in an extension
            ("ffffffffffffffffffffffff\r\n", .contentTooLarge), // overflow
            ("100001\r\n", .contentTooLarge), // over the 1 MiB default
            ("3\r\nabc\r\n0\r\nX-T: 1\r\n  folded\r\n\r\n", .obsoleteLineFolding),
        ] {
            XCTAssertEqual(parseAll(head + chunks).error, expected, chunks.debugDescription)
        }
        XCTAssertEqual(parseAll(head + String(repeating: "0", count: 2000) + "1\r\n").error, .malformedChunk, "chunk line limit")
        // The sum of chunks is bounded too.
        let limits = HTTPLimits(maxBodyBytes: 5)
        XCTAssertEqual(parseAll(head + "3\r\nabc\r\n3\r\ndef\r\n", limits: limits).error, .contentTooLarge)
        XCTAssertEqual(parseAll(head + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", limits: limits).requests.first?.bodyString, "abcde")
    }

    func testTrailersAreKeptAndBounded() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
        let request = parseAll(head + "Checksum: abc\r\nX-Other: 1\r\n\r\n").requests.first
        XCTAssertEqual(request?.bodyString, "hi")
        XCTAssertEqual(request?.trailers["checksum"], "abc")
        XCTAssertEqual(request?.trailers.count, 2)
        XCTAssertNil(request?.headers["checksum"])
        let many = (0..<5).map { "T\($0): v\r\n" }.joined()
        XCTAssertEqual(parseAll(head + many + "\r\n", limits: HTTPLimits(maxHeaderCount: 4)).error, .trailerSectionTooLarge)
        let long = "T: " + String(repeating: "v", count: 200) + "\r\n\r\n"
        XCTAssertEqual(parseAll(head + long, limits: HTTPLimits(maxHeaderBytes: 100)).error, .trailerSectionTooLarge)
        XCTAssertEqual(HTTPRequestError.trailerSectionTooLarge.status.code, 431)
    }

    func testRequestLineAndTargetLimits() {
        let limits = HTTPLimits(maxRequestLineBytes: 64, maxTargetBytes: 32)
        let target = "/" + String(repeating: "a", count: 31)
        XCTAssertEqual(parseAll("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits).requests.count, 1)
        XCTAssertEqual(parseAll("GET \(target)b HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits).error, .targetTooLong)
        // Over the line limit while still in the target: 414 without waiting for the line's end.
        let endless = "GET /" + String(repeating: "a", count: 100)
        XCTAssertEqual(parseAll(endless, limits: limits).error, .targetTooLong)
        XCTAssertEqual(parseAll(String(repeating: "M", count: 100), limits: limits).error, .requestLineTooLong)
        XCTAssertEqual(HTTPRequestError.targetTooLong.status.code, 414)
        XCTAssertEqual(HTTPRequestError.requestLineTooLong.status.code, 400)
    }

    func testHeaderSectionLimits() {
        let limits = HTTPLimits(maxHeaderBytes: 64, maxHeaderCount: 3)
        // "Host: h\r\n" (9) + "X: " + 50 + CRLF (55) = 64: exactly at the limit.
        let fits = "GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 50))\r\n\r\n"
        XCTAssertEqual(parseAll(fits, limits: limits).requests.count, 1)
        let over = "GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 51))\r\n\r\n"
        XCTAssertEqual(parseAll(over, limits: limits).error, .headerSectionTooLarge)
        let endless = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 1000)
        XCTAssertEqual(parseAll(endless, limits: limits).error, .headerSectionTooLarge)
        let count = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        XCTAssertEqual(parseAll(count, limits: limits).error, .tooManyFields)
        XCTAssertEqual(HTTPRequestError.headerSectionTooLarge.status.code, 431)
        XCTAssertEqual(HTTPRequestError.tooManyFields.status.code, 431)
    }

    func testExpectations() {
        var parser = HTTPRequestParser()
        let head = Array("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8)
        XCTAssertEqual(head.withUnsafeBytes { parser.consume($0) }, head.count)
        XCTAssertTrue(parser.expectsContinue)
        XCTAssertTrue(parser.isReadingContent)
        let rest = Array("ok".utf8)
        _ = rest.withUnsafeBytes { parser.consume($0) }
        XCTAssertEqual(parser.takeRequest()?.bodyString, "ok")
        XCTAssertFalse(parser.expectsContinue)
        XCTAssertEqual(parseAll("GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n").error, .unsupportedExpectation)
        XCTAssertEqual(HTTPRequestError.unsupportedExpectation.status.code, 417)
    }

    func testPipelinedRequestsStopAtEachEnd() {
        let first = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
        let bytes = Array((first + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\nHost: h\r\n\r\n").utf8)
        var parser = HTTPRequestParser()
        let n = bytes.withUnsafeBytes { parser.consume($0) }
        XCTAssertEqual(n, first.utf8.count)
        XCTAssertTrue(parser.isComplete)
        XCTAssertEqual(bytes.withUnsafeBytes { parser.consume(UnsafeRawBufferPointer(rebasing: $0[n...])) }, 0,
                       "nothing consumed while a request waits")
        let outcome = parseAll(bytes)
        XCTAssertEqual(outcome.requests.map(\.pathString), ["/1", "/2", "/3"])
        XCTAssertEqual(outcome.requests[1].bodyString, "x")
    }

    /// Inputs covering every phase, valid and invalid, used by the split tests below.
    static let corpus: [String] = [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a?b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789HEAD / HTTP/1.0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n",
        "GET /" + String(repeating: "x", count: 5000) + " HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 150) + "\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\rGET",
    ]

    func testByteAtATimeEqualsAllAtOnce() {
        for text in Self.corpus {
            let whole = parseAll(text)
            for piece in [1, 2, 3, 7, 64] {
                XCTAssertEqual(parseAll(text, piece: piece).summary, whole.summary, "piece \(piece): \(text.prefix(40))")
            }
        }
    }

    func testTruncatedInputNeverCompletesWrongly() {
        for text in Self.corpus {
            let bytes = Array(text.utf8)
            let whole = parseAll(bytes)
            for cut in 0...bytes.count {
                let partial = parseAll(Array(bytes[0..<cut]))
                // A prefix yields a prefix of the requests, and an error only if the whole fails the same way.
                XCTAssertLessThanOrEqual(partial.requests.count, whole.requests.count)
                for (a, b) in zip(partial.requests, whole.requests) {
                    XCTAssertEqual(a.target, b.target)
                    XCTAssertEqual(a.body, b.body)
                }
                if let error = partial.error { XCTAssertEqual(error, whole.error) }
            }
        }
    }

    func testRandomInputNeverTraps() {
        var random = SeededRandom(seed: 42)
        let alphabet = Array("GET POST HTTP/1.1 \r\n:;0123456789abcdefABCDEF Host Content-Length Transfer-Encoding chunked \t,\"W/".utf8)
        for _ in 0..<3000 {
            let length = random.below(300)
            var bytes: [UInt8] = []
            let textual = random.below(2) == 0
            for _ in 0..<length {
                bytes.append(textual ? alphabet[random.below(alphabet.count)] : UInt8(truncatingIfNeeded: random.next()))
            }
            if random.below(3) == 0 { bytes = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + bytes }
            let limits = HTTPLimits(maxRequestLineBytes: 64, maxTargetBytes: 32, maxHeaderBytes: 128,
                                    maxHeaderCount: 4, maxBodyBytes: 64, maxChunkLineBytes: 16)
            let whole = parseAll(bytes, limits: limits)
            let split = parseAll(bytes, limits: limits, piece: 1 + random.below(9))
            XCTAssertEqual(whole.summary, split.summary)
            for request in whole.requests {
                XCTAssertLessThanOrEqual(request.body.count, 64)
                XCTAssertLessThanOrEqual(request.headers.count, 4)
            }
        }
    }
}
