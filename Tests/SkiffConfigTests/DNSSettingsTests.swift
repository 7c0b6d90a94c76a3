import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

/// Where the resolver's servers and search domains come from: ip=, interfaces files, DHCP leases.
final class DNSSettingsTests: XCTestCase {
    let now = Instant(nanoseconds: 1_000_000_000)

    func testCommandLineAndInterfacesFileThenLeases() throws {
        let file = """
            iface eth1 inet static
                address 198.18.2.10/24
                dns-nameservers 198.18.0.53 198.18.0.54
                dns-search skiff.test
            """
        let module = try XCTUnwrap(try InterfacesModule.read(Array(file.utf8), module: 1))
        let boot = try BootConfiguration(commandLine: "ip=198.18.1.10/24::::::off:198.18.0.54:198.18.0.55")
        let stack = NetworkStack()
        let application = try NetworkConfiguration(boot: boot, modules: [module])
            .apply(to: stack, devices: [FakeDevice(name: "a", macAddress: ethMAC0), FakeDevice(name: "b", macAddress: ethMAC1)],
                   now: now)
        let settings = DNSSettings(application: application)
        XCTAssertEqual(settings.servers, [ip("198.18.0.54"), ip("198.18.0.55"), ip("198.18.0.53")])
        XCTAssertEqual(settings.searchDomains, ["skiff.test"])

        var lease = DHCPLease(address: IPv4CIDR("198.18.0.130/24")!, server: ip("198.18.0.1"), leaseTime: 120,
                              dnsServers: [ip("198.18.0.1"), ip("198.18.0.53")], domainName: "lan.test",
                              domainSearch: ["dhcp.test", "skiff.test"])
        let merged = settings.adding([lease])
        XCTAssertEqual(merged.servers, [ip("198.18.0.54"), ip("198.18.0.55"), ip("198.18.0.53"), ip("198.18.0.1")])
        XCTAssertEqual(merged.searchDomains, ["skiff.test", "dhcp.test"], "option 119 wins over option 15")

        lease.domainSearch = []
        XCTAssertEqual(DNSSettings().adding([lease]).searchDomains, ["lan.test"], "option 15 as a one-entry search list")
    }

    func testResolverTakesChangedSettingsOnly() {
        let resolver = DNSResolver(stack: NetworkStack(), randomKey: (1, 2))
        XCTAssertTrue(resolver.use(DNSSettings(servers: [ip("198.18.0.1")], searchDomains: ["skiff.test", "bad..name"])))
        XCTAssertEqual(resolver.configuration.servers, [ip("198.18.0.1")])
        XCTAssertEqual(resolver.configuration.searchDomains, [DNSName("skiff.test")!], "text that is no name is left out")
        XCTAssertFalse(resolver.use(DNSSettings(servers: [ip("198.18.0.1")], searchDomains: ["skiff.test", "bad..name"])))
        XCTAssertTrue(resolver.use(DNSSettings()))
        XCTAssertEqual(resolver.configuration.servers, [])
    }
}
