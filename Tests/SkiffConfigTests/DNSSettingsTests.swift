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

    func testLookupLinesAndOrder() {
        let resolver = DNSResolver(stack: NetworkStack(), randomKey: (1, 2))
        let lookups = DNSLookups(resolver: resolver, names: ["198.18.0.7", "a..b", "www.skiff.test"],
                                 settings: DNSSettings(searchDomains: ["skiff.test"]))
        var lines: [String] = []
        lookups.output = { lines.append($0) }
        XCTAssertEqual(lookups.configurationLines, ["dns: search skiff.test"])
        lookups.step(now: now, dhcp: nil)
        XCTAssertEqual(lines, [
            "dns: 198.18.0.7 -> 198.18.0.7 (literal)",
            "dns: a..b: not a valid domain name",
            "dns: www.skiff.test: no DNS servers configured",
        ])
        XCTAssertTrue(lookups.isDone)
        XCTAssertTrue(lookups.countersLine.hasPrefix("counters: dns lookups 3, answered 1, failed 2, queries 0,"))
    }

    func testLookupsWaitForTheLeases() {
        let stack = NetworkStack()
        let interface = stack.addInterface(FakeDevice(name: "a", macAddress: ethMAC0))
        let dhcp = DHCPAutoconfiguration(stack: stack, clients: [DHCPClient(stack: stack, interface: interface, randomSeed: 1)])
        let lookups = DNSLookups(resolver: DNSResolver(stack: stack, randomKey: (1, 2)), names: ["198.18.0.7"],
                                 settings: DNSSettings())
        var lines: [String] = []
        lookups.output = { lines.append($0) }
        lookups.step(now: now, dhcp: dhcp)
        XCTAssertEqual(lines, [], "no lookup before the lease")
        XCTAssertFalse(lookups.isDone)
    }
}
