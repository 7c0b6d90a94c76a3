import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

final class ApplyTests: XCTestCase {
    let now = Instant(nanoseconds: 1_000_000_000)

    func devices(_ count: Int) -> [FakeDevice] {
        [ethMAC0, ethMAC1, ethMAC2].prefix(count).enumerated().map { FakeDevice(name: "nic\($0.offset)", macAddress: $0.element) }
    }

    func configure(_ commandLine: String, devices: [FakeDevice], names: [String]? = nil) throws -> (NetworkStack, [ConfiguredInterface]) {
        let stack = NetworkStack()
        let configuration = try BootConfiguration(commandLine: commandLine)
        let configured = try configuration.apply(to: stack, devices: devices, names: names, now: now)
        return (stack, configured)
    }

    func testStaticAddressAndDefaultRoute() throws {
        let (stack, configured) = try configure("ip=198.18.0.10::198.18.0.1:255.255.255.0", devices: devices(1))
        XCTAssertEqual(stack.interfaces.map(\.name), ["eth0"])
        XCTAssertEqual(stack.interfaces[0].addresses, [IPv4CIDR("198.18.0.10/24")!])
        XCTAssertEqual(stack.routes, [
            Route(destination: IPv4CIDR("198.18.0.0/24")!, gateway: nil, interfaceName: "eth0"),
            Route(destination: IPv4CIDR("0.0.0.0/0")!, gateway: ip("198.18.0.1"), interfaceName: "eth0"),
        ])
        XCTAssertEqual(configured.count, 1)
        XCTAssertNil(configured[0].pendingAutoconf)
        XCTAssertEqual(configured[0].parameter?.gateway, ip("198.18.0.1"))
        XCTAssertEqual(ConfigurationReport.lines(stack), [
            "net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56",
            "route: 198.18.0.0/24 dev eth0",
            "route: default via 198.18.0.1 dev eth0",
        ])
        // The address was announced (a gratuitous ARP).
        XCTAssertEqual((stack.interfaces[0].device as? FakeDevice)?.transmitted, 1)
    }

    func testStaticWithoutGatewayHasOnlyTheConnectedRoute() throws {
        let (stack, _) = try configure("ip=198.18.0.10/24", devices: devices(1))
        XCTAssertEqual(ConfigurationReport.lines(stack), [
            "net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56",
            "route: 198.18.0.0/24 dev eth0",
        ])
    }

