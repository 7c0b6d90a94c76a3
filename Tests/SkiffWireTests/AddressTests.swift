import XCTest
@testable import SkiffWire

final class AddressTests: XCTestCase {
    func testIPv4AddressParsesDottedQuadStrictly() {
        XCTAssertEqual(IPv4Address("198.18.0.1"), IPv4Address(198, 18, 0, 1))
        XCTAssertEqual(IPv4Address("198.18.0.1")?.description, "198.18.0.1")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ", "a.b.c.d", "1234.1.1.1", ".1.2.3"] {
            XCTAssertNil(IPv4Address(bad), bad)
        }
    }

    func testCIDRParsingAndMasks() throws {
        let cidr = try XCTUnwrap(IPv4CIDR("198.18.0.10/24"))
        XCTAssertEqual(cidr.network, IPv4Address(198, 18, 0, 0))
        XCTAssertEqual(cidr.broadcast, IPv4Address(198, 18, 0, 255))
        XCTAssertTrue(cidr.contains(IPv4Address(198, 18, 0, 99)))
        XCTAssertFalse(cidr.contains(IPv4Address(198, 18, 1, 1)))
        XCTAssertEqual(IPv4CIDR.mask(prefixLength: 0), IPv4Address(0))
        XCTAssertEqual(IPv4CIDR.mask(prefixLength: 19), IPv4Address(255, 255, 224, 0))
        XCTAssertEqual(IPv4CIDR.prefixLength(ofMask: IPv4Address(255, 255, 224, 0)), 19)
        XCTAssertEqual(IPv4CIDR.prefixLength(ofMask: IPv4Address(0)), 0)
        XCTAssertEqual(IPv4CIDR.prefixLength(ofMask: IPv4Address(255, 255, 255, 255)), 32)
        XCTAssertNil(IPv4CIDR.prefixLength(ofMask: IPv4Address(255, 0, 255, 0)))
        for bad in ["198.18.0.1", "198.18.0.1/", "198.18.0.1/33", "198.18.0.1/-1", "198.18.0.1/2a", "/24"] {
            XCTAssertNil(IPv4CIDR(bad), bad)
        }
    }

    func testMACAddressParsingEqualityAndHashing() throws {
        let mac = try XCTUnwrap(MACAddress("52:54:00:12:34:56"))
        XCTAssertEqual(mac.description, "52:54:00:12:34:56")
        XCTAssertEqual(MACAddress("52-54-00-12-34-56"), mac)
        XCTAssertNotEqual(MACAddress("52:54:00:12:34:57"), mac)
        XCTAssertEqual(Set([mac, MACAddress(0x52, 0x54, 0, 0x12, 0x34, 0x56)]).count, 1)
        XCTAssertTrue(MACAddress.broadcast.isMulticast)
        XCTAssertFalse(mac.isMulticast)
        for bad in ["", "52:54:00:12:34", "52:54:00:12:34:56:78", "525:4:00:12:34:56", "52:54:00:12:34:zz", "52::00:12:34:56"] {
            XCTAssertNil(MACAddress(bad), bad)
        }
    }

    func testChecksumOddLengthAndSplitAddsAgree() {
        let data: [UInt8] = [0x45, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x12]
        var whole = InternetChecksum()
        whole.add(data)
        var split = InternetChecksum()
        split.add(Array(data[0..<3]))
        split.add(Array(data[3...]))
        XCTAssertEqual(whole.checksum, split.checksum)
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        var example = InternetChecksum()
        example.add([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
        XCTAssertEqual(example.folded, 0xddf2)
    }
}
