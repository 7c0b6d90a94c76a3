import SkiffWire
import XCTest
@testable import SkiffConfig

final class IPParameterTests: XCTestCase {
    /// The only `ip=` of `text`.
    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> IPParameter {
        let configuration = try BootConfiguration(commandLine: text)
        XCTAssertEqual(configuration.ipParameters.count, 1, file: file, line: line)
        return try XCTUnwrap(configuration.ipParameters.first, file: file, line: line)
    }

    /// The error `text` gives, which must be `problem` at the column of `needle`.
    func assertError(_ text: String, at needle: String, skipping: Int = 0, _ problem: CommandLineError.Problem,
                     file: StaticString = #filePath, line: UInt = #line) {
        let error = commandLineError({ () throws(CommandLineError) in try BootConfiguration(commandLine: text) },
                                     file: file, line: line)
        let expected = CommandLineError(column: column(of: needle, in: text, skipping: skipping, file: file, line: line),
                                        problem: problem)
        XCTAssertEqual(error, expected, file: file, line: line)
    }

    // MARK: Forms

    func testFullForm() throws {
        let text = "ip=198.18.0.10:198.18.0.2:198.18.0.1:255.255.255.0:box-1.example:eth0:off:198.18.0.53:198.18.0.54:198.18.0.123"
        let p = try parse(text)
        XCTAssertEqual(column(of: "eth0", in: text), 66)
        XCTAssertEqual(p, IPParameter(autoconf: .off, address: ip("198.18.0.10"), prefixLength: 24,
                                      server: ip("198.18.0.2"), gateway: ip("198.18.0.1"), hostname: "box-1.example",
                                      device: "eth0", dnsServers: [ip("198.18.0.53"), ip("198.18.0.54")],
                                      ntpServer: ip("198.18.0.123"), column: 1, deviceColumn: 66))
        XCTAssertTrue(p.isStatic)
        XCTAssertEqual(p.interfaceAddress, IPv4CIDR("198.18.0.10/24"))
    }

