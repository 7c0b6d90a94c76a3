import SkiffPlatform
import SkiffStack
import SkiffServices
import XCTest

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
        let body = response.body.array
        XCTAssertEqual(body.count, 200_000)
        // The period repeats (byte i equals byte i + period), and sampled bytes match the generator.
        for i in [0, 1, 2, 1000, 65_520, 65_521, 65_522, 131_042, 199_999] {
            XCTAssertEqual(body[i], DemoSite.streamByte(i), "byte \(i)")
        }
        XCTAssertEqual(body[0..<1000], body[DemoSite.streamPeriod..<(DemoSite.streamPeriod + 1000)])
        // Pinned to what the integration tests compute in Python, so the two cannot drift apart.
        XCTAssertEqual(Array(body[0..<8]), [81, 224, 123, 1, 230, 249, 186, 252])
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/0")).body.count, 0)
    }

    func testBytesRouteRefusesMoreThanTheLimitAndNonNumbers() {
        let demo = site(limit: 1000)
        XCTAssertEqual(demo.router.respond(to: HTTPRequest(target: "/bytes/1000")).body.count, 1000)
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
