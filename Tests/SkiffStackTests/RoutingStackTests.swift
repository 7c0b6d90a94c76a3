import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Which next hop a datagram leaves for, read from the destination MAC of the frame: each
/// gateway has a static ARP entry with its own MAC, so no third stack is needed.
final class RoutingStackTests: XCTestCase {
    let defaultGateway = IPv4Address(198, 18, 0, 254)
    let wideGateway = IPv4Address(198, 18, 0, 253)
    let narrowGateway = IPv4Address(198, 18, 0, 252)
    let cheapGateway = IPv4Address(198, 18, 0, 251)
    let dearGateway = IPv4Address(198, 18, 0, 250)

    func mac(of gateway: IPv4Address) -> MACAddress { MACAddress(0x02, 0, 0, 0, 0, gateway.bytes[3]) }

    func makeNetwork() -> TwoStacks {
        let net = TwoStacks()
        for gateway in [defaultGateway, wideGateway, narrowGateway, cheapGateway, dearGateway] {
            net.a.addStaticARPEntry(gateway, mac: mac(of: gateway), on: net.interfaceA, now: net.now)
        }
        net.a.addRoute(IPv4CIDR("0.0.0.0/0")!, via: defaultGateway, interface: net.interfaceA)
        net.a.addRoute(IPv4CIDR("198.19.0.0/16")!, via: wideGateway, interface: net.interfaceA)
        net.a.addRoute(IPv4CIDR("198.19.1.0/24")!, via: narrowGateway, interface: net.interfaceA)
        net.a.addRoute(IPv4CIDR("198.19.2.0/24")!, via: dearGateway, interface: net.interfaceA, metric: 20)
        net.a.addRoute(IPv4CIDR("198.19.2.0/24")!, via: cheapGateway, interface: net.interfaceA, metric: 5)
        return net
    }

    func nextHopMAC(_ net: TwoStacks, sendingTo destination: IPv4Address) throws -> MACAddress? {
        _ = net.link.a.takeTransmitted()
        let socket = try net.a.udpBind(port: 0)
        defer { socket.close() }
        try socket.send([1], to: destination, port: 9, now: net.now)
        let frames = decode(net.link.a.takeTransmitted())
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.ip?.destination, destination, "the IP destination is unchanged")
        return frames.first?.ethernet.destination
    }

    func testRouteMoreSpecificPrefixChosen() throws {
        let net = makeNetwork()
        XCTAssertEqual(try nextHopMAC(net, sendingTo: IPv4Address(198, 19, 1, 9)), mac(of: narrowGateway))
        XCTAssertEqual(try nextHopMAC(net, sendingTo: IPv4Address(198, 19, 9, 9)), mac(of: wideGateway))
    }

    func testRouteDefaultUsedWhenNothingMoreSpecific() throws {
        let net = makeNetwork()
        XCTAssertEqual(try nextHopMAC(net, sendingTo: IPv4Address(203, 0, 113, 5)), mac(of: defaultGateway))
        XCTAssertEqual(net.a.route(to: IPv4Address(203, 0, 113, 5))?.gateway, defaultGateway)
    }

    func testRouteLowestMetricChosenAmongEqualPrefixes() throws {
        let net = makeNetwork()
        XCTAssertEqual(try nextHopMAC(net, sendingTo: IPv4Address(198, 19, 2, 1)), mac(of: cheapGateway))
    }

    func testRouteConnectedSubnetGoesDirectToDestination() throws {
        let net = makeNetwork()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()
        XCTAssertEqual(try nextHopMAC(net, sendingTo: TwoStacks.addressB), net.link.b.macAddress)
        XCTAssertEqual(net.a.route(to: TwoStacks.addressB)?.gateway, nil)
    }

    func testSubnetBroadcastUsesBroadcastMAC() throws {
        let net = makeNetwork()
        XCTAssertEqual(try nextHopMAC(net, sendingTo: IPv4Address(198, 18, 0, 255)), .broadcast)
        XCTAssertEqual(try nextHopMAC(net, sendingTo: .broadcast), .broadcast)
    }

    func testConnectedRouteAddedWithAddress() {
        let net = TwoStacks()
        XCTAssertEqual(net.a.routes, [Route(destination: IPv4CIDR("198.18.0.0/24")!, gateway: nil, interfaceName: "eth0")])
        XCTAssertEqual(net.interfaceA.name, "eth0")
    }

    func testGatewayResolvedWithARPNotTheDestination() throws {
        let net = TwoStacks()
        net.a.addRoute(IPv4CIDR("0.0.0.0/0")!, via: TwoStacks.addressB, interface: net.interfaceA)
        let socket = try net.a.udpBind(port: 0)
        try socket.send([1], to: IPv4Address(203, 0, 113, 5), port: 9, now: net.now)
        let request = decode(net.link.a.takeTransmitted()).first?.arp
        XCTAssertEqual(request?.targetIP, TwoStacks.addressB)
        net.settle()
        let frame = decode(net.link.a.takeTransmitted()).first { $0.ip != nil }
        XCTAssertEqual(frame?.ethernet.destination, net.link.b.macAddress)
        XCTAssertEqual(net.b.statistics.ipDroppedNotForUs, 1, "B is not a router")
    }
}