    func testThreeDevicesNamedAndUnnamed() throws {
        // eth1 is named; the unnamed ip= parameters go to eth0, then eth2.
        let (stack, configured) = try configure(
            "ip=198.18.1.10/24:::::eth1 ip=198.18.0.10/24::198.18.0.1 ip=dhcp", devices: devices(3))
        XCTAssertEqual(stack.interfaces.map(\.name), ["eth0", "eth1", "eth2"])
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[IPv4CIDR("198.18.0.10/24")!], [IPv4CIDR("198.18.1.10/24")!], []])
        XCTAssertEqual(configured.map(\.pendingAutoconf), [nil, nil, .dhcp])
        XCTAssertEqual(ConfigurationReport.lines(stack), [
            "net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56",
            "net: eth1 198.18.1.10/24 mtu 1500 mac 52:54:00:12:34:57",
            "net: eth2 mtu 1500 mac 52:54:00:12:34:58",
            "route: 198.18.0.0/24 dev eth0",
            "route: default via 198.18.0.1 dev eth0",
            "route: 198.18.1.0/24 dev eth1",
        ])
    }

    func testDevicesWithoutIPAreAddedUnconfigured() throws {
        let (stack, configured) = try configure("console=ttyS0", devices: devices(2))
        XCTAssertEqual(stack.interfaces.map(\.name), ["eth0", "eth1"])
        XCTAssertTrue(stack.interfaces.allSatisfy { $0.addresses.isEmpty })
        XCTAssertTrue(stack.routes.isEmpty)
        XCTAssertTrue(configured.allSatisfy { $0.parameter == nil && $0.pendingAutoconf == nil })
    }

    func testOffLeavesTheDeviceUnconfiguredAndOtherModesArePending() throws {
        let (stack, configured) = try configure("ip=off ip=bootp", devices: devices(2))
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], []])
        XCTAssertEqual(configured.map(\.parameter?.autoconf), [.off, .bootp])
        XCTAssertEqual(configured.map(\.pendingAutoconf), [nil, .bootp])
    }

    func testCallerNamesTheDevices() throws {
        let (stack, _) = try configure("ip=198.18.0.10/24:::::wan ip=198.18.1.10/24", devices: devices(2),
                                       names: ["lan", "wan"])
        XCTAssertEqual(stack.interface(named: "wan")?.addresses, [IPv4CIDR("198.18.0.10/24")!])
        XCTAssertEqual(stack.interface(named: "lan")?.addresses, [IPv4CIDR("198.18.1.10/24")!])
        XCTAssertEqual(BootConfiguration.defaultDeviceNames(count: 3), ["eth0", "eth1", "eth2"])
    }

    func testGatewaysOnTwoDevicesTheFirstDeviceWins() throws {
        let (stack, _) = try configure("ip=198.18.1.10/24::198.18.1.1:::eth1 ip=198.18.0.10/24::198.18.0.1:::eth0",
                                       devices: devices(2))
        XCTAssertEqual(stack.route(to: ip("203.0.113.1"))?.gateway, ip("198.18.0.1"))
    }

    func testUnknownDeviceNamesTheDevicesThereAre() throws {
        let text = "ip=dhcp ip=198.18.0.10/24:::::eth2"
        let stack = NetworkStack()
        let configuration = try BootConfiguration(commandLine: text)
        let error = commandLineError { () throws(CommandLineError) in
            try configuration.apply(to: stack, devices: self.devices(2), now: self.now)
        }
        XCTAssertEqual(error, CommandLineError(column: column(of: "eth2", in: text),
                                               problem: .unknownDevice("eth2", existing: ["eth0", "eth1"])))
        XCTAssertEqual(error?.description, "command line column 31: ip= device eth2 does not exist (devices: eth0, eth1)")
        // Nothing was applied.
        XCTAssertTrue(stack.interfaces.isEmpty)
        XCTAssertTrue(stack.routes.isEmpty)
    }

    func testNoDevicesAtAll() throws {
        let configuration = try BootConfiguration(commandLine: "ip=:::::eth0:dhcp")
        let error = commandLineError { () throws(CommandLineError) in
            try configuration.apply(to: NetworkStack(), devices: [], now: self.now)
        }
        XCTAssertEqual(error?.description, "command line column 9: ip= device eth0 does not exist (there are no network devices)")
    }

    func testMoreUnnamedParametersThanDevicesLeft() throws {
        let text = "ip=:::::eth0:dhcp ip=dhcp"
        let configuration = try BootConfiguration(commandLine: text)
        let error = commandLineError { () throws(CommandLineError) in try configuration.assignDevices(["eth0"]) }
        XCTAssertEqual(error, CommandLineError(column: 19, problem: .noDeviceLeft(existing: ["eth0"])))
        XCTAssertEqual(error?.description,
                       "command line column 19: ip= names no device and every device already has an ip= (devices: eth0)")
    }

    func testAssignDevices() throws {
        let configuration = try BootConfiguration(commandLine: "ip=dhcp ip=:::::eth0:off ip=rarp")
        let assigned = try configuration.assignDevices(["eth0", "eth1", "eth2", "eth3"])
        XCTAssertEqual(assigned.map { $0?.autoconf }, [.off, .dhcp, .rarp, nil])
    }

    // MARK: The report

    /// The formatting `skiff run hosted` had before it moved here, kept to prove the lines are the same.
    func formerHostedLines(_ stack: NetworkStack) -> [String] {
        var lines: [String] = []
        for interface in stack.interfaces {
            let addresses = interface.addresses.map { $0.description }.joined(separator: " ")
            lines.append("net: \(interface.name) \(addresses) mtu \(interface.mtu) mac \(interface.macAddress)")
        }
        for route in stack.routes {
            let destination = route.destination.prefixLength == 0
                ? "default"
                : IPv4CIDR(address: route.destination.network, prefixLength: route.destination.prefixLength).description
            var text = destination
            if let gateway = route.gateway { text += " via \(gateway)" }
            text += " dev \(route.interfaceName)"
            if route.metric != 0 { text += " metric \(route.metric)" }
            lines.append("route: " + text)
        }
        return lines
    }

    func testReportMatchesTheHostedFormat() {
        let stack = NetworkStack()
        let tap = stack.addInterface(FakeDevice(name: "tap0", macAddress: MACAddress("02:53:4b:00:00:01")!, mtu: 9000),
                                     name: "tap0")
        stack.addAddress(IPv4CIDR("198.18.0.2/24")!, to: tap, now: now)
        stack.addAddress(IPv4CIDR("198.18.5.2/16")!, to: tap, now: now)
        stack.addRoute(IPv4CIDR("0.0.0.0/0")!, via: ip("198.18.0.1"), interface: tap)
        stack.addRoute(IPv4CIDR("203.0.113.7/24")!, via: ip("198.18.0.9"), interface: tap, metric: 5)
        let lines = ConfigurationReport.lines(stack)
        XCTAssertEqual(lines, formerHostedLines(stack))
        XCTAssertEqual(lines, [
            "net: tap0 198.18.0.2/24 198.18.5.2/16 mtu 9000 mac 02:53:4b:00:00:01",
            "route: 198.18.0.0/24 dev tap0",
            "route: 198.18.0.0/16 dev tap0",
            "route: default via 198.18.0.1 dev tap0",
            "route: 203.0.113.0/24 via 198.18.0.9 dev tap0 metric 5",
        ])
    }
}
