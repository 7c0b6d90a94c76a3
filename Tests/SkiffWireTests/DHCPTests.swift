import XCTest
@testable import SkiffWire

/// Captured with dnsmasq 2.90 and ISC dhclient 4.4.3-P1 over a veth pair between two network
/// namespaces (server 198.18.0.1/24 on vethS, client vethC, MAC d2:0e:98:0d:80:68):
///   dnsmasq --no-daemon --port=0 --interface=vethS --bind-interfaces
///     --dhcp-range=198.18.0.100,198.18.0.200,255.255.255.0,12h
///     --dhcp-option=121,198.18.64.0/19,198.18.0.2,0.0.0.0/0,198.18.0.1
///     --dhcp-option=119,example.test,lab.example.test --dhcp-option=6,198.18.0.1
///     --dhcp-option=26,1500 --domain=example.test
///   dhclient -v -d -1 -cf dhclient.conf -sf /bin/true vethC   (the conf sends host-name
///     "skiff-test" and requests 1, 28, 2, 3, 15, 6, 119, 12, 26, 121)
///   tcpdump -i vethS -w dhcp.pcap udp port 67 or udp port 68
/// Each literal is the UDP payload (the whole DHCP message, trailing padding included).
enum DHCPFixtures {
    static let discover: [UInt8] = [
        0x01, 0x01, 0x06, 0x00, 0xf1, 0xcc, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd2, 0x0e, 0x98, 0x0d,
        0x80, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
        0x35, 0x01, 0x01, 0x0c, 0x0a, 0x73, 0x6b, 0x69, 0x66, 0x66, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x37,
        0x0a, 0x01, 0x1c, 0x02, 0x03, 0x0f, 0x06, 0x77, 0x0c, 0x1a, 0x79, 0xff, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]
    static let offer: [UInt8] = [
        0x02, 0x01, 0x06, 0x00, 0xf1, 0xcc, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc6, 0x12, 0x00, 0xa9, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xd2, 0x0e, 0x98, 0x0d,
        0x80, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
        0x35, 0x01, 0x02, 0x36, 0x04, 0xc6, 0x12, 0x00, 0x01, 0x33, 0x04, 0x00, 0x00, 0xa8, 0xc0, 0x3a,
        0x04, 0x00, 0x00, 0x54, 0x60, 0x3b, 0x04, 0x00, 0x00, 0x93, 0xa8, 0x01, 0x04, 0xff, 0xff, 0xff,
        0x00, 0x1c, 0x04, 0xc6, 0x12, 0x00, 0xff, 0x03, 0x04, 0xc6, 0x12, 0x00, 0x01, 0x0f, 0x0c, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x1a, 0x02, 0x05, 0xdc, 0x06,
        0x04, 0xc6, 0x12, 0x00, 0x01, 0x77, 0x14, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04,
        0x74, 0x65, 0x73, 0x74, 0x00, 0x03, 0x6c, 0x61, 0x62, 0xc0, 0x00, 0x79, 0x0d, 0x13, 0xc6, 0x12,
        0x40, 0xc6, 0x12, 0x00, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xff,
    ]
    static let request: [UInt8] = [
        0x01, 0x01, 0x06, 0x00, 0xf1, 0xcc, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd2, 0x0e, 0x98, 0x0d,
        0x80, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
        0x35, 0x01, 0x03, 0x36, 0x04, 0xc6, 0x12, 0x00, 0x01, 0x32, 0x04, 0xc6, 0x12, 0x00, 0xa9, 0x0c,
        0x0a, 0x73, 0x6b, 0x69, 0x66, 0x66, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x37, 0x0a, 0x01, 0x1c, 0x02,
        0x03, 0x0f, 0x06, 0x77, 0x0c, 0x1a, 0x79, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]
    static let ack: [UInt8] = [
        0x02, 0x01, 0x06, 0x00, 0xf1, 0xcc, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc6, 0x12, 0x00, 0xa9, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xd2, 0x0e, 0x98, 0x0d,
        0x80, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
        0x35, 0x01, 0x05, 0x36, 0x04, 0xc6, 0x12, 0x00, 0x01, 0x33, 0x04, 0x00, 0x00, 0xa8, 0xc0, 0x3a,
        0x04, 0x00, 0x00, 0x54, 0x60, 0x3b, 0x04, 0x00, 0x00, 0x93, 0xa8, 0x01, 0x04, 0xff, 0xff, 0xff,
        0x00, 0x1c, 0x04, 0xc6, 0x12, 0x00, 0xff, 0x03, 0x04, 0xc6, 0x12, 0x00, 0x01, 0x0f, 0x0c, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x0c, 0x0a, 0x73, 0x6b, 0x69,
        0x66, 0x66, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x1a, 0x02, 0x05, 0xdc, 0x06, 0x04, 0xc6, 0x12, 0x00,
        0x01, 0x77, 0x14, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74,
        0x00, 0x03, 0x6c, 0x61, 0x62, 0xc0, 0x00, 0x79, 0x0d, 0x13, 0xc6, 0x12, 0x40, 0xc6, 0x12, 0x00,
        0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xff,
    ]
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small deterministic generator for seeded inputs.
private struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

final class DHCPTests: XCTestCase {
    // MARK: Helpers

    private func parse(_ bytes: [UInt8]) throws -> DHCPMessage {
        try bytes.withUnsafeBytes { try DHCPMessage.parse($0) }
    }

    private func emit(_ message: DHCPMessage) -> [UInt8] {
        var out = [UInt8](repeating: 0xee, count: message.encodedLength)
        out.withUnsafeMutableBytes { message.emit(into: $0) }
        return out
    }

