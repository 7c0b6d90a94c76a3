import SkiffPlatform
import SkiffStack
import XCTest
@testable import SkiffServices

/// A producer over fixed content for the tests: offers at most `piece` bytes per call, and can
/// fail or end early at a given position. Records what the server asked for.
final class TestProducer: HTTPBodyProducer {
    let content: [UInt8]
    let announced: Int?
    var piece: Int
    var failAt: Int? = nil
    var endAt: Int? = nil
    private(set) var position = 0
    private(set) var calls = 0
    private(set) var largestLimit = 0

    init(_ content: [UInt8], announced: Int?, piece: Int = Int.max) {
        self.content = content
        self.announced = announced
        self.piece = piece
    }

    var length: Int? { announced }

    func produce(limit: Int, into body: (UnsafeRawBufferPointer) -> Int) -> HTTPBodyProduction {
        calls += 1
        largestLimit = max(largestLimit, limit)
        XCTAssertGreaterThan(limit, 0, "the server asks for at least one byte")
        if let failAt, position >= failAt { return .failed }
        let end = min(content.count, endAt ?? content.count)
        guard position < end else { return .end }
        let n = min(limit, piece, end - position)
        let start = position
        let taken = content.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
        XCTAssertTrue(taken >= 0 && taken <= n)
        position += taken
        return .offered
    }
}

/// A producer of a body of any length that keeps no content: byte i is UInt8(i % 251).
final class CountingProducer: HTTPBodyProducer {
    let total: Int
    let announce: Bool
    private var window = [UInt8](repeating: 0, count: 4096)
    private(set) var position = 0
    private(set) var largestLimit = 0

    init(total: Int, announce: Bool) {
        self.total = total
        self.announce = announce
    }

    var length: Int? { announce ? total : nil }

    func produce(limit: Int, into body: (UnsafeRawBufferPointer) -> Int) -> HTTPBodyProduction {
        largestLimit = max(largestLimit, limit)
        guard position < total else { return .end }
        let n = min(limit, window.count, total - position)
        for i in 0..<n { window[i] = UInt8((position + i) % 251) }
        position += window.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        return .offered
    }
}

final class HTTPStreamingTests: XCTestCase {
    private func content(_ count: Int) -> [UInt8] {
        var random = SeededRandom(seed: UInt64(count))
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    private func harness(_ producer: @escaping () -> HTTPBodyProducer,
                         configuration: HTTPServerConfiguration = HTTPServerConfiguration()) -> HTTPHarness {
        let router = HTTPRouter()
        router.get("/stream") { _ in HTTPResponse(status: .ok, body: .stream(producer())) }
        router.get("/small") { _ in .text("small") }
        return HTTPHarness(configuration: configuration, router: router)
    }

    func testKnownLengthIsSentWithContentLength() {
        let bytes = content(200_000)
        let producer = TestProducer(bytes, announced: bytes.count, piece: 7_000)
        let h = harness { producer }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.count, 1)
        XCTAssertEqual(responses[0].header("Content-Length"), "200000")
        XCTAssertNil(responses[0].header("Transfer-Encoding"))
        XCTAssertEqual(responses[0].body, bytes)
        XCTAssertEqual(h.server.statistics.streamedResponses, 1)
        XCTAssertFalse(stream.didShutdownWrite, "the connection stays open (keep-alive)")
    }

