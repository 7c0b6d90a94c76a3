import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

final class CPIOArchiveTests: XCTestCase {
    func testRealNewcArchive() throws {
        let archive = try CPIOArchive(Fixtures.cpio)
        XCTAssertEqual(archive.entries.map(\.name), ["etc", "etc/network", "etc/network/interfaces"])
        XCTAssertEqual(archive.entries.map(\.isRegularFile), [false, false, true])
        XCTAssertEqual(archive.contents(at: "etc/network/interfaces"), Array(Fixtures.interfacesText.utf8))
        XCTAssertEqual(archive.contents(at: "./etc/network/interfaces"), Array(Fixtures.interfacesText.utf8))
        XCTAssertNil(archive.contents(at: "etc/network"))
        XCTAssertNil(archive.contents(at: "etc/hosts"))
    }

    func testDotSlashNames() throws {
        // GNU cpio drops the leading "./" it is given; the reader accepts it either way.
        let archive = try CPIOArchive(Fixtures.dotCPIO)
        XCTAssertEqual(archive.entries.map(\.name), ["etc/network/interfaces"])
        XCTAssertEqual(archive.contents(at: "./etc/network/interfaces"), Array(Fixtures.interfacesText.utf8))
        XCTAssertEqual(CPIOArchive.normalize(Array("./etc/network/interfaces".utf8)), Array("etc/network/interfaces".utf8))
        XCTAssertEqual(CPIOArchive.normalize(Array("/./etc/x".utf8)), Array("etc/x".utf8))
    }

    func testEveryTruncationIsAnErrorOrAPrefix() {
        for length in 0..<Fixtures.cpio.count {
            let prefix = Array(Fixtures.cpio[..<length])
            if let archive = try? CPIOArchive(prefix) {
                XCTAssertLessThanOrEqual(archive.entries.count, 3)
            }
        }
        XCTAssertEqual(try? CPIOArchive(Array(Fixtures.cpio[..<50])).entries.count, nil)
    }

    func testBadMagicAndBadHexAreErrors() {
        var bytes = Fixtures.cpio
        bytes[5] = UInt8(ascii: "7")
        XCTAssertThrowsError(try CPIOArchive(bytes)) { XCTAssertEqual($0 as? CPIOError, .badMagic(offset: 0)) }
        bytes = Fixtures.cpio
        bytes[6 + 6 * 8] = UInt8(ascii: "g")   // filesize
        XCTAssertThrowsError(try CPIOArchive(bytes)) { XCTAssertEqual($0 as? CPIOError, .badHeader(offset: 0)) }
        bytes = Fixtures.cpio
        for index in (6 + 6 * 8)..<(6 + 7 * 8) { bytes[index] = UInt8(ascii: "f") }   // a huge filesize
        XCTAssertThrowsError(try CPIOArchive(bytes)) { XCTAssertEqual($0 as? CPIOError, .truncated(offset: 0)) }
    }

    func testRandomCorruptionNeverTraps() {
        var random = SplitMix64(seed: 0xc910)
        for _ in 0..<3000 {
            var bytes = random.next(below: 2) == 0 ? Fixtures.cpio : Fixtures.dotCPIO
            for _ in 0..<(1 + random.next(below: 6)) {
                bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            _ = try? CPIOArchive(bytes)
            _ = try? InterfacesModule.read(bytes, module: 1)
        }
    }
}

final class InflateTests: XCTestCase {
    func testStoredBlock() throws {
        XCTAssertEqual((Fixtures.storedGzip[10] >> 1) & 3, 0)
        XCTAssertEqual(try Inflate.gunzip(Fixtures.storedGzip, limit: 1 << 20), Fixtures.storedData)
    }

    func testFixedHuffmanBlock() throws {
        XCTAssertEqual((Fixtures.fixedGzip[10] >> 1) & 3, 1)
        XCTAssertEqual(try Inflate.gunzip(Fixtures.fixedGzip, limit: 1 << 20), Array(Fixtures.fixedText.utf8))
    }

    func testDynamicHuffmanBlock() throws {
        XCTAssertEqual((Fixtures.dynamicGzip[10] >> 1) & 3, 2)
        XCTAssertEqual(try Inflate.gunzip(Fixtures.dynamicGzip, limit: 1 << 20), Fixtures.dynamicText)
    }

    func testGzipCPIO() throws {
        XCTAssertEqual(try Inflate.gunzip(Fixtures.cpioGzip, limit: 1 << 20), Fixtures.cpio)
    }

    func testConcatenatedMembers() throws {
        XCTAssertEqual(try Inflate.gunzip(Fixtures.fixedGzip + Fixtures.storedGzip, limit: 1 << 20),
                       Array(Fixtures.fixedText.utf8) + Fixtures.storedData)
    }

