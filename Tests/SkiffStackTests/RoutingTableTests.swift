import SkiffWire
import XCTest
@testable import SkiffStack

final class RoutingTableTests: XCTestCase {
    func cidr(_ text: String) -> IPv4CIDR { IPv4CIDR(text)! }
    func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }

    func testLongestPrefixWinsOverShorter() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("0.0.0.0/0"), gateway: ip("198.18.0.254"), interfaceName: "eth0"))
        table.add(Route(destination: cidr("198.19.0.0/16"), gateway: ip("198.18.0.253"), interfaceName: "eth0"))
        table.add(Route(destination: cidr("198.19.1.0/24"), gateway: ip("198.18.0.252"), interfaceName: "eth0"))
        XCTAssertEqual(table.lookup(ip("198.19.1.7"))?.gateway, ip("198.18.0.252"))
        XCTAssertEqual(table.lookup(ip("198.19.2.7"))?.gateway, ip("198.18.0.253"))
        XCTAssertEqual(table.lookup(ip("8.8.8.8"))?.gateway, ip("198.18.0.254"))
    }

    func testEqualPrefixLowestMetricWins() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("198.19.0.0/16"), gateway: ip("198.18.0.1"), interfaceName: "eth0", metric: 10))
        table.add(Route(destination: cidr("198.19.0.0/16"), gateway: ip("198.18.0.2"), interfaceName: "eth0", metric: 5))
        table.add(Route(destination: cidr("198.19.0.0/16"), gateway: ip("198.18.0.3"), interfaceName: "eth0", metric: 20))
        XCTAssertEqual(table.lookup(ip("198.19.3.3"))?.gateway, ip("198.18.0.2"))
    }

    func testLongerPrefixBeatsLowerMetric() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("198.19.0.0/16"), gateway: ip("198.18.0.1"), interfaceName: "eth0", metric: 0))
        table.add(Route(destination: cidr("198.19.0.0/24"), gateway: ip("198.18.0.2"), interfaceName: "eth0", metric: 100))
        XCTAssertEqual(table.lookup(ip("198.19.0.9"))?.gateway, ip("198.18.0.2"))
    }

    func testNoRouteWithoutDefault() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("198.18.0.0/24"), gateway: nil, interfaceName: "eth0"))
        XCTAssertNil(table.lookup(ip("198.19.0.1")))
        XCTAssertEqual(table.lookup(ip("198.18.0.200"))?.interfaceName, "eth0")
    }

    func testRouteDestinationStoredWithHostBitsCleared() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("198.18.0.10/24"), gateway: nil, interfaceName: "eth0"))
        XCTAssertEqual(table.routes.first?.destination, cidr("198.18.0.0/24"))
    }

    func testSameRouteAddedTwiceReplacesMetric() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("0.0.0.0/0"), gateway: ip("198.18.0.1"), interfaceName: "eth0", metric: 1))
        table.add(Route(destination: cidr("0.0.0.0/0"), gateway: ip("198.18.0.1"), interfaceName: "eth0", metric: 7))
        XCTAssertEqual(table.routes.count, 1)
        XCTAssertEqual(table.routes.first?.metric, 7)
        XCTAssertEqual(table.remove { $0.gateway == self.ip("198.18.0.1") }, 1)
        XCTAssertNil(table.lookup(ip("1.2.3.4")))
    }

    func testHostRouteSlash32MatchesOnlyItsAddress() {
        var table = RoutingTable()
        table.add(Route(destination: cidr("198.19.0.5/32"), gateway: ip("198.18.0.9"), interfaceName: "eth1"))
        XCTAssertEqual(table.lookup(ip("198.19.0.5"))?.interfaceName, "eth1")
        XCTAssertNil(table.lookup(ip("198.19.0.6")))
    }
}
