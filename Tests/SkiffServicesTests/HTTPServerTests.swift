import SkiffPlatform
import SkiffWire
import SkiffStack
import SkiffServices
import XCTest

/// A small application: a JSON endpoint, an echo, and a static site.
private func makeRouter() -> HTTPRouter {
    var assets = StaticAssets()
    assets.add(path: "/index.html", text: "<h1>home</h1>")
    assets.add(path: "/docs/index.html", text: "<h1>docs</h1>")
    assets.add(path: "/app.js", bytes: Array("console.log(1)".utf8))
    let router = HTTPRouter()
    router.get("/api/status") { _ in .json("{\"ok\":true}") }
    router.post("/echo") { request in
        var response = HTTPResponse(body: .bytes(request.body))
        response.headers.add("Content-Type", "application/octet-stream")
        return response
    }
    router.get("/close") { _ in HTTPResponse(body: .text("bye"), closeConnection: true) }
    router.serve(assets)
    return router
}

final class HTTPServerTests: XCTestCase {
    func testGetAnswersWithExactBytes() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertEqual(client.outputText,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
        XCTAssertFalse(client.didShutdownWrite, "HTTP/1.1 persists by default")
        XCTAssertEqual(harness.server.statistics.requests, 1)
        XCTAssertEqual(harness.server.statistics.responses(class: 2), 1)
        XCTAssertEqual(harness.server.openConnections, 1)
    }

