import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

/// `skiff.net=`: its forms and every error with its column (SkiffNetParameter.swift).
final class SkiffNetParameterTests: XCTestCase {
    /// The only `skiff.net=` of `text`.
    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> SkiffNetParameter {
        let configuration = try BootConfiguration(commandLine: text)
        XCTAssertEqual(configuration.netParameters.count, 1, file: file, line: line)
        return try XCTUnwrap(configuration.netParameters.first, file: file, line: line)
    }

    /// The error `text` gives, which must be `problem` at the column of `needle` (plus `offset`).
    func assertError(_ text: String, at needle: String, skipping: Int = 0, offset: Int = 0, _ problem: SkiffNetProblem,
                     file: StaticString = #filePath, line: UInt = #line) {
        let error = commandLineError({ () throws(CommandLineError) in try BootConfiguration(commandLine: text) },
                                     file: file, line: line)
        let expected = CommandLineError(column: column(of: needle, in: text, skipping: skipping, file: file, line: line) + offset,
                                        problem: .net(problem))
        XCTAssertEqual(error, expected, file: file, line: line)
    }

    // MARK: Forms

    func testStaticWithEverySetting() throws {
        let text = "console=ttyS0 skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.1,mtu=1400,dns=198.18.0.53,search=example.test"
        let p = try parse(text)
        XCTAssertEqual(p, SkiffNetParameter(device: .name("eth0"), mode: .staticAddress, address: IPv4CIDR("198.18.0.2/24"),
                                            gateway: ip("198.18.0.1"), mtu: 1400, dnsServers: [ip("198.18.0.53")],
                                            searchDomains: ["example.test"], column: 15))
        XCTAssertEqual(p.text, "eth0:addr=198.18.0.2/24,gw=198.18.0.1,mtu=1400,dns=198.18.0.53,search=example.test")
    }

    func testMACSelectsWithDHCP() throws {
        let p = try parse("skiff.net=mac=52:54:00:12:34:56:dhcp")
        XCTAssertEqual(p.device, .mac(ethMAC0))
        XCTAssertEqual(p.mode, .dhcp)
        XCTAssertNil(p.address)
        XCTAssertEqual(p.text, "mac=52:54:00:12:34:56:dhcp")
    }

    func testMACWithDashesAndEitherCase() throws {
        let p = try parse("skiff.net=mac=52-54-00-AB-cd-Ef:off")
        XCTAssertEqual(p.device, .mac(MACAddress(0x52, 0x54, 0x00, 0xab, 0xcd, 0xef)))
        XCTAssertEqual(p.mode, .off)
    }

    func testStaticWordRepeatedServersAndDomains() throws {
        let p = try parse("skiff.net=eth1:static,addr=198.18.1.10/24,dns=198.18.0.53,dns=198.18.0.54,dns=198.18.0.53,"
                          + "search=a.example,search=b.example")
        XCTAssertEqual(p.mode, .staticAddress)
        XCTAssertEqual(p.dnsServers, [ip("198.18.0.53"), ip("198.18.0.54")])
        XCTAssertEqual(p.searchDomains, ["a.example", "b.example"])
    }

    func testDHCPTakesMTUServersAndDomains() throws {
        let p = try parse("skiff.net=eth0:mtu=1400,dhcp,dns=198.18.0.53,search=example.test")
        XCTAssertEqual(p, SkiffNetParameter(device: .name("eth0"), mode: .dhcp, mtu: 1400, dnsServers: [ip("198.18.0.53")],
                                            searchDomains: ["example.test"], column: 1))
    }

    func testPointToPointAndHostPrefixes() throws {
        XCTAssertEqual(try parse("skiff.net=eth0:addr=198.18.0.0/31").address, IPv4CIDR("198.18.0.0/31"))
        XCTAssertEqual(try parse("skiff.net=eth0:addr=198.18.0.255/32").address, IPv4CIDR("198.18.0.255/32"))
    }

    func testKeySpellingsAndQuotes() throws {
        // Quotes around the value are removed; another key is not skiff.net=.
        XCTAssertEqual(try BootConfiguration(commandLine: "skiff_net=eth0:dhcp skiff.netx=eth0").netParameters, [])
        XCTAssertEqual(try parse("skiff.net=\"eth0:off\"").mode, .off)
    }

