import XCTest
@testable import SkiffWire

final class UDPTests: XCTestCase {
    // A DNS query from 198.18.0.2:54321 to 198.18.0.1:53, captured with tcpdump -xx
    // (UDP part only; checksum computed by Linux).
    static let pseudo = (source: IPv4Address(198, 18, 0, 2), destination: IPv4Address(198, 18, 0, 1))

    func testEmitThenParseRoundTrip() throws {
        var packet = PacketBuffer(Array("hello".utf8))
        UDPHeader(sourcePort: 54321, destinationPort: 7, length: 0)
            .prepend(to: &packet, source: Self.pseudo.source, destination: Self.pseudo.destination)
        let bytes = packet.bytes
        XCTAssertEqual(bytes.count, 13)
        let header = try bytes.withUnsafeBytes { try UDPHeader.parse($0, pseudoHeader: Self.pseudo) }
        XCTAssertEqual(header.sourcePort, 54321)
        XCTAssertEqual(header.destinationPort, 7)
        XCTAssertEqual(header.length, 13)
        var again = [UInt8](repeating: 0, count: 8)
        again.withUnsafeMutableBytes { header.emit(into: $0) }
        XCTAssertEqual(again, Array(bytes[0..<8]))
    }

    func testBadChecksumRejected() {
        var packet = PacketBuffer(Array("hello".utf8))
        UDPHeader(sourcePort: 1, destinationPort: 2, length: 0)
            .prepend(to: &packet, source: Self.pseudo.source, destination: Self.pseudo.destination)
        var bytes = packet.bytes
        bytes[9] ^= 0x01
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try UDPHeader.parse($0, pseudoHeader: Self.pseudo) }) {
            XCTAssertEqual($0 as? UDPParseError, .badChecksum)
        }
    }

    func testEveryTruncationIsAnErrorNotATrap() {
        var packet = PacketBuffer(Array("hello".utf8))
        UDPHeader(sourcePort: 1, destinationPort: 2, length: 0)
            .prepend(to: &packet, source: Self.pseudo.source, destination: Self.pseudo.destination)
        let bytes = packet.bytes
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try Array(bytes[0..<n]).withUnsafeBytes { try UDPHeader.parse($0) }, "length \(n)")
        }
    }

    func testRFC1624IncrementalUpdateMatchesRecompute() {
        var header: [UInt8] = [0x45, 0x00, 0x00, 0x54, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01,
                               0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02]
        let original = header.withUnsafeBytes { InternetChecksum.compute($0) }
        header[10] = UInt8(original >> 8); header[11] = UInt8(original & 0xff)
        // Decrement TTL 0x40 -> 0x3f in the 16-bit word (TTL, protocol).
        let updated = InternetChecksum.update(original, old: 0x4001, new: 0x3f01)
        header[8] = 0x3f; header[10] = 0; header[11] = 0
        XCTAssertEqual(updated, header.withUnsafeBytes { InternetChecksum.compute($0) })
    }
}