    private func assertParseError(_ bytes: [UInt8], _ expected: DHCPParseError,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(bytes), file: file, line: line) {
            XCTAssertEqual($0 as? DHCPParseError, expected, file: file, line: line)
        }
    }

    /// parse -> emit -> parse gives the same message (padding aside) and emit is then a fixed point.
    private func assertRoundTrips(_ message: DHCPMessage, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = emit(message)
        guard var again = try? parse(bytes) else {
            return XCTFail("emitted message does not parse", file: file, line: line)
        }
        XCTAssertEqual(again.minimumLength, bytes.count, file: file, line: line)
        XCTAssertEqual(emit(again), bytes, file: file, line: line)
        again.minimumLength = message.minimumLength
        XCTAssertEqual(again, message, file: file, line: line)
    }

    /// A message built by hand: a BOOTREPLY for chaddr 02:00:00:00:00:01, xid 0x01020304, then the
    /// given options field (after the cookie), `file` and `sname` areas, zero-padded.
    private func handBuilt(options: [UInt8], file: [UInt8] = [], sname: [UInt8] = [],
                           length: Int = 300) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 236)
        bytes[0] = 2; bytes[1] = 1; bytes[2] = 6
        bytes[4] = 1; bytes[5] = 2; bytes[6] = 3; bytes[7] = 4
        bytes[28] = 2; bytes[33] = 1
        bytes.replaceSubrange(44..<(44 + sname.count), with: sname)
        bytes.replaceSubrange(108..<(108 + file.count), with: file)
        bytes += [99, 130, 83, 99] + options
        if bytes.count < length { bytes += [UInt8](repeating: 0, count: length - bytes.count) }
        return bytes
    }

    private static let fixtures: [(String, [UInt8])] = [
        ("discover", DHCPFixtures.discover), ("offer", DHCPFixtures.offer),
        ("request", DHCPFixtures.request), ("ack", DHCPFixtures.ack),
    ]

    // MARK: Captured messages

    func testCapturedExchangeRoundTripsByteForByte() throws {
        for (name, bytes) in Self.fixtures {
            let message = try parse(bytes)
            XCTAssertEqual(message.encodedLength, bytes.count, name)
            XCTAssertEqual(emit(message), bytes, name)
        }
    }

    func testCapturedDiscoverFields() throws {
        let m = try parse(DHCPFixtures.discover)
        XCTAssertEqual(m.op, .bootRequest)
        XCTAssertEqual(m.htype, 1)
        XCTAssertEqual(m.hlen, 6)
        XCTAssertEqual(m.hops, 0)
        XCTAssertEqual(m.xid, 0xf1cc_0604)
        XCTAssertEqual(m.secs, 0)
        XCTAssertFalse(m.isBroadcast)
        XCTAssertEqual(m.ciaddr, .any)
        XCTAssertEqual(m.yiaddr, .any)
        XCTAssertEqual(m.clientMAC, MACAddress("d2:0e:98:0d:80:68"))
        XCTAssertEqual(m.messageType, .discover)
        XCTAssertEqual(m.hostName, "skiff-test")
        XCTAssertEqual(m.parameterRequestList, [1, 28, 2, 3, 15, 6, 119, 12, 26, 121])
        XCTAssertEqual(m.options.map(\.code), [53, 12, 55])
        XCTAssertEqual(m.minimumLength, 300)
    }

    func testCapturedOfferAndAckFields() throws {
        for (bytes, type) in [(DHCPFixtures.offer, DHCPMessageType.offer), (DHCPFixtures.ack, .ack)] {
            let m = try parse(bytes)
            XCTAssertEqual(m.op, .bootReply)
            XCTAssertEqual(m.messageType, type)
            XCTAssertEqual(m.xid, 0xf1cc_0604)
            XCTAssertEqual(m.yiaddr, IPv4Address(198, 18, 0, 169))
            XCTAssertEqual(m.siaddr, IPv4Address(198, 18, 0, 1))
            XCTAssertEqual(m.serverIdentifier, IPv4Address(198, 18, 0, 1))
            XCTAssertEqual(m.leaseTime, 43200)
            XCTAssertEqual(m.renewalTime, 21600)
            XCTAssertEqual(m.rebindingTime, 37800)
            XCTAssertEqual(m.subnetMask, IPv4Address(255, 255, 255, 0))
            XCTAssertEqual(m.broadcastAddress, IPv4Address(198, 18, 0, 255))
            XCTAssertEqual(m.routers, [IPv4Address(198, 18, 0, 1)])
            XCTAssertEqual(m.domainName, "example.test")
            XCTAssertEqual(m.interfaceMTU, 1500)
            XCTAssertEqual(m.domainNameServers, [IPv4Address(198, 18, 0, 1)])
            XCTAssertEqual(m.domainSearch, ["example.test", "lab.example.test"])
            XCTAssertEqual(m.classlessStaticRoutes, [
                DHCPClasslessRoute(destination: IPv4CIDR("198.18.64.0/19")!, router: IPv4Address(198, 18, 0, 2)),
                DHCPClasslessRoute(destination: IPv4CIDR("0.0.0.0/0")!, router: IPv4Address(198, 18, 0, 1)),
            ])
            XCTAssertNil(m.requestedIPAddress)
            XCTAssertNil(m.overload)
        }
        XCTAssertEqual(try parse(DHCPFixtures.ack).hostName, "skiff-test")
        XCTAssertEqual(try parse(DHCPFixtures.offer).options.map(\.code),
                       [53, 54, 51, 58, 59, 1, 28, 3, 15, 26, 6, 119, 121])
    }

    func testCapturedRequestFields() throws {
        let m = try parse(DHCPFixtures.request)
        XCTAssertEqual(m.messageType, .request)
        XCTAssertEqual(m.serverIdentifier, IPv4Address(198, 18, 0, 1))
        XCTAssertEqual(m.requestedIPAddress, IPv4Address(198, 18, 0, 169))
        XCTAssertEqual(m.options.map(\.code), [53, 54, 50, 12, 55])
    }

    /// A client building DISCOVER and REQUEST with the typed setters produces dhclient's bytes.
    func testBuiltDiscoverAndRequestMatchCapture() {
        var discover = DHCPMessage(op: .bootRequest, xid: 0xf1cc_0604, clientMAC: MACAddress("d2:0e:98:0d:80:68")!)
        discover.messageType = .discover
        discover.hostName = "skiff-test"
        discover.parameterRequestList = [1, 28, 2, 3, 15, 6, 119, 12, 26, 121]
        XCTAssertEqual(discover.encodedLength, DHCPMessage.bootpMinimumLength)
        XCTAssertEqual(emit(discover), DHCPFixtures.discover)

        var request = DHCPMessage(op: .bootRequest, xid: 0xf1cc_0604, clientMAC: MACAddress("d2:0e:98:0d:80:68")!)
        request.messageType = .request
        request.serverIdentifier = IPv4Address(198, 18, 0, 1)
        request.requestedIPAddress = IPv4Address(198, 18, 0, 169)
        request.hostName = "skiff-test"
        request.parameterRequestList = discover.parameterRequestList
        XCTAssertEqual(emit(request), DHCPFixtures.request)
    }

    /// A server building the ACK with the typed setters produces dnsmasq's bytes (no padding: 359 > 300).
    func testBuiltAckMatchesCapture() {
        var ack = DHCPMessage(op: .bootReply, xid: 0xf1cc_0604, clientMAC: MACAddress("d2:0e:98:0d:80:68")!)
        ack.yiaddr = IPv4Address(198, 18, 0, 169)
        ack.siaddr = IPv4Address(198, 18, 0, 1)
        ack.messageType = .ack
        ack.serverIdentifier = IPv4Address(198, 18, 0, 1)
        ack.leaseTime = 43200
        ack.renewalTime = 21600
        ack.rebindingTime = 37800
        ack.subnetMask = IPv4Address(255, 255, 255, 0)
        ack.broadcastAddress = IPv4Address(198, 18, 0, 255)
        ack.routers = [IPv4Address(198, 18, 0, 1)]
        ack.domainName = "example.test"
        ack.hostName = "skiff-test"
        ack.interfaceMTU = 1500
        ack.domainNameServers = [IPv4Address(198, 18, 0, 1)]
        XCTAssertTrue(ack.setDomainSearch(["example.test", "lab.example.test"]))
        ack.classlessStaticRoutes = [
            DHCPClasslessRoute(destination: IPv4CIDR("198.18.64.0/19")!, router: IPv4Address(198, 18, 0, 2)),
            DHCPClasslessRoute(destination: IPv4CIDR("0.0.0.0/0")!, router: IPv4Address(198, 18, 0, 1)),
        ]
        XCTAssertEqual(emit(ack), DHCPFixtures.ack)
    }

    func testEveryTruncationOfEveryFixtureIsAnErrorOrAShorterMessage() throws {
        for (name, bytes) in Self.fixtures {
            let full = try parse(bytes)
            for n in 0..<bytes.count {
                let prefix = Array(bytes[0..<n])
                if n < DHCPView.headerLength {
                    assertParseError(prefix, .truncated)
                    continue
                }
                do {
                    let m = try parse(prefix)
                    // A cut between options (or in the padding) drops the options after it.
                    XCTAssertEqual(m.xid, full.xid, "\(name) \(n)")
                    XCTAssertEqual(m.chaddr, full.chaddr, "\(name) \(n)")
                    XCTAssertEqual(m.options, Array(full.options.prefix(m.options.count)), "\(name) \(n)")
                    XCTAssertEqual(m.minimumLength, n)
                    assertRoundTrips(m)
                } catch {
                    XCTAssertEqual(error as? DHCPParseError, .truncatedOption, "\(name) \(n)")
                }
            }
        }
    }

    // MARK: Fixed fields and errors

    func testRFC2131BroadcastFlagIsTheLeftmostBit() throws {
        var m = try parse(DHCPFixtures.discover)
        m.isBroadcast = true
        var bytes = emit(m)
        XCTAssertEqual(bytes[10], 0x80)
        XCTAssertEqual(bytes[11], 0x00)
        XCTAssertTrue(try parse(bytes).isBroadcast)
        bytes[10] = 0x00; bytes[11] = 0x01
        XCTAssertFalse(try parse(bytes).isBroadcast)
        XCTAssertEqual(try parse(bytes).flags, 1)
        m.isBroadcast = false
        XCTAssertEqual(m.flags, 0)
    }

    func testRFC2131FixedFieldOffsets() throws {
        var bytes = handBuilt(options: [255])
        bytes[3] = 7                                          // hops
        bytes[8] = 0x01; bytes[9] = 0x02                      // secs
        bytes.replaceSubrange(12..<16, with: [198, 18, 0, 10]) // ciaddr
        bytes.replaceSubrange(16..<20, with: [198, 18, 0, 11]) // yiaddr
        bytes.replaceSubrange(20..<24, with: [198, 18, 0, 12]) // siaddr
        bytes.replaceSubrange(24..<28, with: [198, 18, 0, 13]) // giaddr
        bytes.replaceSubrange(44..<48, with: Array("srv\0".utf8))
        bytes.replaceSubrange(108..<116, with: Array("boot.img".utf8))
        let m = try parse(bytes)
        XCTAssertEqual(m.hops, 7)
        XCTAssertEqual(m.secs, 0x0102)
        XCTAssertEqual(m.ciaddr, IPv4Address(198, 18, 0, 10))
        XCTAssertEqual(m.yiaddr, IPv4Address(198, 18, 0, 11))
        XCTAssertEqual(m.siaddr, IPv4Address(198, 18, 0, 12))
        XCTAssertEqual(m.giaddr, IPv4Address(198, 18, 0, 13))
        XCTAssertEqual(m.clientMAC, MACAddress(2, 0, 0, 0, 0, 1))
        XCTAssertEqual(Array(m.sname.prefix(3)), Array("srv".utf8))
        XCTAssertEqual(Array(m.file.prefix(8)), Array("boot.img".utf8))
        XCTAssertEqual(m.sname.count, 64)
        XCTAssertEqual(m.file.count, 128)
        XCTAssertEqual(emit(m), bytes)
        bytes.withUnsafeBytes { raw in
            let view = DHCPView(raw)!
            XCTAssertEqual(view.hops, 7)
            XCTAssertEqual(view.giaddr, IPv4Address(198, 18, 0, 13))
            XCTAssertEqual(Array(view.file.prefix(4)), Array("boot".utf8))
            XCTAssertEqual(view.options.count, 300 - 240)
        }
    }

    func testTooShortBadCookieAndBadOpcodeAreErrors() {
        assertParseError([], .truncated)
        assertParseError(Array(DHCPFixtures.discover[0..<239]), .truncated)
        var bytes = DHCPFixtures.discover
        bytes[239] = 0x62
        assertParseError(bytes, .badMagicCookie)
        bytes.withUnsafeBytes { XCTAssertNil(DHCPView($0)) }
        bytes = DHCPFixtures.discover
        bytes[0] = 3
        assertParseError(bytes, .badOpcode)
        bytes[0] = 0
        assertParseError(bytes, .badOpcode)
    }

    func testRFC2132OptionLengthPastTheAreaIsAnError() {
        assertParseError(handBuilt(options: [12, 5, 0x61, 0x62], length: 0), .truncatedOption)
        assertParseError(handBuilt(options: [12], length: 0), .truncatedOption)
    }

    func testRFC2132PadIsSkippedAndEndStopsTheWalk() throws {
        let bytes = handBuilt(options: [0, 0, 53, 1, 5, 0, 1, 4, 255, 255, 255, 0, 255, 12, 1, 0x61])
        let m = try parse(bytes)
        XCTAssertEqual(m.options.map(\.code), [53, 1])
        XCTAssertEqual(m.subnetMask, IPv4Address(255, 255, 255, 0))
        XCTAssertNil(m.hostName, "options after END are ignored")
        // Without PAD and the bytes after END, the canonical re-encoding is shorter but equal.
        assertRoundTrips(m)
    }

    func testMissingEndIsToleratedAndReEmittedWithEnd() throws {
        let bytes = handBuilt(options: [53, 1, 1, 12, 2, 0x68, 0x69], length: 0)
        let m = try parse(bytes)
        XCTAssertEqual(m.messageType, .discover)
        XCTAssertEqual(m.hostName, "hi")
        XCTAssertEqual(m.minimumLength, 247)
        let out = emit(m)
        XCTAssertEqual(out.count, 248)
        XCTAssertEqual(out.last, 255)
    }

    // MARK: Typed accessors

    func testTypedAccessorsRejectWrongLengths() throws {
        let m = try parse(handBuilt(options: [1, 3, 255, 255, 255, 3, 6, 1, 2, 3, 4, 5, 6, 6, 0,
                                              51, 2, 0, 1, 26, 1, 5, 53, 1, 9, 53 + 1, 0, 255]))
        XCTAssertNil(m.subnetMask)
        XCTAssertNil(m.routers)
        XCTAssertNil(m.domainNameServers)
        XCTAssertNil(m.leaseTime)
        XCTAssertNil(m.interfaceMTU)
        XCTAssertNil(m.messageType, "type 9 is outside RFC 2132 §9.6")
        XCTAssertNil(m.serverIdentifier)
    }

    func testSettersKeepPositionAndNilRemoves() throws {
        var m = try parse(DHCPFixtures.offer)
        m.messageType = .ack
        m.leaseTime = 60
        XCTAssertEqual(m.options.map(\.code), [53, 54, 51, 58, 59, 1, 28, 3, 15, 26, 6, 119, 121])
        XCTAssertEqual(m.option(51), [0, 0, 0, 60])
        m.classlessStaticRoutes = nil
        XCTAssertNil(m.option(121))
        m.requestedIPAddress = IPv4Address(198, 18, 0, 7)
        XCTAssertEqual(m.options.last?.code, 50)
        m.removeOption(50)
        XCTAssertNil(m.requestedIPAddress)
        m.clientIdentifier = [1, 2, 0, 0, 0, 0, 1]
        XCTAssertEqual(m.clientIdentifier, [1, 2, 0, 0, 0, 0, 1])
        m.overload = 2
        XCTAssertEqual(m.overload, 2)
        assertRoundTrips(m)
    }

    func testRFC2132TrailingNulIsDeletedFromText() throws {
        let m = try parse(handBuilt(options: [12, 4, 0x61, 0x62, 0, 0, 15, 1, 0x78, 255]))
        XCTAssertEqual(m.hostName, "ab")
        XCTAssertEqual(m.option(12), [0x61, 0x62, 0, 0], "the raw option keeps the NULs")
        XCTAssertEqual(m.domainName, "x")
    }

    // MARK: RFC 3442 classless static routes

    private func route(_ cidr: String, _ router: String) -> DHCPClasslessRoute {
        DHCPClasslessRoute(destination: IPv4CIDR(cidr)!, router: IPv4Address(router)!)
    }

    /// RFC 3442, "Classless Route Option Format": the destination is sent as its significant octets only.
    func testRFC3442SignificantOctetsForEachWidth() {
        let cases: [(DHCPClasslessRoute, [UInt8])] = [
            (route("0.0.0.0/0", "198.18.0.1"), [0, 198, 18, 0, 1]),
            (route("128.0.0.0/1", "198.18.0.1"), [1, 128, 198, 18, 0, 1]),
            (route("10.0.0.0/8", "198.18.0.1"), [8, 10, 198, 18, 0, 1]),
            (route("198.18.64.0/19", "198.18.0.2"), [19, 198, 18, 64, 198, 18, 0, 2]),
            (route("198.18.5.0/24", "198.18.0.1"), [24, 198, 18, 5, 198, 18, 0, 1]),
            (route("198.18.5.128/25", "198.18.0.1"), [25, 198, 18, 5, 128, 198, 18, 0, 1]),
            (route("198.18.5.7/32", "198.18.0.1"), [32, 198, 18, 5, 7, 198, 18, 0, 1]),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(DHCPClasslessRoute.encode([value]), bytes, value.description)
            XCTAssertEqual(DHCPClasslessRoute.decode(bytes), [value], value.description)
        }
        XCTAssertEqual(DHCPClasslessRoute.significantOctets(prefixLength: 9), 2)
        XCTAssertEqual(DHCPClasslessRoute.significantOctets(prefixLength: 16), 2)
        XCTAssertEqual(DHCPClasslessRoute.significantOctets(prefixLength: 17), 3)
    }

    func testRFC3442SeveralRoutesAndOnLinkRouter() {
        let routes = [
            route("198.18.64.0/19", "198.18.0.2"),
            route("198.18.128.0/24", "0.0.0.0"),   // on-link: router 0.0.0.0
            route("0.0.0.0/0", "198.18.0.1"),
        ]
        let bytes = DHCPClasslessRoute.encode(routes)
        XCTAssertEqual(bytes, [19, 198, 18, 64, 198, 18, 0, 2,
                               24, 198, 18, 128, 0, 0, 0, 0,
                               0, 198, 18, 0, 1])
        XCTAssertEqual(DHCPClasslessRoute.decode(bytes), routes)
        XCTAssertEqual(DHCPClasslessRoute.decode([]), [])
        // Host bits past the prefix in the last significant octet are kept as sent.
        XCTAssertEqual(DHCPClasslessRoute.decode([1, 0xff, 0, 0, 0, 0])?.first?.destination.address,
                       IPv4Address(255, 0, 0, 0))
    }

    func testRFC3442TruncatedAndOverlongPrefixAreRejected() throws {
        let valid: [UInt8] = [25, 198, 18, 5, 128, 198, 18, 0, 1, 0, 198, 18, 0, 1]
        for n in 1..<valid.count where n != 9 {
            XCTAssertNil(DHCPClasslessRoute.decode(Array(valid[0..<n])), "truncated at \(n)")
        }
        XCTAssertEqual(DHCPClasslessRoute.decode(Array(valid[0..<9]))?.count, 1)
        XCTAssertNil(DHCPClasslessRoute.decode([33, 198, 18, 5, 7, 0, 198, 18, 0, 1, 0]), "prefix 33")
        XCTAssertNil(DHCPClasslessRoute.decode([0, 198, 18, 0, 1, 255, 1, 2, 3, 4, 5, 6, 7, 8]))
        let m = try parse(handBuilt(options: [121, 4, 24, 198, 18, 5, 255]))
        XCTAssertNil(m.classlessStaticRoutes)
        XCTAssertEqual(m.option(121), [24, 198, 18, 5], "the raw option survives")
    }

    // MARK: RFC 3396 long options

    func testRFC3396LongOptionIsSplitOnEmit() throws {
        var m = DHCPMessage(op: .bootReply, xid: 1, clientMAC: MACAddress(2, 0, 0, 0, 0, 1))
        m.messageType = .ack
        let long = (0..<600).map { UInt8(truncatingIfNeeded: $0 * 7) }
        m.setOption(43, long)
        let bytes = emit(m)
        // 53 1 5 | 43 255 [0..<255] | 43 255 [255..<510] | 43 90 [510..<600] | END
        XCTAssertEqual(bytes.count, 240 + 3 + 3 * 2 + 600 + 1)
        XCTAssertEqual(Array(bytes[240..<243]), [53, 1, 5])
        XCTAssertEqual(Array(bytes[243..<245]), [43, 255])
        XCTAssertEqual(Array(bytes[245..<500]), Array(long[0..<255]))
        XCTAssertEqual(Array(bytes[500..<502]), [43, 255])
        XCTAssertEqual(Array(bytes[502..<757]), Array(long[255..<510]))
        XCTAssertEqual(Array(bytes[757..<759]), [43, 90])
        XCTAssertEqual(Array(bytes[759..<849]), Array(long[510..<600]))
        XCTAssertEqual(bytes[849], 255)
        let again = try parse(bytes)
        XCTAssertEqual(again.option(43), long)
        XCTAssertEqual(again.options.count, 2)
        XCTAssertEqual(emit(again), bytes)
    }

    func testRFC3396InstancesAreConcatenatedInOrderOnParse() throws {
        let long = (0..<600).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        // Split unevenly (100 + 200 + 255 + 45) and interleaved with another option.
        var options: [UInt8] = [43, 100] + long[0..<100] + [53, 1, 2]
        options += [43, 200] + long[100..<300]
        options += [43, 255] + long[300..<555] + [43, 45] + long[555..<600] + [255]
        let m = try parse(handBuilt(options: options))
        XCTAssertEqual(m.options.map(\.code), [43, 53], "order of first appearance")
        XCTAssertEqual(m.option(43), long)
        // The canonical re-encoding uses 255 + 255 + 90.
        let bytes = emit(m)
        XCTAssertEqual(Array(bytes[240..<242]), [43, 255])
        assertRoundTrips(m)

        let split = try parse(handBuilt(options: [12, 3] + Array("abc".utf8) + [12, 0, 12, 2] + Array("de".utf8) + [255]))
        XCTAssertEqual(split.hostName, "abcde")
    }

    // MARK: RFC 2131 §4.1 / RFC 2132 §9.3 option overload

    /// Constructed by hand from RFC 2131 §4.1 and RFC 2132 §9.3 as a server sending a 548-byte
    /// reply lays it out: the options field (cookie included, 312 octets) is filled first, then
    /// options continue in `file`, then in `sname`, each area ended by END and padded with zeros.
    private static func fullOverloadMessage() -> [UInt8] {
        let filler224 = (0..<255).map { UInt8(truncatingIfNeeded: $0) }
        let filler225 = [UInt8](repeating: 0x25, count: 19)
        let filler226 = [UInt8](repeating: 0x26, count: 85)
        var options: [UInt8] = [53, 1, 5, 52, 1, 3, 54, 4, 198, 18, 0, 1, 51, 4, 0, 0, 0xa8, 0xc0]
        // 296 bytes so far; option 15 (14 bytes) would pass the 307 left after the cookie and END.
        options += [224, 255] + filler224 + [225, 19] + filler225
        options += [255]
        options += [UInt8](repeating: 0, count: 308 - options.count)
        var file: [UInt8] = [15, 12] + Array("example.test".utf8)
        file += [119, 20, 7] + Array("example".utf8) + [4] + Array("test".utf8) + [0, 3] + Array("lab".utf8) + [0xc0, 0]
        file += [226, 85] + filler226 + [255]                       // 123 bytes + END
        file += [UInt8](repeating: 0, count: 128 - file.count)
        var sname: [UInt8] = [12, 10] + Array("skiff-test".utf8) + [255]
        sname += [UInt8](repeating: 0, count: 64 - sname.count)
        var bytes = [UInt8](repeating: 0, count: 236)
        bytes[0] = 2; bytes[1] = 1; bytes[2] = 6
        bytes[4] = 1; bytes[5] = 2; bytes[6] = 3; bytes[7] = 4
        bytes[28] = 2; bytes[33] = 1
        bytes.replaceSubrange(44..<108, with: sname)
        bytes.replaceSubrange(108..<236, with: file)
        return bytes + [99, 130, 83, 99] + options
    }

    func testRFC2132Overload3ParsesFileThenSnameAndRoundTripsByteForByte() throws {
        let bytes = Self.fullOverloadMessage()
        XCTAssertEqual(bytes.count, 548)
        let m = try parse(bytes)
        XCTAssertEqual(m.overload, 3)
        XCTAssertEqual(m.options.map(\.code), [53, 52, 54, 51, 224, 225, 15, 119, 226, 12])
        XCTAssertEqual(m.domainName, "example.test")
        XCTAssertEqual(m.domainSearch, ["example.test", "lab.example.test"])
        XCTAssertEqual(m.hostName, "skiff-test")
        XCTAssertEqual(m.file, [UInt8](repeating: 0, count: 128), "file carried options, not a name")
        XCTAssertEqual(m.sname, [UInt8](repeating: 0, count: 64))
        XCTAssertEqual(emit(m), bytes)
    }

    func testRFC2132Overload1OptionsContinueInFile() throws {
        var file: [UInt8] = [3, 4, 198, 18, 0, 1, 0, 6, 4, 198, 18, 0, 1, 255]
        file += [0xaa, 0xbb]   // after END: ignored
        let bytes = handBuilt(options: [53, 1, 2, 52, 1, 1, 255], file: file,
                              sname: Array("server-name".utf8))
        let m = try parse(bytes)
        XCTAssertEqual(m.messageType, .offer)
        XCTAssertEqual(m.routers, [IPv4Address(198, 18, 0, 1)])
        XCTAssertEqual(m.domainNameServers, [IPv4Address(198, 18, 0, 1)])
        XCTAssertEqual(m.file, [UInt8](repeating: 0, count: 128))
        XCTAssertEqual(Array(m.sname.prefix(11)), Array("server-name".utf8), "sname not overloaded")
        // Everything fits in the options field, so that is where the re-encoding puts it; `file`
        // then carries only END.
        let out = emit(m)
        XCTAssertEqual(out[108], 255)
        XCTAssertEqual(Array(out[240..<243]), [53, 1, 2])
        assertRoundTrips(m)
    }

    func testRFC2132Overload2OptionsContinueInSnameAndFileKeepsItsName() throws {
        let bytes = handBuilt(options: [53, 1, 2, 52, 1, 2, 255],
                              file: Array("pxelinux.0".utf8),
                              sname: [15, 8] + Array("lab.test".utf8) + [255])
        let m = try parse(bytes)
        XCTAssertEqual(m.domainName, "lab.test")
        XCTAssertEqual(m.sname, [UInt8](repeating: 0, count: 64))
        XCTAssertEqual(Array(m.file.prefix(10)), Array("pxelinux.0".utf8))
        assertRoundTrips(m)
    }

    /// RFC 3396 §5: a split option is joined in the order options field, file, sname, even though
    /// sname comes before file in the message.
    func testRFC3396SplitAcrossOverloadedAreasJoinsOptionsFileSname() throws {
        let bytes = handBuilt(options: [52, 1, 3, 12, 2, 0x61, 0x62, 255],
                              file: [12, 2, 0x63, 0x64, 255],
                              sname: [12, 2, 0x65, 0x66, 255])
        let m = try parse(bytes)
        XCTAssertEqual(m.hostName, "abcdef")
    }

    func testOverloadIsUsedOnEmitWhenTheOptionsFieldIsFull() throws {
        var m = DHCPMessage(op: .bootReply, xid: 9, clientMAC: MACAddress(2, 0, 0, 0, 0, 1))
        m.file = Array("ignored".utf8)
        m.messageType = .offer
        m.overload = 1
        m.setOption(224, [UInt8](repeating: 1, count: 255))
        // 3 + 3 + 257 + 44 = 307: exactly fills the 312-octet options field with cookie and END.
        m.setOption(225, [UInt8](repeating: 2, count: 42))
        m.setOption(226, [UInt8](repeating: 3, count: 20))   // does not fit: goes to file
        let bytes = emit(m)
        XCTAssertEqual(bytes.count, 548)
        XCTAssertEqual(Array(bytes[108..<110]), [226, 20])
        XCTAssertEqual(bytes[130], 255)
        XCTAssertEqual(Array(bytes[(240 + 305)..<(240 + 307)]), [2, 2])
        XCTAssertEqual(bytes[240 + 307], 255, "END right after the options that fit")
        var again = try parse(bytes)
        XCTAssertEqual(again.option(226), [UInt8](repeating: 3, count: 20))
        XCTAssertEqual(again.file, [UInt8](repeating: 0, count: 128))
        again.file = m.file
        again.minimumLength = m.minimumLength
        XCTAssertEqual(again, m)
    }

    func testOverloadThatCannotHoldTheRestKeepsEverythingInTheOptionsField() throws {
        var m = DHCPMessage(op: .bootReply, xid: 9, clientMAC: MACAddress(2, 0, 0, 0, 0, 1))
        m.overload = 3
        m.setOption(43, [UInt8](repeating: 7, count: 600))   // 3 instances of up to 257 bytes
        let bytes = emit(m)
        XCTAssertEqual(bytes.count, 240 + 3 + 606 + 1)
        XCTAssertEqual(bytes[44], 255, "sname carries only END")
        XCTAssertEqual(bytes[108], 255, "file carries only END")
        assertRoundTrips(try parse(bytes))
        XCTAssertEqual(try parse(bytes).option(43)?.count, 600)
    }

    func testRFC2132BadOverloadValuesAreErrors() {
        assertParseError(handBuilt(options: [52, 1, 0, 255]), .badOverload)
        assertParseError(handBuilt(options: [52, 1, 4, 255]), .badOverload)
        assertParseError(handBuilt(options: [52, 2, 0, 1, 255]), .badOverload)
        assertParseError(handBuilt(options: [52, 1, 1, 52, 1, 1, 255]), .badOverload)
        // RFC 2131 §4.1: option 52 belongs in the options field.
        assertParseError(handBuilt(options: [52, 1, 1, 255], file: [52, 1, 2, 255]), .badOverload)
        // A truncated option inside an overloaded field.
        assertParseError(handBuilt(options: [52, 1, 2, 255], sname: [Array(repeating: 0, count: 62), [12, 5]].flatMap { $0 }),
                         .truncatedOption)
    }

    // MARK: RFC 3397 domain search

    /// The example of RFC 3397 §3: "eng.apple.com." and "marketing.apple.com.".
    func testRFC3397ExampleEncodingWithPointer() throws {
        let bytes: [UInt8] = [3] + Array("eng".utf8) + [5] + Array("apple".utf8) + [3] + Array("com".utf8) + [0]
            + [9] + Array("marketing".utf8) + [0xc0, 4]
        XCTAssertEqual(DHCPDomainSearch.decode(bytes), ["eng.apple.com", "marketing.apple.com"])
        XCTAssertEqual(DHCPDomainSearch.encode(["eng.apple.com.", "marketing.apple.com."]), bytes)
        // As in that example, sent as two instances (RFC 3396): the pointer counts from the start
        // of the concatenated data, not of the second instance.
        let options: [UInt8] = [119, 9] + bytes[0..<9] + [119, UInt8(bytes.count - 9)] + bytes[9...] + [255]
        let m = try parse(handBuilt(options: options))
        XCTAssertEqual(m.domainSearch, ["eng.apple.com", "marketing.apple.com"])
    }

    func testDomainSearchEncoderMatchesDnsmasq() throws {
        let captured = try XCTUnwrap(try parse(DHCPFixtures.offer).option(119))
        XCTAssertEqual(DHCPDomainSearch.encode(["example.test", "lab.example.test"]), captured)
    }

    func testDomainSearchChainedPointersAndRoot() {
        // a.b | c -> a.b | d -> c.a.b | root
        let bytes: [UInt8] = [1, 0x61, 1, 0x62, 0, 1, 0x63, 0xc0, 0, 1, 0x64, 0xc0, 5, 0]
        XCTAssertEqual(DHCPDomainSearch.decode(bytes), ["a.b", "c.a.b", "d.c.a.b", ""])
        XCTAssertEqual(DHCPDomainSearch.encode(["a.b", "c.a.b", "d.c.a.b", ""]), bytes)
    }

    func testDomainSearchPointerLoopsAreRejected() {
        XCTAssertNil(DHCPDomainSearch.decode([0xc0, 0]), "pointer to itself")
        XCTAssertNil(DHCPDomainSearch.decode([1, 0x61, 0xc0, 0]), "pointer back into its own labels")
        XCTAssertNil(DHCPDomainSearch.decode([1, 0x61, 0xc0, 4, 1, 0x62, 0xc0, 0]), "forward then back")
        XCTAssertNil(DHCPDomainSearch.decode([1, 0x61, 0, 1, 0x62, 0xc0, 3]), "pointer to the current name")
        // A valid first name whose label bytes look like a pointer to itself; the second name
        // points into that label and would loop there.
        XCTAssertEqual(DHCPDomainSearch.decode([2, 0xc0, 0x01, 0])?.count, 1)
        XCTAssertNil(DHCPDomainSearch.decode([2, 0xc0, 0x01, 0, 0xc0, 0x01]))
    }

    func testDomainSearchOverlongNamesAreRejected() {
        let label63 = [UInt8](repeating: 0x78, count: 63)
        // 3 x 64 + 62 + 1 = 255 octets: the longest name.
        let longest: [UInt8] = [63] + label63 + [63] + label63 + [63] + label63 + [61] + label63[0..<61] + [0]
        XCTAssertEqual(longest.count, 255)
        XCTAssertEqual(DHCPDomainSearch.decode(longest)?.first?.utf8.count, 253)
        var tooLong = longest
        tooLong[192] = 62
        tooLong.insert(0x78, at: 193)
        XCTAssertNil(DHCPDomainSearch.decode(tooLong), "256 octets")
        // Short pieces that only exceed 255 once pointers are followed.
        let first: [UInt8] = [63] + label63 + [63] + label63 + [63] + label63 + [0]   // 193 octets
        let second: [UInt8] = [63] + label63 + [0xc0, 0]                            // 64 + 193
        XCTAssertEqual(DHCPDomainSearch.decode(first)?.count, 1)
        XCTAssertNil(DHCPDomainSearch.decode(first + second))

        XCTAssertNil(DHCPDomainSearch.encode([String(repeating: "x", count: 64)]), "label over 63")
        let x63 = String(repeating: "x", count: 63)
        XCTAssertNotNil(DHCPDomainSearch.encode([[x63, x63, x63, String(repeating: "x", count: 61)].joined(separator: ".")]))
        XCTAssertNil(DHCPDomainSearch.encode([[x63, x63, x63, String(repeating: "x", count: 62)].joined(separator: ".")]),
                     "256 octets")
        XCTAssertNil(DHCPDomainSearch.encode(["a..b"]), "empty label")
        XCTAssertNil(DHCPDomainSearch.encode([".a"]))
    }

    func testDomainSearchTruncatedAndReservedLabelsAreRejected() {
        let good: [UInt8] = [1, 0x61, 0, 1, 0x62, 0xc0, 0]
        XCTAssertEqual(DHCPDomainSearch.decode(good), ["a", "b.a"])
        for n in 1..<good.count where n != 3 {
            XCTAssertNil(DHCPDomainSearch.decode(Array(good[0..<n])), "cut at \(n)")
        }
        XCTAssertEqual(DHCPDomainSearch.decode([]), [])
        XCTAssertNil(DHCPDomainSearch.decode([0x41, 0]), "0x40 label type")
        XCTAssertNil(DHCPDomainSearch.decode([0x81, 0]), "0x80 label type")
    }

    // MARK: Seeded random inputs

    func testSeededRandomMessagesNeverTrap() {
        var rng = SplitMix64(state: 0x5eed_d4c9)
        var parsed = 0
        for iteration in 0..<3000 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0:
                // Random bytes of random length.
                bytes = (0..<rng.below(700)).map { _ in rng.byte() }
            case 1:
                // A captured message with a few bytes changed in its options.
                bytes = Self.fixtures[rng.below(Self.fixtures.count)].1
                for _ in 0..<(1 + rng.below(6)) {
                    let at = 236 + rng.below(bytes.count - 236)
                    bytes[at] = rng.byte()
                }
                if rng.below(4) == 0 { bytes.removeLast(rng.below(bytes.count - 200)) }
            default:
                // A valid header with random option areas, overload requested at random.
                let options = [52, 1, UInt8(1 + rng.below(3))] + (0..<rng.below(200)).map { _ in rng.byte() }
                let file = (0..<rng.below(129)).map { _ in UInt8(rng.below(8) == 0 ? 255 : rng.below(130)) }
                let sname = (0..<rng.below(65)).map { _ in UInt8(rng.below(8) == 0 ? 255 : rng.below(130)) }
                bytes = handBuilt(options: options, file: file, sname: sname, length: 0)
            }
            if let m = try? parse(bytes) {
                parsed += 1
                _ = (m.domainSearch, m.classlessStaticRoutes, m.hostName, m.routers)
                assertRoundTrips(m)
            }
            _ = DHCPDomainSearch.decode(Array(bytes.prefix(80)))
            _ = DHCPClasslessRoute.decode(Array(bytes.prefix(80)))
        }
        XCTAssertGreaterThan(parsed, 500, "the generator reaches the option parser")
    }
}