    func testCanonicalTextParsesBack() throws {
        for value in ["eth0:addr=198.18.0.2/24,gw=198.18.0.1,mtu=1400,dns=198.18.0.53,search=example.test",
                      "mac=52:54:00:12:34:56:dhcp", "mac=02:00:00:00:00:01:off", "lan-0:static,addr=198.18.9.1/30",
                      "eth3:dhcp,dns=198.18.0.53,dns=198.18.0.54,search=a.test"] {
            let p = try parse("skiff.net=" + value)
            XCTAssertEqual(try parse("skiff.net=" + p.text), p, value)
        }
    }

    func testIPAndSkiffNetSideBySide() throws {
        let configuration = try BootConfiguration(commandLine: "ip=dhcp skiff.net=eth1:off ip=198.18.1.10/24:::::eth2")
        XCTAssertEqual(configuration.ipParameters.count, 2)
        XCTAssertEqual(configuration.netParameters.map(\.column), [9])
    }

    // MARK: Errors, each with its column

    func testMissingValueOrDevice() {
        let bare = "ip=dhcp skiff.net"
        XCTAssertEqual(commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: bare) },
                       CommandLineError(column: 9, problem: .missingValue(key: "skiff.net")))
        assertError("skiff.net=:dhcp", at: ":dhcp", .missingDevice)
        assertError("skiff.net= ip=dhcp", at: " ip", .missingDevice)
    }

    func testInvalidDeviceNames() {
        assertError("skiff.net=eth0/1:dhcp", at: "eth0/1", .invalidDeviceName("eth0/1"))
        assertError("skiff.net=MAC=52:54:00:12:34:56:dhcp", at: "MAC=", .invalidDeviceName("MAC=52"))
        assertError("skiff.net=a,b:dhcp", at: "a,b", .invalidDeviceName("a,b"))
        assertError("skiff.net=averyveryverylongname:dhcp", at: "avery", .invalidDeviceName("averyveryverylongname"))
    }

    func testInvalidMACs() {
        assertError("skiff.net=mac=52:54:00:12:34:5:dhcp", at: "52:", .invalidMAC("52:54:00:12:34:5"))
        assertError("skiff.net=mac=52:54:00:12:34:567:dhcp", at: "52:", .invalidMAC("52:54:00:12:34:567"))
        assertError("skiff.net=mac=52:54-00:12:34:56:dhcp", at: "52:", .invalidMAC("52:54-00:12:34:56"))
        assertError("skiff.net=mac=zz:54:00:12:34:56:dhcp", at: "zz", .invalidMAC("zz"))
        assertError("skiff.net=mac=52:54:00:12:34", at: "52:", .invalidMAC("52:54:00:12:34"))
        assertError("skiff.net=mac=:dhcp", at: ":dhcp", .invalidMAC(""))
    }

    func testMissingSettings() {
        assertError("skiff.net=eth0", at: "eth0", offset: 4, .missingSettings(device: "eth0"))
        assertError("skiff.net=eth0: ip=dhcp", at: ": ip", .missingSettings(device: "eth0"))
        assertError("skiff.net=mac=52:54:00:12:34:56", at: "52", offset: 17, .missingSettings(device: "mac=52:54:00:12:34:56"))
        assertError("skiff.net=mac=52:54:00:12:34:56,dhcp", at: ",dhcp", .missingSettings(device: "mac=52:54:00:12:34:56"))
    }

    func testEmptySettings() {
        assertError("skiff.net=eth0:dhcp,,mtu=1400", at: ",mtu", .emptySetting)
        assertError("skiff.net=eth0:dhcp,", at: "dhcp", offset: 5, .emptySetting)
        assertError("skiff.net=eth0:,dhcp", at: ",dhcp", .emptySetting)
    }

    func testUnknownSettings() {
        assertError("skiff.net=eth0:dhcpp", at: "dhcpp", .unknownSetting("dhcpp"))
        assertError("skiff.net=eth0:DHCP", at: "DHCP", .unknownSetting("DHCP"))
        assertError("skiff.net=eth0:address=198.18.0.2/24", at: "address", .unknownSetting("address=198.18.0.2/24"))
        assertError("skiff.net=eth0:dhcp,mac=52:54:00:12:34:56", at: "mac", .unknownSetting("mac=52:54:00:12:34:56"))
    }

    func testRepeatedSettingsAndModes() {
        let text = "skiff.net=eth0:addr=198.18.0.2/24,addr=198.18.0.3/24"
        assertError(text, at: "addr", skipping: 1, .repeatedSetting("addr=", firstColumn: column(of: "addr", in: text)))
        let gw = "skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.1,gw=198.18.0.3"
        assertError(gw, at: "gw", skipping: 1, .repeatedSetting("gw=", firstColumn: column(of: "gw", in: gw)))
        let mtu = "skiff.net=eth0:dhcp,mtu=1400,mtu=1500"
        assertError(mtu, at: "mtu", skipping: 1, .repeatedSetting("mtu=", firstColumn: column(of: "mtu", in: mtu)))
        let twice = "skiff.net=eth0:dhcp,dhcp"
        assertError(twice, at: "dhcp", skipping: 1, .repeatedSetting("dhcp", firstColumn: column(of: "dhcp", in: twice)))
        assertError("skiff.net=eth0:dhcp,off", at: "off", .conflictingModes("off", "dhcp"))
        assertError("skiff.net=eth0:static,addr=198.18.0.2/24,dhcp", at: "dhcp", .conflictingModes("dhcp", "static"))
    }

    func testEmptyValues() {
        assertError("skiff.net=eth0:dhcp,mtu=", at: "mtu=", .emptyValue("mtu"))
        assertError("skiff.net=eth0:addr=", at: "addr=", .emptyValue("addr"))
    }

    func testInvalidAddresses() {
        assertError("skiff.net=eth0:addr=198.18.0.300/24", at: "198.18.0.300", .invalidAddress("198.18.0.300/24"))
        assertError("skiff.net=eth0:addr=box", at: "box", .invalidAddress("box"))
        assertError("skiff.net=eth0:addr=198.18.0.2", at: "198.18.0.2", .missingPrefixLength(ip("198.18.0.2")))
        assertError("skiff.net=eth0:addr=198.18.0.2/33", at: "/33", .invalidPrefixLength("33"))
        assertError("skiff.net=eth0:addr=198.18.0.2/", at: "/", .invalidPrefixLength(""))
        assertError("skiff.net=eth0:addr=127.0.0.2/8", at: "127", .addressNotUnicast(ip("127.0.0.2")))
        assertError("skiff.net=eth0:addr=224.0.0.5/24", at: "224", .addressNotUnicast(ip("224.0.0.5")))
        assertError("skiff.net=eth0:addr=0.1.2.3/8", at: "0.1", .addressNotUnicast(ip("0.1.2.3")))
        assertError("skiff.net=eth0:addr=198.18.0.0/24", at: "198", .networkAddress(ip("198.18.0.0"), subnet: IPv4CIDR("198.18.0.0/24")!))
        assertError("skiff.net=eth0:addr=198.18.0.255/24", at: "198", .broadcastAddress(ip("198.18.0.255"), subnet: IPv4CIDR("198.18.0.0/24")!))
    }

    func testInvalidGateways() {
        assertError("skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.x", at: "198.18.0.x", .invalidGateway("198.18.0.x"))
        assertError("skiff.net=eth0:addr=198.18.0.2/24,gw=0.0.0.0", at: "0.0.0.0", .invalidGateway("0.0.0.0"))
        assertError("skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.2", at: "198.18.0.2", skipping: 1,
                    .gatewayIsAddress(ip("198.18.0.2")))
        // The gateway may come first; its column is still the one reported.
        assertError("skiff.net=eth0:gw=198.19.0.1,addr=198.18.0.2/24", at: "198.19",
                    .gatewayOutsideSubnet(gateway: ip("198.19.0.1"), subnet: IPv4CIDR("198.18.0.0/24")!))
    }

    func testInvalidMTUServersAndDomains() {
        for bad in ["67", "65536", "14x0", "999999", "-1"] {
            assertError("skiff.net=eth0:dhcp,mtu=\(bad)", at: "=\(bad)", offset: 1, .invalidMTU(bad))
        }
        assertError("skiff.net=eth0:dhcp,dns=198.18.0", at: "198", .invalidDNSServer("198.18.0"))
        assertError("skiff.net=eth0:dhcp,dns=0.0.0.0", at: "0.0", .invalidDNSServer("0.0.0.0"))
        for bad in ["exa_mple.test", ".test", "a..test", "test.", String(repeating: "a", count: 64) + ".test"] {
            assertError("skiff.net=eth0:dhcp,search=\(bad)", at: "=\(bad)", offset: 1, .invalidSearchDomain(bad))
        }
    }

    func testSettingsThatDoNotGoTogether() {
        assertError("skiff.net=eth0:mtu=1400", at: "mtu", .noMode(device: "eth0"))
        assertError("skiff.net=mac=52:54:00:12:34:56:dns=198.18.0.53", at: "dns", .noMode(device: "mac=52:54:00:12:34:56"))
        assertError("skiff.net=eth0:static,mtu=1400", at: "static", .staticWithoutAddress)
        assertError("skiff.net=eth0:dhcp,addr=198.18.0.2/24", at: "addr", .addressWithDHCP("addr="))
        assertError("skiff.net=eth0:gw=198.18.0.1,dhcp", at: "gw", .addressWithDHCP("gw="))
        assertError("skiff.net=eth0:off,mtu=1400", at: "mtu", .offTakesNoSettings("mtu="))
        assertError("skiff.net=eth0:dns=198.18.0.53,off", at: "dns", .offTakesNoSettings("dns="))
    }

    func testOneSkiffNetPerDevice() {
        let names = "skiff.net=eth0:dhcp skiff.net=eth0:off"
        assertError(names, at: "eth0", skipping: 1, .duplicateDevice("eth0", firstColumn: 1))
        let macs = "skiff.net=mac=52:54:00:12:34:56:dhcp ip=dhcp skiff.net=mac=52-54-00-12-34-56:off"
        assertError(macs, at: "mac=52-", .duplicateDevice("mac=52:54:00:12:34:56", firstColumn: 1))
    }

    func testDescriptionNamesTheColumn() {
        let error = commandLineError { () throws(CommandLineError) in
            try BootConfiguration(commandLine: "quiet skiff.net=eth0:dhcp,mtu=9x")
        }
        XCTAssertEqual(error?.description, "command line column 31: skiff.net= mtu \"9x\" is not a number from 68 to 65535")
    }
}

