import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

/// The `dhcp:` lines and the clients `DHCPAutoconfiguration` makes for devices pending DHCP.
final class DHCPReportTests: XCTestCase {
    private let now = Instant(nanoseconds: 1_000_000_000)

    private func lease(_ configure: (inout DHCPLease) -> Void = { _ in }) -> DHCPLease {
        var lease = DHCPLease(address: IPv4CIDR("198.18.0.50/24")!, server: ip("198.18.0.1"), leaseTime: 3600)
        configure(&lease)
        return lease
    }

    func testLeaseLineFormat() {
        XCTAssertEqual(ConfigurationReport.leaseLine(lease(), interfaceName: "eth0"),
                       "dhcp: eth0 lease 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)")
        let infinite = DHCPLease(address: IPv4CIDR("198.18.0.50/24")!, server: ip("198.18.0.1"), leaseTime: nil)
        XCTAssertEqual(ConfigurationReport.leaseLine(infinite, interfaceName: "eth1"),
                       "dhcp: eth1 lease 198.18.0.50/24 from 198.18.0.1 for ever")
    }

    func testBoundPrintsLeaseDetailsNetRouteAndDNSLines() {
        let stack = NetworkStack()
        let interface = stack.addInterface(FakeDevice(name: "d0", macAddress: ethMAC0))
        let granted = lease {
            $0.routers = [ip("198.18.0.1")]
            $0.classlessRoutes = [DHCPClasslessRoute(destination: IPv4CIDR("0.0.0.0/0")!, router: ip("198.18.0.2"))]
            $0.dnsServers = [ip("198.18.0.53")]
            $0.domainSearch = ["example.test"]
            $0.hostName = "app1"
            $0.domainName = "example.test"
        }
        stack.addAddress(granted.address, to: interface, now: now)
        stack.addRoute(IPv4CIDR("0.0.0.0/0")!, via: ip("198.18.0.2"), interface: interface)
        XCTAssertEqual(ConfigurationReport.dhcpLines(.bound(granted), interfaceName: "eth0", stack: stack), [
            "dhcp: eth0 lease 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)",
            "dhcp: eth0 option 3 (198.18.0.1) ignored: option 121 gives the routes (RFC 3442 §2)",
            "dhcp: eth0 host name app1, domain example.test",
            "net: eth0 198.18.0.50/24 mtu 1500 mac 52:54:00:12:34:56",
            "route: 198.18.0.0/24 dev eth0",
            "route: default via 198.18.0.2 dev eth0",
            "dns: 198.18.0.53",
            "dns: search example.test",
        ])
        XCTAssertEqual(ConfigurationReport.dhcpLines(.renewed(granted, changed: false), interfaceName: "eth0", stack: stack),
                       ["dhcp: eth0 renewed 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)"])
    }

    func testEndOfLeaseLines() {
        let stack = NetworkStack()
        stack.addInterface(FakeDevice(name: "d0", macAddress: ethMAC0))
        XCTAssertEqual(ConfigurationReport.dhcpLines(.expired(lease()), interfaceName: "eth0", stack: stack),
                       ["dhcp: eth0 lease 198.18.0.50/24 expired", "net: eth0 mtu 1500 mac 52:54:00:12:34:56"])
        XCTAssertEqual(ConfigurationReport.dhcpLines(.nak(server: ip("198.18.0.1"), message: "wrong network", lost: nil),
                                                     interfaceName: "eth0", stack: stack),
                       ["dhcp: eth0 DHCPNAK from 198.18.0.1: wrong network"])
        XCTAssertEqual(ConfigurationReport.dhcpLines(.declined(address: ip("198.18.0.50"), by: ethMAC1),
                                                     interfaceName: "eth0", stack: stack),
                       ["dhcp: eth0 198.18.0.50 is in use by 52:54:00:12:34:57; declined"])
        XCTAssertEqual(ConfigurationReport.dhcpLines(.released(lease()), interfaceName: "eth0", stack: stack),
                       ["dhcp: eth0 released 198.18.0.50/24 to 198.18.0.1"])
    }

    func testClientsForDevicesPendingDHCPOnly() throws {
        let boot = try BootConfiguration(commandLine: "ip=198.18.0.10/24:::::eth0 ip=dhcp ip=198.18.0.77::::app9:eth2:dhcp")
        let devices: [any NetworkDevice] = [FakeDevice(name: "d0", macAddress: ethMAC0),
                                            FakeDevice(name: "d1", macAddress: ethMAC1),
                                            FakeDevice(name: "d2", macAddress: ethMAC2)]
        let stack = NetworkStack()
        let application = try NetworkConfiguration(boot: boot).apply(to: stack, devices: devices, now: now)
        let dhcp = DHCPAutoconfiguration(application: application, boot: boot, stack: stack, randomSeed: 1)
        XCTAssertEqual(dhcp.clients.map { $0.interface.name }, ["eth1", "eth2"])
        XCTAssertEqual(dhcp.clients.map { $0.configuration.hostName }, ["app9", "app9"],
                       "the device's ip= hostname, else any ip='s")
        XCTAssertEqual(dhcp.rememberedAddresses, [nil, ip("198.18.0.77")])

        var lines: [String] = []
        dhcp.output = { lines.append($0) }
        dhcp.start(now: now)
        XCTAssertEqual(dhcp.step(now: now), dhcp.clients.compactMap { $0.nextDeadline }.min())
        XCTAssertEqual(dhcp.clients.map { $0.state }, [.selecting, .rebooting])
        XCTAssertTrue(lines.isEmpty)
        XCTAssertFalse(dhcp.allBound)
    }

    func testDefaultHostNameFromTheMAC() throws {
        XCTAssertEqual(DHCPAutoconfiguration.defaultHostName(ethMAC0), "skiff-123456")
        let boot = try BootConfiguration(commandLine: "ip=dhcp")
        let stack = NetworkStack()
        let application = try NetworkConfiguration(boot: boot).apply(
            to: stack, devices: [FakeDevice(name: "d0", macAddress: ethMAC0)], now: now)
        let dhcp = DHCPAutoconfiguration(application: application, boot: boot, stack: stack, randomSeed: 1)
        XCTAssertEqual(dhcp.clients.first?.configuration.hostName, "skiff-123456")
    }

    func testOnlyDHCPAndAnyUseDHCP() {
        XCTAssertTrue(DHCPAutoconfiguration.usesDHCP(.dhcp))
        XCTAssertTrue(DHCPAutoconfiguration.usesDHCP(.any))
        for other: IPAutoconf in [.off, .bootp, .rarp, .both] {
            XCTAssertFalse(DHCPAutoconfiguration.usesDHCP(other))
        }
    }
}
