import XCTest
@testable import SkiffWire

private typealias F = IPWireFixtures

final class ARPTests: XCTestCase {
    private let hostMAC = MACAddress(2, 0, 0, 0, 0, 0x0a)
    private let routerMAC = MACAddress(2, 0, 0, 0, 0, 0x01)

    func testArpingRequestFieldsAndPaddingExcluded() throws {
        let body = F.ipPacket(F.arpRequestFrame)
        XCTAssertEqual(body.count, 44, "arping pads to 44 bytes")
        let packet = try body.withUnsafeBytes { try ARPPacket.parse($0) }
        XCTAssertEqual(packet, ARPPacket(operation: .request, senderMAC: hostMAC,
                                         senderIP: IPv4Address(198, 18, 0, 1), targetMAC: .zero,
                                         targetIP: IPv4Address(198, 18, 0, 254)))
        try body.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(ARPView(bytes))
            XCTAssertEqual(view.bytes.count, ARPPacket.encodedLength)
            XCTAssertFalse(view.isGratuitous)
        }
    }

    func testLinuxReplyFields() throws {
        let packet = try F.ipPacket(F.arpReplyFrame).withUnsafeBytes { try ARPPacket.parse($0) }
        XCTAssertEqual(packet.operation, .reply)
        XCTAssertEqual(packet.senderMAC, routerMAC)
        XCTAssertEqual(packet.senderIP, IPv4Address(198, 18, 0, 254))
        XCTAssertEqual(packet.targetMAC, hostMAC)
        XCTAssertEqual(packet.targetIP, IPv4Address(198, 18, 0, 1))
    }

    func testEmitReproducesCapturedPacketsByteForByte() throws {
        for frame in [F.arpRequestFrame, F.arpReplyFrame, F.qinqARPFrame] {
            let body = try frame.withUnsafeBytes { Array(try XCTUnwrap(EthernetView($0)).payload) }
            let packet = try body.withUnsafeBytes { try ARPPacket.parse($0) }
            XCTAssertEqual(F.emitted(ARPPacket.encodedLength) { packet.emit(into: $0) },
                           Array(body[0..<ARPPacket.encodedLength]))
        }
    }

    func testReplyBuiltFromRequestMatchesLinuxReplyFrame() throws {
        // RFC 826 "Packet Reception": swap sender and target, fill in our hardware address.
        let request = try F.ipPacket(F.arpRequestFrame).withUnsafeBytes { try ARPPacket.parse($0) }
        let reply = ARPPacket(operation: .reply, senderMAC: routerMAC, senderIP: request.targetIP,
                              targetMAC: request.senderMAC, targetIP: request.senderIP)
        var packet = PacketBuffer(capacity: 0)
        reply.prepend(to: &packet)
        EthernetHeader(destination: request.senderMAC, source: routerMAC, etherType: EtherType.arp)
            .prepend(to: &packet)
        XCTAssertEqual(packet.bytes, F.arpReplyFrame)
    }

    func testOnlyEthernetIPv4RequestsAndRepliesAccepted() {
        let good = Array(F.ipPacket(F.arpReplyFrame))
        func parse(patching offset: Int, _ values: [UInt8]) -> Result<ARPPacket, ARPParseError> {
            var bytes = good
            bytes.replaceSubrange(offset..<offset + values.count, with: values)
            XCTAssertEqual(bytes.withUnsafeBytes { ARPView($0) } == nil,
                           (try? bytes.withUnsafeBytes { try ARPPacket.parse($0) }) == nil)
            return F.result(bytes, ARPPacket.parse)
        }
        XCTAssertEqual(parse(patching: 0, [0x00, 0x06]), .failure(.unsupportedHardware), "IEEE 802 htype")
        XCTAssertEqual(parse(patching: 4, [8]), .failure(.unsupportedHardware), "hlen 8")
        XCTAssertEqual(parse(patching: 2, [0x86, 0xdd]), .failure(.unsupportedProtocol), "ptype IPv6")
        XCTAssertEqual(parse(patching: 5, [16]), .failure(.unsupportedProtocol), "plen 16")
        XCTAssertEqual(parse(patching: 6, [0x00, 0x03]), .failure(.unsupportedOperation), "RARP request")
        XCTAssertEqual(parse(patching: 6, [0x00, 0x00]), .failure(.unsupportedOperation))
        guard case .success(let packet) = parse(patching: 6, [0x00, 0x01]) else { return XCTFail("request") }
        XCTAssertEqual(packet.operation, .request)
    }

    func testGratuitousARPDetected() {
        // RFC 5227 §3: an announcement has sender IP == target IP.
        let announcement = ARPPacket(operation: .request, senderMAC: hostMAC, senderIP: IPv4Address(198, 18, 0, 1),
                                     targetMAC: .zero, targetIP: IPv4Address(198, 18, 0, 1))
        let bytes = F.emitted(ARPPacket.encodedLength) { announcement.emit(into: $0) }
        XCTAssertEqual(bytes.withUnsafeBytes { ARPView($0)?.isGratuitous }, true)
    }

    func testEveryTruncationIsAnError() {
        for frame in [F.arpRequestFrame, F.arpReplyFrame] {
            let body = F.ipPacket(frame)
            for n in 0..<body.count {
                let prefix = Array(body[0..<n])
                let result = F.result(prefix, ARPPacket.parse)
                if n < ARPPacket.encodedLength {
                    XCTAssertEqual(result, .failure(.truncated), "length \(n)")
                    XCTAssertNil(prefix.withUnsafeBytes { ARPView($0) })
                } else {
                    XCTAssertEqual(try result.get(), try body.withUnsafeBytes { try ARPPacket.parse($0) })
                }
            }
        }
    }

    func testSeededRandomPacketsNeverTrapAndRoundTrip() {
        var random = IPWireRandom(seed: 0xa4b_0826)
        let prefix: [UInt8] = [0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00]
        var parsed = 0
        for _ in 0..<4000 {
            var bytes = random.bytes(random.below(48))
            // Mostly a valid fixed prefix with random corruption, so parsing gets past the checks.
            for i in 0..<min(prefix.count, bytes.count) where random.below(8) != 0 { bytes[i] = prefix[i] }
            if bytes.count > 7 { bytes[7] = UInt8(1 + random.below(3)) }
            guard let packet = try? bytes.withUnsafeBytes({ try ARPPacket.parse($0) }) else { continue }
            parsed += 1
            let out = F.emitted(ARPPacket.encodedLength) { packet.emit(into: $0) }
            XCTAssertEqual(out, Array(bytes[0..<ARPPacket.encodedLength]))
        }
        XCTAssertGreaterThan(parsed, 100)
    }
}
