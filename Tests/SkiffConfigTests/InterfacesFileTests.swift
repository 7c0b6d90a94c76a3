import SkiffWire
import XCTest
@testable import SkiffConfig

final class InterfacesFileTests: XCTestCase {
    func testEveryDirective() {
        let file = InterfacesFile("""
        # The loopback network interface
        auto lo
        iface lo inet loopback

        auto eth0
        allow-hotplug eth1
        iface eth0 inet static
            address 198.18.0.10
            netmask 255.255.255.0
            gateway 198.18.0.1
            mtu 1400
            hwaddress ether 52:54:00:12:34:56
            dns-nameservers 198.18.0.1 198.18.0.2
            dns-search example.com example.org
            up ip route add 198.19.0.0/16 via 198.18.0.2 dev eth0
            post-up route add -net 198.20.0.0 netmask 255.255.0.0 gw 198.18.0.3
            down ip route del 198.19.0.0/16
        iface eth1 inet dhcp
        iface eth2 inet manual
        """)
        XCTAssertEqual(file.diagnostics, [])
        XCTAssertEqual(file.stanzas.map(\.name), ["lo", "eth0", "eth1", "eth2"])
        XCTAssertEqual(file.stanzas.map(\.method), [.loopback, .staticAddress, .dhcp, .manual])
        let eth0 = file.stanzas[1]
        XCTAssertEqual(eth0.line, 7)
        XCTAssertEqual(eth0.address, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(eth0.gateway, ip("198.18.0.1"))
        XCTAssertEqual(eth0.mtu, 1400)
        XCTAssertEqual(eth0.hardwareAddress, ethMAC0)
        XCTAssertEqual(eth0.dnsServers, [ip("198.18.0.1"), ip("198.18.0.2")])
        XCTAssertEqual(eth0.dnsSearch, ["example.com", "example.org"])
        XCTAssertEqual(eth0.routes, [
            InterfacesRoute(destination: IPv4CIDR("198.19.0.0/16")!, gateway: ip("198.18.0.2"), device: "eth0", line: 15),
            InterfacesRoute(destination: IPv4CIDR("198.20.0.0/16")!, gateway: ip("198.18.0.3"), line: 16),
        ])
        XCTAssertTrue(eth0.isAuto)
        XCTAssertTrue(file.stanzas[2].isHotplug)
        XCTAssertFalse(file.stanzas[3].isAuto)
        XCTAssertTrue(file.stanzas.allSatisfy(\.isValid))
        XCTAssertEqual(file.autoNames, ["lo", "eth0", "eth1"])
    }

    func testCIDRAddressAndNetmaskAsPrefixLength() {
        let file = InterfacesFile("iface eth0 inet static\naddress 198.18.0.10\nnetmask 16\n")
        XCTAssertEqual(file.stanzas[0].address, IPv4CIDR("198.18.0.10/16"))
        let cidr = InterfacesFile("iface eth0 inet static\n\taddress 198.18.0.10/24\n")
        XCTAssertEqual(cidr.stanzas[0].address, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(cidr.diagnostics, [])
    }

    func testRouteForms() {
        let file = InterfacesFile("""
        iface eth0 inet static
          address 198.18.0.10/24
          up ip route add default via 198.18.0.5
          up ip route add 198.21.0.7 via 198.18.0.6
          up route add -host 198.22.0.1 gw 198.18.0.7
          post-up route add default gw 198.18.0.8 dev eth0
          up ip r a 198.23.0.0/24 via 198.18.0.9
        """)
        XCTAssertEqual(file.diagnostics, [])
        XCTAssertEqual(file.stanzas[0].routes.map(\.destination.description),
                       ["0.0.0.0/0", "198.21.0.7/32", "198.22.0.1/32", "0.0.0.0/0", "198.23.0.0/24"])
        XCTAssertEqual(file.stanzas[0].routes.map(\.gateway.description),
                       ["198.18.0.5", "198.18.0.6", "198.18.0.7", "198.18.0.8", "198.18.0.9"])
    }

    func testLineContinuationsCommentsBlankLinesAndCRLF() {
        let file = InterfacesFile("# comment\r\n\r\n   # indented comment\niface eth0 \\\n inet static\n  address \\\n  198.18.0.10/24\r\n\n  up ip route add 198.19.0.0/16 \\\n    via 198.18.0.2\n")
        XCTAssertEqual(file.diagnostics, [])
        XCTAssertEqual(file.stanzas.count, 1)
        XCTAssertEqual(file.stanzas[0].line, 4)
        XCTAssertEqual(file.stanzas[0].address, IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(file.stanzas[0].routes.first?.gateway, ip("198.18.0.2"))
        XCTAssertEqual(file.stanzas[0].routes.first?.line, 9)
    }

    func testBadAddressIsAnErrorWithLineAndColumnAndOnlyThatInterfaceIsUnconfigured() {
        let file = InterfacesFile("""
        iface eth0 inet static
            address 198.18.0.10/24
        iface eth1 inet static
            address 198.18.1.300/24
            gateway 198.18.1.1
        """)
        XCTAssertEqual(file.diagnostics.map(\.description),
                       ["interfaces:4:13: address \"198.18.1.300/24\" is not an IPv4 address (a.b.c.d or a.b.c.d/n)"])
        XCTAssertEqual(file.stanzas.map(\.isValid), [true, false])
        XCTAssertNil(file.stanzas[1].address)
        XCTAssertEqual(file.validStanzas.map(\.name), ["eth0"])
    }

    func testErrorsNameTheirColumn() {
        func first(_ text: String) -> String? { InterfacesFile(text).diagnostics.first?.description }
        XCTAssertEqual(first("iface eth0 inet static\n  address 198.18.0.10\n"),
                       "interfaces:2:11: address 198.18.0.10 has no netmask: write 198.18.0.10/24 or add a netmask line")
        XCTAssertEqual(first("iface eth0 inet static\n  address 198.18.0.10/33\n"),
                       "interfaces:2:23: prefix length in \"198.18.0.10/33\" is not 1 to 32")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n netmask 255.0.255.0\n"),
                       "interfaces:3:10: netmask 255.0.255.0 is not contiguous (ones, then zeros: e.g. 255.255.255.0)")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n netmask 255.255.0.0\n"),
                       "interfaces:3:10: netmask 255.255.0.0 disagrees with the address's prefix length /24")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n gateway 198.19.0.1\n"),
                       "interfaces:3:10: gateway 198.19.0.1 is not inside 198.18.0.0/24")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.0/24\n"),
                       "interfaces:2:10: address 198.18.0.0 is the network address of 198.18.0.0/24")
        XCTAssertEqual(first("iface eth0 inet static\n address 224.0.0.1/24\n"),
                       "interfaces:2:10: address 224.0.0.1 is not a unicast address")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n mtu 20\n"),
                       "interfaces:3:6: mtu \"20\" is not a number from 68 to 65535")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n hwaddress ether 52:54:zz:00:00:01\n"),
                       "interfaces:3:18: hwaddress \"52:54:zz:00:00:01\" is not a MAC address (aa:bb:cc:dd:ee:ff)")
        XCTAssertEqual(first("iface eth0 inet static\n gateway 198.18.0.1\n"),
                       "interfaces:1:1: iface eth0 inet static has no address")
        XCTAssertEqual(first("iface eth0 inet bogus\n"),
                       "interfaces:1:17: method \"bogus\" is not one of static, dhcp, manual, loopback")
        XCTAssertEqual(first("  address 198.18.0.10/24\n"),
                       "interfaces:1:3: option address outside an iface stanza")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n up ip route add 198.19.0.0/16 via 198.20.0.1\n"),
                       "interfaces:3:36: route gateway 198.20.0.1 is not inside 198.18.0.0/24")
        XCTAssertEqual(first("iface eth0 inet static\n address 198.18.0.10/24\n up route add -net 198.19.0.0 gw 198.18.0.1\n"),
                       "interfaces:3:20: route -net 198.19.0.0 needs a netmask (netmask 255.255.0.0) or /n")
        XCTAssertEqual(first("iface eth0 inet dhcp\niface eth0 inet static\n"),
                       "interfaces:2:7: iface eth0 is already defined on line 1; this stanza is ignored")
        XCTAssertEqual(first("iface eth0/1 inet dhcp\n"),
                       "interfaces:1:7: \"eth0/1\" is not an interface name (at most 15 bytes; no '/', ':')")
    }

    func testWarnings() {
        let file = InterfacesFile("""
        source /etc/network/interfaces.d/*
        source-directory /etc/network/interfaces.d
        mapping eth0
            script /usr/local/sbin/map-scheme
        iface eth0 inet static
            address 198.18.0.10/24
            wireless-essid home
            up /usr/local/bin/start-vpn
        iface eth0 inet6 auto
            address 2001:db8::1/64
        """)
        XCTAssertEqual(file.diagnostics.map(\.description), [
            "interfaces:1: warning: source is not supported in a boot module (one file only); ignored",
            "interfaces:2: warning: source-directory is not supported in a boot module (one file only); ignored",
            "interfaces:3: warning: mapping stanzas are not supported; ignored",
            "interfaces:7: warning: unknown option \"wireless-essid\" ignored",
            "interfaces:8: warning: up command not run (only static route commands are): /usr/local/bin/start-vpn",
            "interfaces:9: warning: iface eth0 inet6: only inet is supported; stanza ignored",
        ])
        XCTAssertEqual(file.stanzas.count, 1)
        XCTAssertTrue(file.stanzas[0].isValid)
        XCTAssertTrue(file.errors.isEmpty)
    }

    func testDiagnosticsAreBounded() {
        let text = String(repeating: "bogus-option 1\n", count: 500)
        let file = InterfacesFile(text)
        XCTAssertEqual(file.diagnostics.count, InterfacesFile.diagnosticLimit + 1)
        XCTAssertEqual(file.diagnostics.last?.description, "interfaces:64: warning: 436 more diagnostics left out")
    }

    func testGarbageNeverTraps() {
        var random = SplitMix64(seed: 0x1f0c_e55e)
        let alphabet = Array("iface eth0 inet static address netmask gateway up ip route add via -net gw 198.18.0.1/24 \\\n#\t\r\0\u{ff}".utf8)
        for _ in 0..<3000 {
            let count = random.next(below: 200)
            let bytes = (0..<count).map { _ in random.next(below: 4) == 0 ? UInt8(truncatingIfNeeded: random.next()) : alphabet[random.next(below: alphabet.count)] }
            let file = InterfacesFile.parse(bytes)
            for stanza in file.stanzas where !stanza.isValid { XCTAssertNil(stanza.address) }
        }
    }
}