/// `ip=` with a MAC in its device field (a Skiff extension).
final class IPByMACTests: XCTestCase {
    func testDashedMACInTheDeviceField() throws {
        let text = "ip=198.18.1.10/24:::::52-54-00-12-34-57"
        let configuration = try BootConfiguration(commandLine: text)
        let p = try XCTUnwrap(configuration.ipParameters.first)
        XCTAssertNil(p.device)
        XCTAssertEqual(p.deviceMAC, ethMAC1)
        XCTAssertEqual(p.deviceColumn, column(of: "52-", in: text))
        XCTAssertEqual(p.text, "198.18.1.10/24:::::52-54-00-12-34-57")
        XCTAssertEqual(try configuration.assignDevices(["eth0", "eth1"], macs: [ethMAC0, ethMAC1]).map { $0?.column }, [nil, 1])
    }

    func testUnnamedIPSkipsTheDeviceSelectedByMAC() throws {
        let configuration = try BootConfiguration(commandLine: "ip=dhcp ip=198.18.0.10/24:::::52-54-00-12-34-56")
        let assigned = try configuration.assignDevices(["eth0", "eth1"], macs: [ethMAC0, ethMAC1])
        XCTAssertEqual(assigned.map { $0?.autoconf }, [.off, .dhcp])
    }