    func testBadCRCAndISIZE() {
        var bytes = Fixtures.dynamicGzip
        bytes[bytes.count - 8] ^= 1
        XCTAssertThrowsError(try Inflate.gunzip(bytes, limit: 1 << 20)) { XCTAssertEqual($0 as? InflateError, .checksumMismatch) }
        bytes = Fixtures.dynamicGzip
        bytes[bytes.count - 4] ^= 1
        XCTAssertThrowsError(try Inflate.gunzip(bytes, limit: 1 << 20)) { XCTAssertEqual($0 as? InflateError, .sizeMismatch) }
    }

    func testBombHitsTheLimit() throws {
        XCTAssertThrowsError(try Inflate.gunzip(Fixtures.bombGzip, limit: 64 << 10)) {
            XCTAssertEqual($0 as? InflateError, .outputTooLarge(limit: 64 << 10))
        }
        XCTAssertEqual(try Inflate.gunzip(Fixtures.bombGzip, limit: 1 << 20).count, 1 << 20)
        XCTAssertThrowsError(try Inflate.gunzip(Fixtures.bombGzip, limit: (1 << 20) - 1))
    }

    func testHeaderErrors() {
        XCTAssertThrowsError(try Inflate.gunzip([0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0, 0], limit: 100)) {
            XCTAssertEqual($0 as? InflateError, .notGzip)
        }
        XCTAssertThrowsError(try Inflate.gunzip([0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 0, 0], limit: 100)) {
            XCTAssertEqual($0 as? InflateError, .reservedFlags)
        }
        // Block type 3.
        XCTAssertThrowsError(try Inflate.inflate([0x07], limit: 100)) { XCTAssertEqual($0 as? InflateError, .reservedBlockType) }
        // Stored block with LEN != ~NLEN.
        XCTAssertThrowsError(try Inflate.inflate([0x01, 0x05, 0x00, 0x00, 0x00], limit: 100)) {
            XCTAssertEqual($0 as? InflateError, .storedLengthMismatch)
        }
    }

    func testCRC32() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xcbf4_3926)   // the standard check value
    }

    func testEveryTruncationAndRandomCorruptionNeverTraps() {
        for source in [Fixtures.storedGzip, Fixtures.fixedGzip, Fixtures.dynamicGzip, Fixtures.cpioGzip] {
            for length in 0..<source.count {
                XCTAssertThrowsError(try Inflate.gunzip(Array(source[..<length]), limit: 1 << 20))
            }
        }
        var random = SplitMix64(seed: 0x9a1b)
        for _ in 0..<3000 {
            var bytes = random.next(below: 2) == 0 ? Fixtures.dynamicGzip : Fixtures.cpioGzip
            for _ in 0..<(1 + random.next(below: 4)) {
                let index = 10 + random.next(below: bytes.count - 10)
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            }
            _ = try? Inflate.gunzip(bytes, limit: 1 << 16)
        }
    }
}

final class InterfacesModuleTests: XCTestCase {
    func testDetectsEveryForm() throws {
        let plain = try InterfacesModule.read(Array(Fixtures.interfacesText.utf8), module: 1)
        XCTAssertEqual(plain?.format, .plain)
        XCTAssertEqual(try InterfacesModule.read(Fixtures.cpio, module: 2)?.format, .cpio)
        let gzipped = try InterfacesModule.read(Fixtures.cpioGzip, module: 3)
        XCTAssertEqual(gzipped?.format, .gzipCPIO)
        XCTAssertEqual(gzipped?.module, 3)
        XCTAssertEqual(gzipped?.file, plain?.file)
        XCTAssertEqual(gzipped?.file.stanzas.first?.address, IPv4CIDR("198.18.0.10/24"))
        XCTAssertNil(try InterfacesModule.read([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], module: 1))   // an ELF
    }

    func testArchiveWithoutTheFile() {
        let archive = Array(Fixtures.cpio[..<(110 + 4)]) + Array(Fixtures.cpio[(110 + 4)...])
        var renamed = archive
        // Rename etc/network/interfaces to etc/network/interfaceX.
        if let index = (0..<(renamed.count - 22)).first(where: { renamed[$0..<($0 + 22)].elementsEqual("etc/network/interfaces".utf8) }) {
            renamed[index + 21] = UInt8(ascii: "X")
        }
        XCTAssertThrowsError(try InterfacesModule.read(renamed, module: 1)) {
            XCTAssertEqual($0 as? InterfacesModuleError, .noInterfacesFile)
        }
    }
}

final class NetworkConfigurationTests: XCTestCase {
    let now = Instant(nanoseconds: 1_000_000_000)

