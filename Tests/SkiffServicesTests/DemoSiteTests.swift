import SkiffPlatform
import SkiffStack
import SkiffServices
import XCTest

/// Everything a streamed body produces, pulled in pieces of at most `piece` bytes.
func drain(_ body: HTTPBody, piece: Int = 10_000) -> [UInt8] {
    guard case .stream(let producer) = body else { return body.array }
    var out: [UInt8] = []
    var calls = 0
    while producer.produce(limit: piece, into: { bytes in
        out.append(contentsOf: bytes)
        return bytes.count
    }) == .offered {
        calls += 1
        precondition(calls < 10_000_000, "the producer never ends")
    }
    return out
}

final class DemoSiteTests: XCTestCase {
    private func site(limit: Int = 1 << 20) -> DemoSite {
        DemoSite(stack: NetworkStack(configuration: StackConfiguration()), now: { Instant(nanoseconds: 5_000_000) },
                 bytesLimit: limit)
    }

    func testBytesRouteSendsThePrefixOfTheStream() {
        let demo = site()
        let response = demo.router.respond(to: HTTPRequest(target: "/bytes/200000"))
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers["Content-Type"], "application/octet-stream")
        XCTAssertTrue(response.body.isStream, "streamed: no buffer of N bytes")
        XCTAssertEqual(response.body.length, 200_000)
        let body = drain(response.body, piece: 7_777)
        XCTAssertEqual(body.count, 200_000)
        // The period repeats (byte i equals byte i + period), and sampled bytes match the generator.
        for i in [0, 1, 2, 1000, 65_520, 65_521, 65_522, 131_042, 199_999] {
            XCTAssertEqual(body[i], DemoSite.streamByte(i), "byte \(i)")
        }
        XCTAssertEqual(body[0..<1000], body[DemoSite.streamPeriod..<(DemoSite.streamPeriod + 1000)])
        // Pinned to what the integration tests compute in Python, so the two cannot drift apart.
        XCTAssertEqual(Array(body[0..<8]), [81, 224, 123, 1, 230, 249, 186, 252])
        XCTAssertEqual(drain(demo.router.respond(to: HTTPRequest(target: "/bytes/0")).body).count, 0)
    }

    func testChunkedRouteSendsTheSameBytesWithoutALength() {
        let demo = site()
        let response = demo.router.respond(to: HTTPRequest(target: "/chunked/150000"))
        XCTAssertEqual(response.status, .ok)
        XCTAssertNil(response.body.length)
        let chunked = drain(response.body, piece: 4_096)
        XCTAssertEqual(chunked, drain(demo.router.respond(to: HTTPRequest(target: "/bytes/150000")).body))
        XCTAssertEqual(chunked.count, 150_000)
    }

    func testLargeCountsNeedNoMemory() {
        // The default limit is a terabyte; the response is made without touching N bytes.
        let demo = DemoSite(stack: NetworkStack(configuration: StackConfiguration()), now: { Instant.zero })
        let response = demo.router.respond(to: HTTPRequest(target: "/bytes/1000000000000"))
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.body.length, 1_000_000_000_000)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/1099511627777")).status, .badRequest)
    }

    func testDownloadThroughTheServerMatchesTheGenerator() {
        // The whole path: router, server, producer, over the in-memory stream with backpressure.
        let demo = site(limit: 1 << 30)
        let harness = HTTPHarness(router: demo.router)
        let stream = harness.connect()
        stream.send("GET /bytes/300000 HTTP/1.1\r\nHost: a\r\n\r\nGET /chunked/70000 HTTP/1.1\r\nHost: a\r\n\r\n")
        for _ in 0..<200 {
            stream.sendRoom = 32_768
            harness.run()
        }
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.body.count), [300_000, 70_000])
        guard responses.count == 2, responses[0].body.count == 300_000 else { return }
        for i in stride(from: 0, to: 300_000, by: 9_973) {
            XCTAssertEqual(responses[0].body[i], DemoSite.streamByte(i), "byte \(i)")
        }
        XCTAssertEqual(responses[1].body, Array(responses[0].body[0..<70_000]))
        XCTAssertEqual(responses[1].header("Transfer-Encoding"), "chunked")
    }

    func testAssetsGivenReplaceTheBuiltInPages() {
        var assets = StaticAssets()
        assets.add(path: "/index.html", text: "<h1>mine</h1>")
        let demo = DemoSite(stack: NetworkStack(configuration: StackConfiguration()), now: { Instant.zero }, assets: assets)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/")).body.array, Array("<h1>mine</h1>".utf8))
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/style.css")).status, .notFound)
    }

    func testBytesRouteRefusesMoreThanTheLimitAndNonNumbers() {
        let demo = site(limit: 1000)
        XCTAssertEqual(drain(demo.router.respond(to: HTTPRequest(target: "/bytes/1000")).body).count, 1000)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/1001")).status, .badRequest)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/12x")).status, .notFound)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/")).status, .notFound)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/99999999999999999")).status, .notFound)
    }

    func testStatusIsJSONWithTheStackConnectionCount() {
        let demo = site()
        let first = String(decoding: demo.router.respond(to: HTTPRequest(target: "/api/status")).body.array, as: UTF8.self)
        XCTAssertEqual(first, "{\"service\":\"skiff-web\",\"uptime_ms\":0,\"requests\":1,\"tcp_connections\":0}\n")
        let second = String(decoding: demo.router.respond(to: HTTPRequest(target: "/api/status")).body.array, as: UTF8.self)
        XCTAssertTrue(second.contains("\"requests\":2"), second)
    }

    func testPagesAreServed() {
        let demo = site()
        let page = demo.router.respond(to: HTTPRequest(target: "/"))
        XCTAssertEqual(page.status, .ok)
        XCTAssertTrue(String(decoding: page.body.array, as: UTF8.self).contains("<h1>Hello from Skiff</h1>"))
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/style.css")).status, .ok)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/missing")).status, .notFound)
    }
}