    func testPartialFormWithoutAutoconfIsStatic() throws {
        let p = try parse("ip=198.18.0.10::198.18.0.1:255.255.255.0")
        XCTAssertEqual(p.autoconf, .off)
        XCTAssertTrue(p.isStatic)
        XCTAssertEqual(p.interfaceAddress, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(p.gateway, ip("198.18.0.1"))
        XCTAssertNil(p.server)
        XCTAssertNil(p.device)
        XCTAssertNil(p.hostname)
        XCTAssertEqual(p.dnsServers, [])
    }

    func testEmptyFieldsWithAutoconf() throws {
        let p = try parse("ip=:::::eth1:dhcp")
        XCTAssertEqual(p, IPParameter(autoconf: .dhcp, device: "eth1", column: 1, deviceColumn: 9))
        XCTAssertFalse(p.isStatic)
    }

    func testEmptyFieldsWithoutClientMeanAutoconfiguration() throws {
        XCTAssertEqual(try parse("ip=::::box").autoconf, .any)
        XCTAssertEqual(try parse("ip=::::box").hostname, "box")
        XCTAssertEqual(try parse("ip=").autoconf, .any)
        XCTAssertEqual(try parse("ip=:::::::198.18.0.53").dnsServers, [ip("198.18.0.53")])
    }

    func testShortForms() throws {
        let cases: [(String, IPAutoconf)] = [
            ("off", .off), ("none", .off), ("on", .any), ("any", .any), ("dhcp", .dhcp),
            ("bootp", .bootp), ("rarp", .rarp), ("both", .both), ("DHCP", .dhcp), ("Off", .off),
        ]
        for (word, mode) in cases {
            let p = try parse("ip=\(word)")
            XCTAssertEqual(p, IPParameter(autoconf: mode, column: 1), word)
            XCTAssertFalse(p.isStatic, word)
        }
    }

    func testOffWithoutClientLeavesDeviceUnconfigured() throws {
        let p = try parse("ip=:::::eth0:off")
        XCTAssertEqual(p.autoconf, .off)
        XCTAssertNil(p.address)
        XCTAssertFalse(p.isStatic)
    }

    func testPrefixLengthExtension() throws {
        let p = try parse("ip=198.18.0.10/24::198.18.0.1")
        XCTAssertEqual(p.interfaceAddress, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(p.gateway, ip("198.18.0.1"))
        XCTAssertTrue(p.isStatic)
        // A value that is only the client.
        XCTAssertEqual(try parse("ip=10.1.2.3/8").interfaceAddress, IPv4CIDR("10.1.2.3/8"))
        // With a netmask that agrees.
        XCTAssertEqual(try parse("ip=198.18.0.10/16:::255.255.0.0").prefixLength, 16)
    }

    func testPointToPointAndHostPrefixes() throws {
        // RFC 3021: both addresses of a /31 are hosts.
        let p31 = try parse("ip=198.18.0.10/31::198.18.0.11")
        XCTAssertEqual(p31.interfaceAddress, IPv4CIDR("198.18.0.10/31"))
        XCTAssertEqual(try parse("ip=198.18.0.11/31::198.18.0.10").gateway, ip("198.18.0.10"))
        XCTAssertEqual(try parse("ip=198.18.0.10:::255.255.255.255").prefixLength, 32)
    }

    func testZeroAddressMeansNone() throws {
        let p = try parse("ip=0.0.0.0:0.0.0.0:0.0.0.0:0.0.0.0:::dhcp:0.0.0.0")
        XCTAssertEqual(p, IPParameter(autoconf: .dhcp, column: 1))
        XCTAssertEqual(try parse("ip=198.18.0.10/24:0.0.0.0:0.0.0.0").gateway, nil)
    }

    func testClientWithAutoconfNeedsNoNetmask() throws {
        let p = try parse("ip=198.18.0.10::::::dhcp")
        XCTAssertEqual(p.autoconf, .dhcp)
        XCTAssertEqual(p.address, ip("198.18.0.10"))
        XCTAssertNil(p.prefixLength)
        XCTAssertNil(p.interfaceAddress)
        XCTAssertFalse(p.isStatic)
    }

    func testQuotedValue() throws {
        let a = try parse(#"quiet ip="198.18.0.10/24::198.18.0.1""#)
        let b = try parse(#"quiet "ip=198.18.0.10/24::198.18.0.1""#)
        XCTAssertEqual(a.interfaceAddress, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(b.interfaceAddress, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(a.column, 7)
        XCTAssertEqual(b.column, 8)
    }

    func testSeveralDevices() throws {
        let text = "ip=198.18.0.10/24::198.18.0.1::lb:eth0 ip=198.18.1.10/24:::::eth1 ip=:::::eth2:dhcp"
        let configuration = try BootConfiguration(commandLine: text)
        XCTAssertEqual(configuration.ipParameters.map(\.device), ["eth0", "eth1", "eth2"])
        XCTAssertEqual(configuration.ipParameters.map(\.autoconf), [.off, .off, .dhcp])
        XCTAssertEqual(configuration.ipParameters.map(\.column), [1, 40, 67])
        XCTAssertEqual(configuration.ipParameters.map(\.deviceColumn),
                       [column(of: "eth0", in: text), column(of: "eth1", in: text), column(of: "eth2", in: text)])
        XCTAssertEqual(configuration.hostname, "lb")
    }

    func testDNSServersOfAllParametersEachOnce() throws {
        let configuration = try BootConfiguration(
            commandLine: "ip=:::::eth0:dhcp:198.18.0.53:198.18.0.54 ip=:::::eth1:dhcp:198.18.0.54:198.18.0.55")
        XCTAssertEqual(configuration.dnsServers, [ip("198.18.0.53"), ip("198.18.0.54"), ip("198.18.0.55")])
        XCTAssertNil(configuration.hostname)
    }

    func testOtherParametersAreKept() throws {
        let configuration = try BootConfiguration(commandLine: "console=ttyS0 skiff.verbose ip=dhcp -- app")
        XCTAssertEqual(configuration.ipParameters.count, 1)
        XCTAssertTrue(configuration.commandLine.hasFlag("skiff.verbose"))
        XCTAssertEqual(configuration.commandLine.applicationArguments.map(\.key), ["app"])
    }

    func testNoIPParameter() throws {
        XCTAssertEqual(try BootConfiguration(commandLine: "console=ttyS0").ipParameters, [])
        XCTAssertEqual(try BootConfiguration(commandLine: "").ipParameters, [])
    }

    func testCanonicalTextParsesBack() throws {
        let values = [
            "198.18.0.10:198.18.0.2:198.18.0.1:255.255.255.0:box:eth0:off:198.18.0.53:198.18.0.54:198.18.0.123",
            "198.18.0.10/24::198.18.0.1", "dhcp", "off", "on", "", ":::::eth0:off", ":::::eth1:dhcp",
            "198.18.0.10::::::dhcp", ":::::::198.18.0.53", "::::box", "10.0.0.1/8:::::::::10.0.0.2",
        ]
        let expected = [
            "198.18.0.10/24:198.18.0.2:198.18.0.1::box:eth0::198.18.0.53:198.18.0.54:198.18.0.123",
            "198.18.0.10/24::198.18.0.1", "dhcp", "off", "on", "on", ":::::eth0:off", ":::::eth1:dhcp",
            "198.18.0.10::::::dhcp", ":::::::198.18.0.53", "::::box", "10.0.0.1/8:::::::::10.0.0.2",
        ]
        for (value, canonical) in zip(values, expected) {
            let p = try IPParameter.parse(value)
            XCTAssertEqual(p.text, canonical, value)
            var again = try IPParameter.parse(p.text)
            again.deviceColumn = p.deviceColumn
            XCTAssertEqual(again, p, value)
        }
    }

    // MARK: Errors, each with its column

    func testBareIPNeedsAValue() {
        assertError("quiet ip", at: "ip", .missingValue(key: "ip"))
    }

    func testInvalidAddresses() {
        assertError("ip=198.18.0.300/24", at: "198", .invalidAddress(.client, text: "198.18.0.300/24"))
        assertError("ip=198.18.0.10/24:x", at: "x", .invalidAddress(.server, text: "x"))
        assertError("ip=198.18.0.10/24::198.18.0", at: "198.18.0", skipping: 1, .invalidAddress(.gateway, text: "198.18.0"))
        assertError("ip=198.18.0.10:::255.255.255.O", at: "255", .invalidAddress(.netmask, text: "255.255.255.O"))
        assertError("ip=:::::eth0:dhcp:1.2.3.4.5", at: "1.2", .invalidAddress(.dns0, text: "1.2.3.4.5"))
        assertError("ip=:::::eth0:dhcp::-1", at: "-1", .invalidAddress(.dns1, text: "-1"))
        assertError("ip=:::::eth0:dhcp:::1.2.3.", at: "1.2", .invalidAddress(.ntp0, text: "1.2.3."))
        // A stray space ends the parameter.
        assertError("ip=198.18.0.10 /24", at: "198", .missingNetmask(ip("198.18.0.10")))
    }

    func testInvalidPrefixLengths() {
        for bad in ["33", "0", "", "2a", "024", "-1"] {
            assertError("ip=198.18.0.10/\(bad)::198.18.0.1", at: "/", .invalidPrefixLength(text: bad))
        }
    }

    func testNonContiguousNetmask() {
        assertError("ip=198.18.0.10::198.18.0.1:255.0.255.0", at: "255", .nonContiguousNetmask(ip("255.0.255.0")))
    }

    func testStaticAddressNeedsANetmask() {
        let text = "console=ttyS0 ip=198.18.0.10::198.18.0.1"
        assertError(text, at: "198", .missingNetmask(ip("198.18.0.10")))
        let error = commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: text) }
        XCTAssertEqual(error?.description, "command line column 18: ip= client address 198.18.0.10 has no netmask: "
            + "give a prefix length (198.18.0.10/24) or the netmask field (198.18.0.10::<gw-ip>:255.255.255.0)")
        assertError("ip=198.18.0.10::::::off", at: "198", .missingNetmask(ip("198.18.0.10")))
    }

    func testPrefixAndNetmaskMustAgree() {
        assertError("ip=198.18.0.10/24:::255.255.0.0", at: "255", .prefixMismatch(prefixLength: 24, netmask: ip("255.255.0.0")))
    }

    func testClientMustBeUnicast() {
        for bad in ["224.0.0.1/24", "127.0.0.1/8", "255.255.255.255/32", "240.0.0.1/8", "0.1.2.3/8"] {
            let address = ip(String(bad.split(separator: "/")[0]))
            assertError("ip=\(bad)", at: "\(address)", .clientNotUnicast(address))
        }
    }

    func testClientMustNotBeNetworkOrBroadcast() {
        let subnet = IPv4CIDR("198.18.0.0/24")!
        assertError("ip=198.18.0.0/24", at: "198", .clientIsNetworkAddress(ip("198.18.0.0"), subnet: subnet))
        assertError("ip=198.18.0.255:::255.255.255.0", at: "198", .clientIsBroadcastAddress(ip("198.18.0.255"), subnet: subnet))
    }

    func testGatewayOutsideSubnet() {
        let text = "ro ip=198.18.0.10/24::198.19.0.1"
        assertError(text, at: "198.19", .gatewayOutsideSubnet(gateway: ip("198.19.0.1"), subnet: IPv4CIDR("198.18.0.0/24")!))
        let error = commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: text) }
        XCTAssertEqual(error?.description, "command line column 23: ip= gateway 198.19.0.1 is not inside 198.18.0.0/24")
        // A /32 has no room for a gateway.
        assertError("ip=198.18.0.10/32::198.18.0.1", at: "198.18.0.1", skipping: 1,
                    .gatewayOutsideSubnet(gateway: ip("198.18.0.1"), subnet: IPv4CIDR("198.18.0.10/32")!))
    }

    func testGatewayIsNotTheClient() {
        assertError("ip=198.18.0.10/24::198.18.0.10", at: "198.18.0.10", skipping: 1, .gatewayIsClient(ip("198.18.0.10")))
    }

    func testInvalidHostnames() {
        let long = String(repeating: "a", count: 65)
        assertError("ip=::::\(long)", at: long, .invalidHostname(long))
        assertError("ip=::::a_b", at: "a_b", .invalidHostname("a_b"))
        XCTAssertNoThrow(try BootConfiguration(commandLine: "ip=::::" + String(repeating: "a", count: 64)))
    }

    func testInvalidDeviceNames() {
        assertError("ip=:::::eth0123456789abc", at: "eth0", .invalidDeviceName("eth0123456789abc"))
        assertError("ip=:::::a/b", at: "a/b", .invalidDeviceName("a/b"))
        assertError("ip=:::::..", at: "..", .invalidDeviceName(".."))
        assertError(#"ip=":::::e th0""#, at: "e th0", .invalidDeviceName("e th0"))
        XCTAssertNoThrow(try BootConfiguration(commandLine: "ip=:::::eth0123456789ab"))
    }

    func testUnknownAutoconf() {
        assertError("ip=dchp", at: "dchp", .unknownAutoconf("dchp"))
        assertError("ip=:::::eth0:static", at: "static", .unknownAutoconf("static"))
        let error = commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: "ip=dchp") }
        XCTAssertEqual(error?.description,
                       "command line column 4: ip= autoconf \"dchp\" is not one of off, none, on, any, dhcp, bootp, rarp, both")
    }

    func testTooManyFields() {
        assertError("ip=::::::::::x", at: "x", .tooManyFields)
        XCTAssertNoThrow(try BootConfiguration(commandLine: "ip=:::::::::"))
    }

    func testTwoParametersForOneDevice() {
        let text = "ip=:::::eth0:dhcp ip=198.18.0.10/24:::::eth0"
        assertError(text, at: "eth0", skipping: 1, .duplicateDevice("eth0", firstColumn: 1))
        let error = commandLineError { () throws(CommandLineError) in try BootConfiguration(commandLine: text) }
        XCTAssertEqual(error?.description, "command line column 41: ip= device eth0 is already configured by the ip= at column 1")
    }

    func testErrorColumnsInsideQuotes() {
        assertError(#"a "ip=198.18.0.10/24::198.19.0.1""#, at: "198.19",
                    .gatewayOutsideSubnet(gateway: ip("198.19.0.1"), subnet: IPv4CIDR("198.18.0.0/24")!))
        assertError(#"a ip="198.18.0.10/24::198.19.0.1""#, at: "198.19",
                    .gatewayOutsideSubnet(gateway: ip("198.19.0.1"), subnet: IPv4CIDR("198.18.0.0/24")!))
    }

    func testUnterminatedQuoteInIP() {
        assertError(#"ip="198.18.0.10/24"#, at: "\"", .unterminatedQuote)
    }
}