    func apply(_ commandLine: String, _ texts: [String], devices count: Int = 2) throws -> (NetworkStack, NetworkApplication) {
        let devices = [ethMAC0, ethMAC1, ethMAC2].prefix(count).enumerated().map { FakeDevice(name: "nic\($0.offset)", macAddress: $0.element) }
        let modules = texts.enumerated().map { InterfacesModule(module: $0.offset + 1, format: .plain, file: InterfacesFile($0.element)) }
        let stack = NetworkStack()
        let configuration = NetworkConfiguration(boot: try BootConfiguration(commandLine: commandLine), modules: modules)
        return (stack, try configuration.apply(to: stack, devices: devices, now: now))
    }

    func testStaticStanzaConfiguresLikeIP() throws {
        let (stack, application) = try apply("", ["""
        auto eth0
        iface eth0 inet static
            address 198.18.0.10/24
            gateway 198.18.0.1
            mtu 1400
            dns-nameservers 198.18.0.53
            dns-search example.com
            up ip route add 198.19.0.0/16 via 198.18.0.2
        """])
        XCTAssertEqual(ConfigurationReport.lines(stack), [
            "net: eth0 198.18.0.10/24 mtu 1400 mac 52:54:00:12:34:56",
            "net: eth1 mtu 1500 mac 52:54:00:12:34:57",
            "route: 198.18.0.0/24 dev eth0",
            "route: default via 198.18.0.1 dev eth0",
            "route: 198.19.0.0/16 via 198.18.0.2 dev eth0",
        ])
        XCTAssertEqual(application.lines, [
            "config: eth0 from interfaces (module 1, line 2)",
            "config: eth1 from default (no skiff.net=, ip= or iface for it), dhcp pending",
            "dns: 198.18.0.53",
            "dns: search example.com",
        ])
        XCTAssertEqual(application.interfaces[0].source, .interfaces(module: 1, line: 2))
    }

    func testCommandLineWinsForTheSameDevice() throws {
        let (stack, application) = try apply("ip=198.18.5.10/24:::::eth0", [
            "iface eth0 inet static\n address 198.18.0.10/24\niface eth1 inet static\n address 198.18.1.10/24\n",
        ])
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[IPv4CIDR("198.18.5.10/24")!], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines, [
            "config: eth0 from command line (ip= at column 1)",
            "config: eth0: interfaces (module 1, line 1) iface eth0 overridden by the command line",
            "config: eth1 from interfaces (module 1, line 3)",
        ])
    }

    func testHwaddressSelectsTheDeviceByMAC() throws {
        let (stack, application) = try apply("", [
            "iface lan0 inet static\n address 198.18.1.10/24\n hwaddress ether 52:54:00:12:34:57\n",
        ])
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines, [
            "config: eth0 from default (no skiff.net=, ip= or iface for it), dhcp pending",
            "config: eth1 from interfaces (module 1, line 1) by hwaddress 52:54:00:12:34:57 as lan0",
        ])
    }

    func testBadStanzaLeavesOnlyItsDeviceUnconfigured() throws {
        let (stack, application) = try apply("", [
            "iface eth0 inet static\n address 198.18.0.300/24\niface eth1 inet static\n address 198.18.1.10/24\n",
        ])
        XCTAssertEqual(stack.interfaces.map(\.addresses), [[], [IPv4CIDR("198.18.1.10/24")!]])
        XCTAssertEqual(application.lines, [
            "config: eth0 unconfigured",
            "config: eth0: interfaces (module 1, line 1) iface eth0 has errors; left unconfigured",
            "config: eth1 from interfaces (module 1, line 3)",
        ])
    }

    func testDHCPIsPendingAndUnknownInterfacesAndLargeMTUAreReported() throws {
        let (_, application) = try apply("", [
            "iface eth0 inet dhcp\n mtu 9000\niface eth7 inet static\n address 198.18.7.10/24\n",
            "iface eth0 inet static\n address 198.18.0.10/24\n",
        ])
        XCTAssertEqual(application.interfaces[0].pendingAutoconf, .dhcp)
        XCTAssertEqual(application.lines, [
            "config: eth0 from interfaces (module 1, line 1), dhcp pending",
            "config: eth0: mtu 9000 is larger than the device's 1500; kept 1500",
            "config: eth1 from default (no skiff.net=, ip= or iface for it), dhcp pending",
            "config: iface eth7 at interfaces (module 1, line 3) matches no device by name (devices: eth0, eth1)",
            "config: iface eth0 at interfaces (module 2, line 1) ignored: eth0 is already configured by line 1",
        ])
    }

    func testWithoutModulesIsTheOldApply() throws {
        let (stack, _) = try apply("ip=198.18.0.10::198.18.0.1:255.255.255.0", [], devices: 1)
        XCTAssertEqual(ConfigurationReport.lines(stack), [
            "net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56",
            "route: 198.18.0.0/24 dev eth0",
            "route: default via 198.18.0.1 dev eth0",
        ])
    }
}