    func testUnknownLengthIsChunkedForHTTP11AndTheConnectionPersists() {
        let bytes = content(100_000)
        let producer = TestProducer(bytes, announced: nil, piece: 30_000)
        let h = harness { producer }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        stream.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.status), [200, 200])
        XCTAssertEqual(responses[0].header("Transfer-Encoding"), "chunked")
        XCTAssertNil(responses[0].header("Content-Length"))
        XCTAssertEqual(responses[0].body, bytes)
        // RFC 9112 §7.1: every chunk non-empty; none larger than the server's chunk size.
        XCTAssertTrue(responses[0].chunkSizes.allSatisfy { $0 > 0 && $0 <= OutboundQueue.maxChunk }, "\(responses[0].chunkSizes)")
        XCTAssertEqual(responses[1].bodyText, "small")
    }

    func testUnknownLengthToHTTP10IsCloseDelimited() {
        let bytes = content(50_000)
        let producer = TestProducer(bytes, announced: nil)
        let h = harness { producer }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        h.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.count, 1)
        XCTAssertNil(responses[0].header("Content-Length"))
        XCTAssertNil(responses[0].header("Transfer-Encoding"), "RFC 9112 §6.1: no chunked to HTTP/1.0")
        XCTAssertEqual(responses[0].header("Connection"), "close")
        XCTAssertEqual(responses[0].body, bytes)
        XCTAssertTrue(stream.didShutdownWrite, "the body ends when the connection does")
    }

    func testEmptyBodies() {
        var producers = [TestProducer([], announced: 0), TestProducer([], announced: nil)]
        let h = harness { producers.removeFirst() }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        h.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses[0].header("Content-Length"), "0")
        XCTAssertEqual(responses[1].header("Transfer-Encoding"), "chunked")
        XCTAssertEqual(responses[1].body, [])
        XCTAssertTrue(stream.outputText.hasSuffix("\r\n\r\n0\r\n\r\n"), "a chunked empty body is the last-chunk alone")
    }

    func testHEADNeverAsksTheProducer() {
        let producer = TestProducer(content(1000), announced: 1000)
        let chunked = TestProducer(content(1000), announced: nil)
        var next = [producer, chunked]
        let h = harness { next.removeFirst() }
        let stream = h.connect()
        stream.send("HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        let responses = parseResponses(stream.output, noBody: [0, 1])
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses[0].header("Content-Length"), "1000")
        XCTAssertEqual(responses[1].header("Transfer-Encoding"), "chunked")
        XCTAssertEqual(producer.calls + chunked.calls, 0)
    }

    func testBackpressureAsksOnlyForWhatTheSendBufferTakes() {
        let bytes = content(300_000)
        let producer = TestProducer(bytes, announced: bytes.count)
        let h = harness { producer }
        let stream = h.connect()
        stream.sendRoom = 4096
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        XCTAssertEqual(stream.output.count, 4096, "the head and the first body bytes, up to the room")
        var steps = 0
        while producer.position < bytes.count && steps < 1000 {
            let before = stream.output.count
            stream.sendRoom = 4096
            h.run()
            XCTAssertLessThanOrEqual(stream.output.count - before, 4096)
            steps += 1
        }
        XCTAssertLessThanOrEqual(producer.largestLimit, 4096)
        stream.sendRoom = Int.max
        h.run()
        XCTAssertEqual(parseResponses(stream.output).first?.body, bytes)
    }

    func testChunkedFramingSurvivesShortWrites() {
        // Writes take at most 5 bytes although the buffer claims more room: chunk-size lines and
        // data are split anywhere, and what a write left over must go out first, in order.
        let bytes = content(20_000)
        let producer = TestProducer(bytes, announced: nil, piece: 3_000)
        let h = harness { producer }
        let stream = h.connect()
        stream.writeLimit = 5
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n")
        for _ in 0..<20_000 where !stream.output.suffix(5).elementsEqual("small".utf8) { h.run() }
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.status), [200, 200])
        XCTAssertEqual(responses[0].body, bytes)
        XCTAssertEqual(responses[0].chunkSizes.reduce(0, +), bytes.count)
        XCTAssertEqual(responses[1].bodyText, "small")
    }

    func testMemoryStaysBoundedWhateverTheLength() {
        // A terabyte announced: the server holds no more than a chunk at a time, asks for no more
        // than the room, and keeps sending as room appears.
        for announce in [true, false] {
            let producer = CountingProducer(total: 1 << 40, announce: announce)
            let h = harness({ producer }, configuration: HTTPServerConfiguration(sendTimeout: .seconds(3600)))
            let stream = h.connect()
            stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
            stream.sendRoom = 65_536
            h.run()
            stream.output.removeAll()
            for _ in 0..<64 {
                stream.sendRoom = 65_536
                h.advance(.milliseconds(1))
                // Every step fills the room (a chunk needs room for its framing besides the data).
                XCTAssertLessThanOrEqual(stream.output.count, 65_536)
                XCTAssertGreaterThanOrEqual(stream.output.count, 65_536 - OutboundQueue.chunkOverhead)
                stream.output.removeAll()
            }
            XCTAssertLessThanOrEqual(producer.largestLimit, 65_536)
            XCTAssertGreaterThan(producer.position, 4_000_000)
            XCTAssertEqual(h.server.openConnections, 1)
        }
    }

    func testAFailingProducerAbortsTheConnection() {
        for announced in [Optional(100_000), nil] {
            let producer = TestProducer(content(100_000), announced: announced, piece: 1000)
            producer.failAt = 10_000
            let h = harness { producer }
            let stream = h.connect()
            stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
            h.run()
            XCTAssertTrue(stream.didAbort, "the peer must see an incomplete response")
            XCTAssertEqual(h.server.statistics.bodyFailures, 1)
            XCTAssertFalse(stream.outputText.hasSuffix("0\r\n\r\n"), "no last-chunk after a failure")
            XCTAssertTrue(h.logLines.contains { $0.contains("streamed body failed") }, "\(h.logLines)")
        }
    }

    func testAProducerEndingBeforeItsLengthAbortsTheConnection() {
        let producer = TestProducer(content(5_000), announced: 5_000)
        producer.endAt = 4_000
        let h = harness { producer }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        XCTAssertTrue(stream.didAbort)
        XCTAssertEqual(h.server.statistics.bodyFailures, 1)
    }

    func testAProducerOfferingMoreThanItsLengthIsCut() {
        let bytes = content(5_000)
        let producer = TestProducer(bytes, announced: 3_000)
        let h = harness { producer }
        let stream = h.connect()
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.status), [200, 200])
        XCTAssertEqual(responses[0].body, Array(bytes[0..<3000]))
        XCTAssertEqual(responses[1].bodyText, "small")
    }

    func testPipelinedRequestsWaitForTheStreamAndAreAnsweredInOrder() {
        let bytes = content(150_000)
        let producer = TestProducer(bytes, announced: nil, piece: 10_000)
        let h = harness { producer }
        let stream = h.connect()
        stream.sendRoom = 20_000
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        XCTAssertFalse(stream.inbound.isEmpty, "the second request waits in the receive buffer while the body streams")
        for _ in 0..<100 where !stream.outputText.hasSuffix("small") {
            stream.sendRoom = 20_000
            h.run()
        }
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.status), [200, 200])
        XCTAssertEqual(responses[0].body, bytes)
        XCTAssertEqual(responses[1].bodyText, "small")
    }

    func testAStalledStreamHitsTheSendTimeout() {
        let producer = TestProducer(content(100_000), announced: 100_000)
        let h = harness({ producer }, configuration: HTTPServerConfiguration(sendTimeout: .seconds(5)))
        let stream = h.connect()
        stream.sendRoom = 1000
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        h.advance(.seconds(4))
        XCTAssertFalse(stream.didAbort)
        h.advance(.seconds(2))
        XCTAssertTrue(stream.didAbort)
        XCTAssertEqual(h.server.statistics.sendTimeouts, 1)
    }

    func testClosingTheServerFinishesTheBodyFirst() {
        let bytes = content(80_000)
        let producer = TestProducer(bytes, announced: bytes.count)
        let h = harness { producer }
        let stream = h.connect()
        stream.sendRoom = 10_000
        stream.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        h.run()
        h.server.close()
        for _ in 0..<20 {
            stream.sendRoom = 10_000
            h.run()
        }
        XCTAssertEqual(parseResponses(stream.output).first?.body, bytes)
        XCTAssertTrue(stream.didShutdownWrite)
    }

    func testChunkSizeLinesAreLowerCaseHex() {
        var out: [UInt8] = []
        for value in [1, 9, 10, 15, 16, 255, 4096, 16_384, 0x1234_abcd] {
            out.removeAll()
            httpAppendHex(value, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(value, radix: 16))
        }
    }
}
