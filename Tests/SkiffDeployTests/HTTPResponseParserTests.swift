import XCTest
@testable import SkiffDeploy

final class HTTPResponseParserTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Feeds everything at once, then byte by byte, then split at every boundary; all must agree.
    private func parseEverySplit(_ text: String, head: Bool = false, limits: HTTPResponseParser.Limits = .init(), file: StaticString = #filePath, line: UInt = #line) throws -> HTTPResponse {
        let input = bytes(text)
        var whole = HTTPResponseParser(requestWasHEAD: head, limits: limits)
        guard let expected = try whole.feed(input) else {
            XCTFail("incomplete response", file: file, line: line)
            throw HTTPParseError("incomplete")
        }
        for split in 0...input.count {
            var parser = HTTPResponseParser(requestWasHEAD: head, limits: limits)
            let first = try parser.feed(input[0..<split])
            let second = try parser.feed(input[split...])
            guard let response = first ?? second else {
                XCTFail("incomplete after split at \(split)", file: file, line: line)
                continue
            }
            XCTAssertEqual(response.status, expected.status, file: file, line: line)
            XCTAssertEqual(response.body, expected.body, "split at \(split)", file: file, line: line)
            XCTAssertEqual(response.headers.map { "\($0.name): \($0.value)" }, expected.headers.map { "\($0.name): \($0.value)" }, file: file, line: line)
        }
        var byteByByte = HTTPResponseParser(requestWasHEAD: head, limits: limits)
        var result: HTTPResponse?
        for (index, byte) in input.enumerated() {
            let got = try byteByByte.feed([byte])
            if got != nil {
                XCTAssertEqual(index, input.count - 1, "complete before the last byte", file: file, line: line)
                result = got
            }
        }
        XCTAssertEqual(result?.body, expected.body, file: file, line: line)
        return expected
    }

    private func assertFails(_ text: String, head: Bool = false, limits: HTTPResponseParser.Limits = .init(), contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        var parser = HTTPResponseParser(requestWasHEAD: head, limits: limits)
        do {
            _ = try parser.feed(bytes(text))
            _ = try parser.finish()
            XCTFail("parsed: \(text.debugDescription)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.message.contains(fragment), "\(error.message) lacks \(fragment)", file: file, line: line)
        }
    }

    func testContentLengthBodyHeadersCaseInsensitiveAndRepeated() throws {
        let response = try parseEverySplit("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.reason, "OK")
        XCTAssertEqual(response.body, bytes("hello"))
        XCTAssertEqual(response.header("content-type"), "text/xml")
        XCTAssertEqual(response.headers(named: "SET-COOKIE"), ["a=1", "b=2"])
        XCTAssertNil(response.header("X-Missing"))
    }

    func testKeepAliveAfterCompleteResponseAndNotAfterConnectionClose() throws {
        var parser = HTTPResponseParser()
        XCTAssertNotNil(try parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")))
        XCTAssertTrue(parser.connectionReusable)
        var closing = HTTPResponseParser()
        XCTAssertNotNil(try closing.feed(bytes("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")))
        XCTAssertFalse(closing.connectionReusable)
        var old = HTTPResponseParser()
        XCTAssertNotNil(try old.feed(bytes("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")))
        XCTAssertFalse(old.connectionReusable)
        var extra = HTTPResponseParser()
        XCTAssertNotNil(try extra.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy")))
        XCTAssertFalse(extra.connectionReusable, "bytes after the response")
    }

    func testChunkedWithExtensionsAndTrailers() throws {
        let response = try parseEverySplit("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA ; x=\"y\"\r\n, world!!!\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "hello, world!!!")
        XCTAssertNil(response.header("X-Checksum"), "trailers are not header fields")
    }

    func testHEADAnd204And304HaveNoBody() throws {
        var head = HTTPResponseParser(requestWasHEAD: true)
        let response = try head.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))
        XCTAssertEqual(response?.body, [])
        XCTAssertTrue(head.connectionReusable)
        var noContent = HTTPResponseParser()
        XCTAssertEqual(try noContent.feed(bytes("HTTP/1.1 204 No Content\r\n\r\n"))?.status, 204)
        var notModified = HTTPResponseParser()
        XCTAssertEqual(try notModified.feed(bytes("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"))?.body, [])
    }

    func testInterimResponsesAreSkipped() throws {
        var parser = HTTPResponseParser()
        let response = try parser.feed(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"))
        XCTAssertEqual(response?.status, 201)
        XCTAssertEqual(response?.body, bytes("ok"))
        XCTAssertNil(response?.header("Link"))
        XCTAssertEqual(parser.interimResponses, 2)
    }

    /// Each 1xx has its own header budget, so without a count a server sending 102 Processing
    /// forever would keep the client reading forever (never silent long enough to time out).
    func testAFloodOfInterimResponsesIsAnError() throws {
        let interim = "HTTP/1.1 102 Processing\r\n\r\n"
        var parser = HTTPResponseParser()
        var fed = 0
        var failure: HTTPParseError?
        while fed < 10_000, failure == nil {
            do throws(HTTPParseError) {
                let response = try parser.feed(bytes(interim))
                XCTAssertNil(response)
                fed += 1
            } catch {
                failure = error
            }
        }
        XCTAssertEqual(failure?.message, "more than 10 interim (1xx) responses before the final one")
        XCTAssertEqual(fed, 10, "the 11th is refused")
        // The limit is the caller's; ten are still fine with the default (see also the header test).
        var limited = HTTPResponseParser(limits: .init(maxInterimResponses: 1))
        assertFails(interim + interim + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", limits: .init(maxInterimResponses: 1), contains: "more than 1 interim")
        XCTAssertEqual(try limited.feed(bytes(interim + "HTTP/1.1 204 No Content\r\n\r\n"))?.status, 204)
    }

    func testBodyDelimitedByTheCloseAndMissingReason() throws {
        var parser = HTTPResponseParser()
        XCTAssertNil(try parser.feed(bytes("HTTP/1.1 500\r\n\r\nsome ")))
        XCTAssertNil(try parser.feed(bytes("text")))
        let response = try parser.finish()
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(response.reason, "")
        XCTAssertEqual(response.body, bytes("some text"))
        XCTAssertFalse(parser.connectionReusable)
    }

    func testTruncatedResponsesAreErrors() {
        assertFails("", contains: "without a response")
        assertFails("HTTP/1.1 200 OK\r\nContent-Le", contains: "middle of the response header")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", contains: "7 bytes before the end")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", contains: "before the last chunk")
    }

    func testMalformedStatusLines() {
        for line in ["HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "http/1.1 200 OK", "ICY 200 OK", "HTTP/1.1  200 OK", "HTTP/1.1 099 Low", "\u{0}\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}\u{10}\u{11}\u{12}"] {
            assertFails(line + "\r\nContent-Length: 0\r\n\r\n", contains: line.hasSuffix("Low") ? "not a valid HTTP status" : "status line")
        }
    }

    func testMalformedHeadersAndChunkSizes() {
        assertFails("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", contains: "without a colon")
        assertFails("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", contains: "not a header field name")
        assertFails("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", contains: "not a header field name")
        assertFails("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", contains: "folding")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", contains: "Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", contains: "Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", contains: "Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", contains: "Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", contains: "not a chunk size")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", contains: "not a chunk size")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n", contains: "not a chunk size")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n", contains: "too large")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", contains: "longer than its size")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n", contains: "transfer coding")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz", contains: "transfer coding gzip")
        assertFails("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", contains: "transfer coding")
        assertFails("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", contains: "switched protocols")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nbad trailer\r\n\r\n", contains: "without a colon")
    }

    func testOversizedHeaderIsAnErrorEvenWithoutANewline() {
        let limits = HTTPResponseParser.Limits(maxHeaderBytes: 1024, maxBodyBytes: 1 << 20)
        let big = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 100) + "\r\n"
        assertFails(big, limits: limits, contains: "larger than 1024 bytes")
        var parser = HTTPResponseParser(limits: limits)
        XCTAssertThrowsError(try parser.feed(Array(repeating: UInt8(ascii: "a"), count: 2000)))
        // Interim responses count on their own; many 100s do not add up.
        let interim = String(repeating: "HTTP/1.1 100 Continue\r\nX-Filler: " + String(repeating: "y", count: 500) + "\r\n\r\n", count: 10)
        var many = HTTPResponseParser(limits: limits)
        XCTAssertEqual(try many.feed(bytes(interim + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))?.status, 200)
    }

    func testBodyOverTheLimitIsAnErrorForEveryFraming() {
        let limits = HTTPResponseParser.Limits(maxBodyBytes: 10)
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits: limits, contains: "larger than 10 bytes")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", limits: limits, contains: "larger than 10 bytes")
        assertFails("HTTP/1.1 200 OK\r\n\r\n0123456789A", limits: limits, contains: "larger than 10 bytes")
        var exact = HTTPResponseParser(limits: limits)
        XCTAssertEqual(try exact.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"))?.body.count, 10)
    }

    func testRandomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let prefixes = ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"]
        for round in 0..<2000 {
            var input = bytes(prefixes[round % prefixes.count])
            let alphabet = bytes("0123456789abcdefABCDEF:; \r\n\t\u{0}HTTP/1.")
            for _ in 0..<Int.random(in: 0..<200, using: &generator) {
                input.append(Bool.random(using: &generator) ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator))
            }
            var parser = HTTPResponseParser(limits: .init(maxHeaderBytes: 128, maxBodyBytes: 64))
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + Int.random(in: 1...16, using: &generator))
                // Feeding on after an error must not trap either.
                _ = try? parser.feed(input[offset..<end])
                offset = end
            }
            _ = try? parser.finish()
        }
    }
}