    func testPipelinedRequestsAreAnsweredInOrder() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /app.js HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nping"
                    + "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\npo\r\n2\r\nng\r\n0\r\n\r\n"
                    + "GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.map(\.status), [200, 200, 404, 200, 200])
        XCTAssertEqual(responses.map(\.bodyText), ["console.log(1)", "ping", "404 Not Found\n", "pong", "{\"ok\":true}"])
        XCTAssertEqual(responses[0].header("Content-Type"), "text/javascript; charset=utf-8")
    }

    func testByteAtATimeDeliveryEqualsAllAtOnce() {
        let input = "GET / HTTP/1.1\r\nHost: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "HEAD /app.js HTTP/1.1\r\nHost: h\r\n\r\nGET /close HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
        func serve(piece: Int, room: Int?) -> [UInt8] {
            let harness = HTTPHarness(router: makeRouter())
            let client = harness.connect()
            client.readPiece = piece
            client.send(input)
            for _ in 0..<2000 {
                if let room { client.sendRoom = room }
                harness.server.step(now: harness.now)
            }
            XCTAssertTrue(client.didShutdownWrite)
            return client.output
        }
        let whole = serve(piece: Int.max, room: nil)
        XCTAssertEqual(parseResponses(whole, noBody: [2]).map(\.status), [200, 200, 200, 200])
        XCTAssertEqual(serve(piece: 1, room: nil), whole)
        XCTAssertEqual(serve(piece: 5, room: 3), whole, "partial reads and writes")
    }

    func testBackpressureKeepsTheRestForLaterSteps() {
        var site = StaticAssets()
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        site.add(path: "/big.bin", bytes: big)
        let router = HTTPRouter()
        router.serve(site)
        let harness = HTTPHarness(router: router)
        let client = harness.connect()
        client.sendRoom = 0
        client.send("GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertTrue(client.output.isEmpty)
        var steps = 0
        while steps < 1000 {
            client.sendRoom = 1460
            let before = client.output.count
            harness.server.step(now: harness.now)
            if client.output.count == before { break }
            steps += 1
        }
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.count, 2)
        XCTAssertEqual(responses.first?.body, big)
        XCTAssertEqual(responses.last?.body, big)
        XCTAssertGreaterThan(steps, 100)
    }

    func testConnectionCloseAndGracefulShutdown() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.count, 1, "nothing after close is answered (RFC 9112 §9.6)")
        XCTAssertEqual(responses.first?.header("Connection"), "close")
        XCTAssertTrue(client.didShutdownWrite)
        XCTAssertFalse(client.didClose, "lingers for the peer's FIN")
        client.peerFinished = true
        harness.run()
        XCTAssertTrue(client.didClose)
        XCTAssertFalse(client.didAbort)
        XCTAssertEqual(harness.server.openConnections, 0)
        XCTAssertEqual(harness.server.statistics.closed, 1)
    }

    func testLingeringHasAHardCap() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /close HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertTrue(client.didShutdownWrite)
        client.send("garbage the peer keeps sending")
        harness.advance(.seconds(1))
        XCTAssertFalse(client.didClose)
        XCTAssertTrue(client.inbound.isEmpty, "drained while lingering")
        harness.advance(.seconds(1))
        XCTAssertTrue(client.didClose)
        XCTAssertEqual(harness.server.statistics.lingerTimeouts, 1)
    }

    func testHTTP10ClosesUnlessKeepAlive() {
        let harness = HTTPHarness(router: makeRouter())
        let plain = harness.connect(port: 1)
        plain.send("GET /api/status HTTP/1.0\r\n\r\n")
        let kept = harness.connect(port: 2)
        kept.send("GET /api/status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        harness.run()
        XCTAssertEqual(parseResponses(plain.output).first?.header("Connection"), "close")
        XCTAssertTrue(plain.didShutdownWrite)
        XCTAssertEqual(parseResponses(kept.output).first?.header("Connection"), "keep-alive")
        XCTAssertFalse(kept.didShutdownWrite)
    }

    func testHeadSendsLengthWithoutBody() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("HEAD /api/status HTTP/1.1\r\nHost: h\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertEqual(client.outputText,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
                       + "HTTP/1.1 200 OK\r\nETag: \(etag("<h1>home</h1>"))\r\n"
                       + "Content-Type: text/html; charset=utf-8\r\nContent-Length: 13\r\n\r\n")
    }

    func testNotFoundAndMethodNotAllowed() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("DELETE /api/status HTTP/1.1\r\nHost: h\r\n\r\nGET /echo HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /nope.txt HTTP/1.1\r\nHost: h\r\n\r\nPOST /index.html HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        harness.run()
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.map(\.status), [405, 405, 404, 405])
        XCTAssertEqual(responses[0].header("Allow"), "GET, HEAD")
        XCTAssertEqual(responses[1].header("Allow"), "POST")
        XCTAssertEqual(responses[3].header("Allow"), "GET, HEAD")
        XCTAssertFalse(client.didShutdownWrite, "404/405 keep the connection")
    }

    func testIfNoneMatchGives304() {
        let tag = etag("<h1>home</h1>")
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        for condition in [tag, "\"x\", \(tag)", "W/\(tag)", "*", " \"a,b\" ,W/\(tag)"] {
            client.send("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \(condition)\r\n\r\n")
        }
        for condition in ["\"other\"", "W/\"other\", \"x\"", "garbage \(tag)", "\(tag.dropLast())"] {
            client.send("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \(condition)\r\n\r\n")
        }
        client.send("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\nIf-None-Match: \(tag)\r\n\r\n")
        harness.run()
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.map(\.status), [304, 304, 304, 304, 304, 200, 200, 200, 200, 304])
        XCTAssertEqual(responses[0].header("ETag"), tag)
        XCTAssertNil(responses[0].header("Content-Length"))
        XCTAssertEqual(responses[5].header("ETag"), tag)
        XCTAssertEqual(responses[5].bodyText, "<h1>home</h1>")
    }

    func testStaticIndexAndDirectoryRedirect() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /docs/ HTTP/1.1\r\nHost: h\r\n\r\nGET /docs?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /%64ocs/index.html HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /bad%zz HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        let responses = parseResponses(client.output)
        XCTAssertEqual(responses.map(\.status), [200, 301, 200, 404])
        XCTAssertEqual(responses[0].bodyText, "<h1>docs</h1>")
        XCTAssertEqual(responses[1].header("Location"), "/docs/?x=1")
        XCTAssertEqual(responses[2].bodyText, "<h1>docs</h1>")
    }

    func testEveryLimitHasItsStatusAndCloses() {
        let limits = HTTPLimits(maxRequestLineBytes: 100, maxTargetBytes: 50, maxHeaderBytes: 100, maxHeaderCount: 3,
                                maxBodyBytes: 10, maxChunkLineBytes: 20)
        let cases: [(String, Int, HTTPRequestError)] = [
            ("GET /" + String(repeating: "a", count: 60) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, .targetTooLong),
            (String(repeating: "M", count: 101), 400, .requestLineTooLong),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 100) + "\r\n\r\n", 431, .headerSectionTooLarge),
            ("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 1\r\nC: 1\r\n\r\n", 431, .tooManyFields),
            ("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413, .contentTooLarge),
            ("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n", 413, .contentTooLarge),
            ("GET / HTTP/1.1\r\n\r\n", 400, .invalidHost),
            ("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, .unsupportedTransferCoding),
            ("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, .conflictingFraming),
            ("GET / HTTP/3.0\r\n\r\n", 505, .unsupportedVersion),
        ]
        for (input, status, kind) in cases {
            let harness = HTTPHarness(configuration: HTTPServerConfiguration(limits: limits), router: makeRouter())
            let client = harness.connect()
            client.send(input)
            harness.run()
            let responses = parseResponses(client.output)
            XCTAssertEqual(responses.map(\.status), [status], input)
            XCTAssertEqual(responses.first?.header("Connection"), "close", input)
            XCTAssertTrue(client.didShutdownWrite, input)
            XCTAssertEqual(harness.server.statistics.errors(kind), 1, input)
            XCTAssertEqual(harness.logLines.count, 1, input)
        }
    }

    func testContentTooLargeIsAnsweredBeforeTheContentArrives() {
        let harness = HTTPHarness(configuration: HTTPServerConfiguration(limits: HTTPLimits(maxBodyBytes: 1000)),
                                  router: makeRouter())
        let client = harness.connect()
        client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n")
        harness.run()
        XCTAssertEqual(parseResponses(client.output).map(\.status), [413])
        XCTAssertTrue(client.didShutdownWrite)
    }

    func testExpectContinue() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        harness.run()
        XCTAssertEqual(client.outputText, "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("hi")
        harness.run()
        XCTAssertEqual(parseResponses(client.output).map(\.status), [100, 200])
        XCTAssertEqual(parseResponses(client.output).last?.bodyText, "hi")
    }

    func testSlowClientDoesNotBlockAnother() {
        let harness = HTTPHarness(router: makeRouter())
        let slow = harness.connect(port: 1)
        slow.send("GET /api/st")
        let stuck = harness.connect(port: 2)
        stuck.sendRoom = 0
        stuck.send("GET /app.js HTTP/1.1\r\nHost: h\r\n\r\n")
        let fast = harness.connect(port: 3)
        fast.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertEqual(parseResponses(fast.output).map(\.status), [200])
        XCTAssertTrue(slow.output.isEmpty)
        XCTAssertTrue(stuck.output.isEmpty)
        slow.send("atus HTTP/1.1\r\nHost: h\r\n\r\n")
        stuck.sendRoom = 1000
        harness.run()
        XCTAssertEqual(parseResponses(slow.output).map(\.status), [200])
        XCTAssertEqual(parseResponses(stuck.output).map(\.status), [200])
    }

    func testRequestTimeoutSends408ThenCloses() {
        let configuration = HTTPServerConfiguration(idleTimeout: .seconds(30), requestTimeout: .seconds(5))
        let harness = HTTPHarness(configuration: configuration, router: makeRouter())
        let client = harness.connect()
        client.send("GET / HTTP/1.1\r\nHo")
        let deadline = harness.run()
        XCTAssertEqual(deadline, harness.now + .seconds(5))
        harness.advance(.seconds(4))
        client.send("s") // dribbling does not extend the request's time
        harness.advance(.seconds(1))
        XCTAssertEqual(parseResponses(client.output).map(\.status), [408])
        XCTAssertEqual(parseResponses(client.output).first?.header("Connection"), "close")
        XCTAssertTrue(client.didShutdownWrite)
        XCTAssertEqual(harness.server.statistics.requestTimeouts, 1)
    }

    func testIdleTimeoutClosesWithoutAResponse() {
        let configuration = HTTPServerConfiguration(idleTimeout: .seconds(10))
        let harness = HTTPHarness(configuration: configuration, router: makeRouter())
        let client = harness.connect()
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(harness.run(), harness.now + .seconds(10))
        let answered = client.output.count
        harness.advance(.seconds(10))
        XCTAssertEqual(client.output.count, answered)
        XCTAssertTrue(client.didShutdownWrite)
        XCTAssertEqual(harness.server.statistics.idleTimeouts, 1)
        client.peerFinished = true
        harness.run()
        XCTAssertTrue(client.didClose)
    }

    func testSendTimeoutAbortsAPeerThatDoesNotRead() {
        let configuration = HTTPServerConfiguration(sendTimeout: .seconds(3))
        let harness = HTTPHarness(configuration: configuration, router: makeRouter())
        let client = harness.connect()
        client.sendRoom = 0
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        harness.advance(.seconds(3))
        XCTAssertTrue(client.didAbort)
        XCTAssertEqual(harness.server.statistics.sendTimeouts, 1)
        XCTAssertEqual(harness.server.openConnections, 0)
    }

    func testConnectionLimit() {
        let harness = HTTPHarness(configuration: HTTPServerConfiguration(maxConnections: 2), router: makeRouter())
        let a = harness.connect(port: 1)
        harness.connect(port: 2)
        let c = harness.connect(port: 3)
        c.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertEqual(harness.server.openConnections, 2)
        XCTAssertEqual(harness.listener.backlog.count, 1)
        XCTAssertTrue(c.output.isEmpty)
        a.peerFinished = true
        harness.run()
        harness.run()
        XCTAssertEqual(parseResponses(c.output).map(\.status), [200])
    }

    func testResetAndRefusedWritesDropTheConnection() {
        let harness = HTTPHarness(router: makeRouter())
        let reset = harness.connect(port: 1)
        reset.send("GET /api/st")
        harness.run()
        reset.resetPending = true
        harness.run()
        XCTAssertEqual(harness.server.statistics.resets, 1)
        XCTAssertEqual(harness.server.openConnections, 0)
        XCTAssertFalse(reset.didAbort, "a reset connection is not aborted again")
    }

    func testPeerFinishAfterPipelinedRequestsStillAnswers() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\nGET /app.js HTTP/1.1\r\nHost: h\r\n\r\nGET /x")
        client.peerFinished = true
        harness.run()
        XCTAssertEqual(parseResponses(client.output).map(\.status), [200, 200])
        XCTAssertTrue(client.didClose)
        XCTAssertEqual(harness.server.statistics.incompleteRequests, 1)
    }

    func testHandlerFieldsCannotBreakFraming() {
        let harness = HTTPHarness { _ in
            var headers = HTTPHeaders()
            headers.add("Content-Length", "999")
            headers.add("Transfer-Encoding", "chunked")
            headers.add("X-Bad", "a\r\nInjected: yes")
            headers.add("Bad Name", "x")
            headers.add("X-Good", "fine")
            return HTTPResponse(status: .created, headers: headers, body: .text("ok"))
        }
        let client = harness.connect()
        client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        XCTAssertEqual(client.outputText, "HTTP/1.1 201 Created\r\nX-Good: fine\r\nContent-Length: 2\r\n\r\nok")
    }

    func testServerCloseFinishesConnections() {
        let harness = HTTPHarness(router: makeRouter())
        let client = harness.connect()
        client.send("GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.run()
        harness.server.close()
        harness.run()
        XCTAssertTrue(harness.listener.closed)
        XCTAssertTrue(client.didShutdownWrite)
    }

    func testRandomInputNeverTrapsTheServer() {
        var random = SeededRandom(seed: 7)
        let pieces = ["GET ", "POST ", "/echo", "/", " HTTP/1.1", " HTTP/1.0", "\r\n", "Host: h", "Content-Length: 3",
                      "Transfer-Encoding: chunked", "Connection: close", "Expect: 100-continue", "3", "0", "abc", ";x",
                      ": ", " ", "\n", "\r", "If-None-Match: *", "HEAD "]
        let configuration = HTTPServerConfiguration(limits: HTTPLimits(maxRequestLineBytes: 80, maxTargetBytes: 40,
                                                                        maxHeaderBytes: 200, maxHeaderCount: 5,
                                                                        maxBodyBytes: 50))
        for _ in 0..<500 {
            let harness = HTTPHarness(configuration: configuration, router: makeRouter())
            let client = harness.connect()
            client.readPiece = 1 + random.below(20)
            for _ in 0..<random.below(40) { client.send(pieces[random.below(pieces.count)]) }
            if random.below(2) == 0 { client.peerFinished = true }
            for _ in 0..<20 {
                client.sendRoom = random.below(3) == 0 ? 0 : 1 + random.below(500)
                harness.advance(.milliseconds(Int64(random.below(3000))))
            }
            let statistics = harness.server.statistics
            XCTAssertLessThanOrEqual(statistics.requests, statistics.responses.reduce(0, +))
        }
    }
}

private func etag(_ text: String) -> String {
    let bytes = Array(text.utf8)
    return String(decoding: bytes.withUnsafeBytes { StaticAssets.entityTag(for: $0) }, as: UTF8.self)
}