    func testColonMACDoesNotFitTheFields() {
        let text = "ip=198.18.1.10/24:::::52:54:00:12:34:57"
        XCTAssertEqual(commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: text) }?.problem,
                       .tooManyFields)
    }

    func testDuplicateMACs() {
        let text = "ip=:::::52-54-00-12-34-57:dhcp ip=198.18.1.10/24:::::52-54-00-12-34-57"
        XCTAssertEqual(commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: text) },
                       CommandLineError(column: column(of: "52-", in: text, skipping: 1),
                                        problem: .duplicateDevice("52-54-00-12-34-57", firstColumn: 1)))
    }

    func testStrictAssignmentRefusesAnUnknownMAC() throws {
        let text = "ip=:::::02-00-00-00-00-99:dhcp"
        let configuration = try BootConfiguration(commandLine: text)
        let error = commandLineError { () throws(CommandLineError) in
            try configuration.assignDevices(["eth0"], macs: [ethMAC0])
        }
        XCTAssertEqual(error, CommandLineError(column: column(of: "02-", in: text),
                                               problem: .unknownDevice("02-00-00-00-00-99", existing: ["eth0"])))
    }

    func testByNameAndByMACOnTheSameDevice() throws {
        let text = "ip=198.18.1.10/24:::::eth1 ip=198.18.1.11/24:::::52-54-00-12-34-57"
        let configuration = try BootConfiguration(commandLine: text)
        let error = commandLineError { () throws(CommandLineError) in
            try configuration.assign(names: ["eth0", "eth1"], macs: [ethMAC0, ethMAC1])
        }
        XCTAssertEqual(error, CommandLineError(column: column(of: "52-", in: text), problem: .sameDevice("eth1", firstColumn: 1)))
        XCTAssertEqual(error?.description, "command line column 50: ip= selects eth1, which the ip= at column 1 already configures")
    }
}

/// Which source configures each device, and what the console says about it.
final class PrecedenceTests: XCTestCase {
    let now = Instant(nanoseconds: 1_000_000_000)
    static let ethMAC3 = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x59)

    func apply(_ commandLine: String, modules texts: [String] = [], image: String? = nil, devices count: Int = 2,
               fallback: IPAutoconf? = .dhcp) throws -> (NetworkStack, NetworkApplication) {
        let macs = [ethMAC0, ethMAC1, ethMAC2, Self.ethMAC3]
        let devices = macs.prefix(count).enumerated().map { FakeDevice(name: "nic\($0.offset)", macAddress: $0.element, mtu: 1500) }
        let modules = texts.enumerated().map { InterfacesModule(module: $0.offset + 1, format: .plain, file: InterfacesFile($0.element)) }
        let stack = NetworkStack()
        let configuration = NetworkConfiguration(boot: try BootConfiguration(commandLine: commandLine), modules: modules,
                                                 image: image.map { InterfacesFile($0) }, fallback: fallback)
        return (stack, try configuration.apply(to: stack, devices: devices, now: now))
    }

    func testSkiffNetWinsOverIPAndTheFile() throws {
        let text = "ip=198.18.0.10/24:::::eth0 skiff.net=eth0:addr=198.18.0.20/24,gw=198.18.0.1"
        let (stack, application) = try apply(text, modules: ["iface eth0 inet static\n address 198.18.0.30/24\n"], devices: 1)
        XCTAssertEqual(stack.interfaces[0].addresses, [IPv4CIDR("198.18.0.20/24")!])
        XCTAssertEqual(stack.route(to: ip("203.0.113.1"))?.gateway, ip("198.18.0.1"))
        XCTAssertEqual(application.interfaces[0].source, .skiffNet(column: 28))
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (skiff.net= at column 28)",
            "config: eth0: ip= at column 1 overridden by skiff.net= at column 28",
            "config: eth0: interfaces (module 1, line 1) iface eth0 overridden by the command line",
        ])
    }

    func testCommandLineOverModuleOverDefault() throws {
        // eth0: skiff.net=; eth1: ip= over its stanza; eth2: the stanza; eth3: DHCP by default.
        let (stack, application) = try apply(
            "skiff.net=eth0:addr=198.18.0.10/24 ip=198.18.1.10/24:::::eth1",
            modules: ["iface eth1 inet static\n address 198.18.1.99/24\niface eth2 inet static\n address 198.18.2.10/24\n"],
            devices: 4)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[IPv4CIDR("198.18.0.10/24")!], [IPv4CIDR("198.18.1.10/24")!],
                                                          [IPv4CIDR("198.18.2.10/24")!], []])
        XCTAssertEqual(application.interfaces.map(\.pendingAutoconf), [nil, nil, nil, .dhcp])
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (skiff.net= at column 1)",
            "config: eth1 from command line (ip= at column 36)",
            "config: eth1: interfaces (module 1, line 1) iface eth1 overridden by the command line",
            "config: eth2 from interfaces (module 1, line 3)",
            "config: eth3 from default (no skiff.net=, ip= or iface for it), dhcp pending",
        ])
        // The default and dhcp settings get DHCP clients; static ones do not.
        let dhcp = DHCPAutoconfiguration(application: application, boot: try BootConfiguration(commandLine: ""),
                                         stack: stack, randomSeed: 1)
        XCTAssertEqual(dhcp.clients.map { $0.interface.name }, ["eth3"])
    }

    func testSelectionByNameAndByMAC() throws {
        let (stack, application) = try apply(
            "skiff.net=mac=52:54:00:12:34:57:addr=198.18.1.10/24 skiff.net=eth0:dhcp", devices: 2)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (skiff.net= at column 53), dhcp pending",
            "config: eth1 from command line (skiff.net= at column 1) by mac 52:54:00:12:34:57",
        ])
    }

    func testIPByMAC() throws {
        let (stack, application) = try apply("ip=198.18.1.10/24::198.18.1.1:::52-54-00-12-34-57", devices: 2)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines[1], "config: eth1 from command line (ip= at column 1) by mac 52:54:00:12:34:57")
    }

    func testUnknownMACIsReportedAndTheOthersComeUp() throws {
        let (stack, application) = try apply(
            "skiff.net=mac=02:00:00:00:00:99:addr=198.18.9.10/24 skiff.net=eth0:addr=198.18.0.10/24 "
                + "skiff.net=eth7:dhcp ip=:::::02-00-00-00-00-98:dhcp ip=198.18.5.5/24:::::eth6",
            devices: 2)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[IPv4CIDR("198.18.0.10/24")!], []])
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (skiff.net= at column 53)",
            "config: eth1 from default (no skiff.net=, ip= or iface for it), dhcp pending",
            "config: ip= at column 108 matches no device by mac 02:00:00:00:00:98 "
                + "(devices: eth0 52:54:00:12:34:56, eth1 52:54:00:12:34:57); ignored",
            "config: ip= at column 139 matches no device by name eth6 (devices: eth0, eth1); ignored",
            "config: skiff.net= at column 1 matches no device by mac 02:00:00:00:00:99 "
                + "(devices: eth0 52:54:00:12:34:56, eth1 52:54:00:12:34:57); ignored",
            "config: skiff.net= at column 88 matches no device by name eth7 (devices: eth0, eth1); ignored",
        ])
    }

    func testOneIPTooManyIsReported() throws {
        let (_, application) = try apply("ip=dhcp ip=dhcp", devices: 1)
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (ip= at column 1), dhcp pending",
            "config: ip= at column 9 matches no device: every device already has an ip= (devices: eth0); ignored",
        ])
    }

    func testNameAndMACOnTheSameDeviceIsAnError() throws {
        let text = "skiff.net=eth1:dhcp skiff.net=mac=52:54:00:12:34:57:off"
        let stack = NetworkStack()
        let configuration = NetworkConfiguration(boot: try BootConfiguration(commandLine: text))
        let error = commandLineError { () throws(CommandLineError) in
            try configuration.apply(to: stack, devices: [FakeDevice(name: "a", macAddress: ethMAC0),
                                                         FakeDevice(name: "b", macAddress: ethMAC1)], now: self.now)
        }
        XCTAssertEqual(error, CommandLineError(column: 21, problem: .net(.sameDevice("eth1", firstColumn: 1))))
        XCTAssertEqual(error?.description,
                       "command line column 21: skiff.net= selects eth1, which the skiff.net= at column 1 already configures")
        XCTAssertTrue(stack.interfaces.isEmpty)
    }

    func testOffLeavesTheDeviceDownWithoutTheDefault() throws {
        let (stack, application) = try apply("skiff.net=eth1:off ip=off", modules: ["iface eth1 inet dhcp\n"], devices: 3)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [], []])
        XCTAssertEqual(application.interfaces.map(\.pendingAutoconf), [nil, nil, .dhcp])
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (ip= at column 20), off",
            "config: eth1 from command line (skiff.net= at column 1), off",
            "config: eth1: interfaces (module 1, line 1) iface eth1 overridden by the command line",
            "config: eth2 from default (no skiff.net=, ip= or iface for it), dhcp pending",
        ])
    }

    func testWithoutFallbackNothingMeansUnconfigured() throws {
        let (_, application) = try apply("", devices: 1, fallback: nil)
        XCTAssertEqual(application.lines, ["config: eth0 unconfigured"])
        XCTAssertNil(application.interfaces[0].pendingAutoconf)
    }

    func testMTUAndDNSOrder() throws {
        let (stack, application) = try apply(
            "ip=198.18.0.10/24:::::eth0:off:198.18.0.51 skiff.net=eth1:dhcp,mtu=1400,dns=198.18.0.52,search=cmd.example "
                + "skiff.net=eth2:addr=198.18.2.10/24,mtu=9000",
            modules: ["iface eth0 inet dhcp\n dns-nameservers 198.18.0.53\n dns-search file.example\n"], devices: 3)
        XCTAssertEqual(stack.interfaces.map(\.mtu), [1500, 1400, 1500])
        // The stanza was overridden, so its servers are not used.
        XCTAssertEqual(application.dnsServers, [ip("198.18.0.51"), ip("198.18.0.52")])
        XCTAssertEqual(application.dnsSearch, ["cmd.example"])
        XCTAssertEqual(Array(application.lines.suffix(3)), [
            "config: eth2: mtu 9000 is larger than the device's 1500; kept 1500",
            "dns: 198.18.0.51 198.18.0.52",
            "dns: search cmd.example",
        ])
    }

    // MARK: The interfaces file built into the image

    let imageFile = """
        auto eth0
        iface eth0 inet static
            address 198.18.0.10/24
            gateway 198.18.0.1
            up ip route add 198.19.0.0/16 via 198.18.0.2
        """

    func testTheImageFileWithoutModules() throws {
        let (stack, application) = try apply("", image: imageFile, devices: 2)
        XCTAssertEqual(stack.interfaces[0].addresses, [IPv4CIDR("198.18.0.10/24")!])
        XCTAssertEqual(stack.route(to: ip("198.19.1.1"))?.gateway, ip("198.18.0.2"))
        XCTAssertEqual(application.interfaces[0].source, .imageInterfaces(line: 2))
        XCTAssertEqual(application.lines, [
            "config: interfaces from the image (skiff build --interfaces)",
            "config: eth0 from interfaces (image, line 2)",
            "config: eth1 from default (no skiff.net=, ip= or iface for it), dhcp pending",
        ])
    }

    func testAModuleReplacesTheImageFile() throws {
        let (stack, application) = try apply("", modules: ["iface eth1 inet static\n address 198.18.1.10/24\n"],
                                             image: imageFile, devices: 2)
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines, [
            "config: interfaces from module 1; the image's file is not used",
            "config: eth0 from default (no skiff.net=, ip= or iface for it), dhcp pending",
            "config: eth1 from interfaces (module 1, line 1)",
        ])
    }

    func testTheCommandLineWinsOverTheImageFile() throws {
        let (stack, application) = try apply("skiff.net=mac=52:54:00:12:34:56:addr=198.18.0.77/24", image: imageFile, devices: 1)
        XCTAssertEqual(stack.interfaces[0].addresses, [IPv4CIDR("198.18.0.77/24")!])
        // Routes of an overridden stanza are not added either.
        XCTAssertNil(stack.route(to: ip("198.19.1.1")))
        XCTAssertEqual(application.lines, [
            "config: interfaces from the image (skiff build --interfaces)",
            "config: eth0 from command line (skiff.net= at column 1) by mac 52:54:00:12:34:56",
            "config: eth0: interfaces (image, line 2) iface eth0 overridden by the command line",
        ])
    }
}
