import XCTest
@testable import SkiffWire

private typealias F = IPWireFixtures

final class IPv4Tests: XCTestCase {
    private let host = IPv4Address(198, 18, 0, 1)
    private let router = IPv4Address(198, 18, 0, 254)

    /// The IPv4 packets of every captured frame (after the Ethernet header and any tags).
    private var capturedPackets: [(name: String, bytes: [UInt8])] {
        F.allFrames.compactMap { frame in
            frame.bytes.withUnsafeBytes { bytes in
                guard let eth = EthernetView(bytes), eth.etherType == EtherType.ipv4 else { return nil }
                return (frame.name, Array(eth.payload))
            }
        }
    }

    func testPingRequestFields() throws {
        let packet = F.ipPacket(F.pingRequestFrame)
        let header = try packet.withUnsafeBytes { try IPv4Header.parse($0) }
        XCTAssertEqual(header.headerLength, 20)
        XCTAssertEqual(header.totalLength, 84)
        XCTAssertEqual(header.identification, 0x787c)
        XCTAssertTrue(header.dontFragment)
        XCTAssertFalse(header.moreFragments)
        XCTAssertEqual(header.fragmentOffset, 0)
        XCTAssertEqual(header.ttl, 64)
        XCTAssertEqual(header.protocolNumber, IPProtocol.icmp)
        XCTAssertEqual(header.headerChecksum, 0x3509)
        XCTAssertEqual(header.source, host)
        XCTAssertEqual(header.destination, router)
        XCTAssertEqual(header.options, [])
        try packet.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(IPv4View(bytes))
            XCTAssertTrue(view.isChecksumValid)
            XCTAssertFalse(view.isFragment)
            XCTAssertEqual(view.payload.count, 64)
            XCTAssertEqual(view.options.count, 0)
        }
    }

    func testEmitReproducesEveryCapturedHeaderByteForByte() throws {
        let packets = capturedPackets
        XCTAssertEqual(packets.count, 12)
        for (name, packet) in packets {
            let header = try packet.withUnsafeBytes { try IPv4Header.parse($0) }
            let out = F.emitted(header.headerLength) { header.emit(into: $0) }
            XCTAssertEqual(out, Array(packet[0..<header.headerLength]), name)
        }
    }

    func testPrependBuildsLinuxPingRequestExactly() throws {
        // Same fields as Linux chose; prepend computes total length and checksum.
        let packet = F.ipPacket(F.pingRequestFrame)
        var buffer = PacketBuffer(Array(packet[20...]))
        IPv4Header(source: host, destination: router, protocolNumber: IPProtocol.icmp,
                   identification: 0x787c, dontFragment: true)
            .prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, packet)
    }

    func testPrependBuildsLinuxICMPErrorHeaderWithDSCP() throws {
        // Linux sends ICMP errors with TOS 0xc0: DSCP 48 (CS6), ECN 0.
        let packet = F.ipPacket(F.portUnreachableFrame)
        let header = try packet.withUnsafeBytes { try IPv4Header.parse($0) }
        XCTAssertEqual(header.dscp, 48)
        XCTAssertEqual(header.ecn, 0)
        var buffer = PacketBuffer(Array(packet[20...]))
        IPv4Header(source: router, destination: host, protocolNumber: IPProtocol.icmp,
                   identification: header.identification, dscp: 48)
            .prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, packet)
    }

    func testFragmentFieldsOfA4000BytePing() throws {
        // RFC 791: offsets count 8-byte units; every fragment but the last has MF set.
        let fragments = [F.fragment0Frame, F.fragment1Frame, F.fragment2Frame].map(F.ipPacket)
        let headers = try fragments.map { f in try f.withUnsafeBytes { try IPv4Header.parse($0) } }
        XCTAssertEqual(headers.map(\.fragmentOffset), [0, 1480, 2960])
        XCTAssertEqual(headers.map(\.moreFragments), [true, true, false])
        XCTAssertEqual(headers.map(\.totalLength), [1500, 1500, 1068])
        XCTAssertEqual(Set(headers.map(\.identification)).count, 1)
        XCTAssertEqual(headers.map(\.dontFragment), [false, false, false])
        for f in fragments {
            XCTAssertEqual(f.withUnsafeBytes { IPv4View($0)?.isFragment }, true)
        }
        // Reassembling by offset gives the 4008-byte ICMP message, whose checksum verifies.
        var reassembled = [UInt8](repeating: 0, count: 4008)
        for (f, h) in zip(fragments, headers) {
            let data = Array(f[h.headerLength...])
            reassembled.replaceSubrange(h.fragmentOffset..<h.fragmentOffset + data.count, with: data)
        }
        XCTAssertEqual(headers[2].fragmentOffset + 1068 - 20, 4008)
        let icmp = try reassembled.withUnsafeBytes { try ICMPv4Header.parse($0) }
        guard case .echoRequest = icmp.message else { return XCTFail("\(icmp.message)") }
    }

    func testRecordRouteOptionsPreservedVerbatim() throws {
        // ping -R: NOP, then Record Route (RFC 791 "Record Route", type 7, length 39, pointer 8).
        for frame in [F.recordRouteRequestFrame, F.recordRouteReplyFrame] {
            let packet = F.ipPacket(frame)
            let header = try packet.withUnsafeBytes { try IPv4Header.parse($0) }
            XCTAssertEqual(header.headerLength, 60)
            XCTAssertEqual(header.options, Array(packet[20..<60]))
            try packet.withUnsafeBytes { bytes in
                let view = try XCTUnwrap(IPv4View(bytes))
                XCTAssertEqual(Array(view.options), Array(packet[20..<60]))
                XCTAssertEqual(view.payload.count, 64)
                XCTAssertEqual(try ICMPv4Header.parse(view.payload).message.type, frame == F.recordRouteRequestFrame
                               ? ICMPv4Type.echoRequest : ICMPv4Type.echoReply)
            }
        }
        let request = F.ipPacket(F.recordRouteRequestFrame)
        XCTAssertEqual(Array(request[20..<27]), [0x01, 0x07, 0x27, 0x08, 0xc6, 0x12, 0x00])
        // Rebuilding with the options and Linux's fields reproduces the packet.
        let header = try request.withUnsafeBytes { try IPv4Header.parse($0) }
        var buffer = PacketBuffer(Array(request[60...]))
        IPv4Header(source: header.source, destination: header.destination, protocolNumber: IPProtocol.icmp,
                   identification: header.identification, dontFragment: true, options: header.options)
            .prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, request)
    }

    func testLinkPaddingExcludedByTotalLength() throws {
        // A 33-byte datagram padded to a 46-byte minimum Ethernet payload.
        let packet = F.ipPacket(F.udpToClosedPortFrame) + [UInt8](repeating: 0, count: 13)
        try packet.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(IPv4View(bytes))
            XCTAssertEqual(view.totalLength, 33)
            XCTAssertEqual(view.bytes.count, 33)
            XCTAssertEqual(view.payload.count, 13)
            // No pseudo-header: the captured UDP checksum is only the offloaded partial sum.
            XCTAssertEqual(try UDPHeader.parse(view.payload).destinationPort, 9)
        }
    }

    func testMalformedHeadersRejectedWithTheirReason() {
        let good = F.ipPacket(F.pingRequestFrame)
        func parse(_ patch: (inout [UInt8]) -> Void) -> Result<IPv4Header, IPv4ParseError> {
            var bytes = good
            patch(&bytes)
            XCTAssertEqual(bytes.withUnsafeBytes { IPv4View($0) } == nil,
                           [.badVersion, .badHeaderLength, .badTotalLength, .truncated]
                               .contains(F.result(bytes, IPv4Header.parse).failure))
            return F.result(bytes, IPv4Header.parse)
        }
        XCTAssertEqual(parse { $0[0] = 0x65 }, .failure(.badVersion), "IPv6 version nibble")
        XCTAssertEqual(parse { $0[0] = 0x44 }, .failure(.badHeaderLength), "IHL 4")
        XCTAssertEqual(parse { $0[0] = 0x4f; $0[3] = 56 }, .failure(.badTotalLength), "IHL*4 60 > total length 56")
        XCTAssertEqual(parse { $0[2] = 0; $0[3] = 19 }, .failure(.badTotalLength), "total length < IHL*4")
        XCTAssertEqual(parse { $0[2] = 0; $0[3] = 85 }, .failure(.truncated), "total length > bytes")
        XCTAssertEqual(parse { $0[8] = 63 }, .failure(.badChecksum), "TTL changed without checksum update")
        XCTAssertEqual(parse { $0.removeLast(64) }, .failure(.truncated))
        XCTAssertNotNil(try? parse { _ in }.get())
        // A header whose IHL exceeds the bytes present.
        XCTAssertEqual(F.result(Array(good[0..<24]).enumerated().map { $0.offset == 0 ? 0x47 : $0.element },
                                IPv4Header.parse), .failure(.truncated))
    }

    func testReservedFlagPreserved() throws {
        // RFC 791 bit 0 must be zero, but a forwarder passes it unchanged.
        var packet = F.ipPacket(F.pingRequestFrame)
        packet[6] |= 0x80
        packet[10] = 0; packet[11] = 0
        let sum = packet.withUnsafeBytes { InternetChecksum.compute($0.slice(0..<20)) }
        packet[10] = UInt8(sum >> 8); packet[11] = UInt8(sum & 0xff)
        let header = try packet.withUnsafeBytes { try IPv4Header.parse($0) }
        XCTAssertTrue(header.reservedFlag)
        XCTAssertTrue(header.dontFragment)
        XCTAssertEqual(F.emitted(20) { header.emit(into: $0) }, Array(packet[0..<20]))
    }

    func testRFC1624DecrementTTLMatchesFullRecomputeOnCaptures() {
        for (name, packet) in capturedPackets {
            var bytes = packet
            let ttl = bytes[8]
            let decremented = bytes.withUnsafeMutableBytes { IPv4Header.decrementTTL(in: $0) }
            XCTAssertEqual(decremented, ttl > 1, name)
            if !decremented { XCTAssertEqual(bytes, packet, "\(name) unchanged"); continue }
            XCTAssertEqual(bytes[8], ttl - 1, name)
            var recomputed = bytes
            recomputed[10] = 0; recomputed[11] = 0
            let headerLength = Int(bytes[0] & 0xf) * 4
            let sum = recomputed.withUnsafeBytes { InternetChecksum.compute($0.slice(0..<headerLength)) }
            XCTAssertEqual(UInt16(bytes[10]) << 8 | UInt16(bytes[11]), sum, name)
        }
    }

    func testRFC1624DecrementTTLMatchesFullRecomputeOnRandomHeaders() {
        var random = IPWireRandom(seed: 1624)
        for round in 0..<5000 {
            var header = random.bytes(20 + 4 * random.below(11))
            header[0] = 0x40 | UInt8(header.count / 4)
            if round % 7 == 0 { header[8] = UInt8(random.below(3)) }  // TTL 0, 1, 2 edge cases
            // Every fifth header has all-ones fields so the sum lands near 0xffff/0x0000.
            if round % 5 == 0 { for i in 12..<header.count { header[i] = 0xff } }
            header[10] = 0; header[11] = 0
            let original = header.withUnsafeBytes { InternetChecksum.compute($0) }
            header[10] = UInt8(original >> 8); header[11] = UInt8(original & 0xff)
            let before = header
            let ok = header.withUnsafeMutableBytes { IPv4Header.decrementTTL(in: $0) }
            guard before[8] > 1 else {
                XCTAssertFalse(ok); XCTAssertEqual(header, before); continue
            }
            XCTAssertTrue(ok)
            var zeroed = header
            zeroed[10] = 0; zeroed[11] = 0
            let full = zeroed.withUnsafeBytes { InternetChecksum.compute($0) }
            XCTAssertEqual(UInt16(header[10]) << 8 | UInt16(header[11]), full, "round \(round)")
            var verify = InternetChecksum()
            verify.add(header)
            XCTAssertTrue(verify.isValid, "round \(round): the updated header verifies")
        }
    }

    func testDecrementTTLRefusesTTLOneAndZero() {
        // RFC 1812 §5.3.1: a datagram whose TTL would reach 0 is not forwarded.
        for ttl: UInt8 in [0, 1] {
            var packet = F.ipPacket(F.pingRequestFrame)
            packet[8] = ttl
            let before = packet
            XCTAssertFalse(packet.withUnsafeMutableBytes { IPv4Header.decrementTTL(in: $0) })
            XCTAssertEqual(packet, before)
        }
    }

    func testEveryTruncationIsAnErrorNeverATrap() {
        for (name, packet) in capturedPackets {
            let full = F.result(packet, IPv4Header.parse)
            XCTAssertNotNil(try? full.get(), name)
            for n in 0..<packet.count {
                let prefix = Array(packet[0..<n])
                let result = F.result(prefix, IPv4Header.parse)
                // The total length covers the whole capture, so every strict prefix is too short.
                XCTAssertEqual(result.failure, .truncated, "\(name) at \(n)")
                XCTAssertNil(prefix.withUnsafeBytes { IPv4View($0) }, "\(name) at \(n)")
                _ = prefix.withUnsafeBytes { IPv4QuotedView($0)?.destinationPort }
            }
        }
    }

    func testSeededRandomPacketsNeverTrapAndRoundTrip() {
        var random = IPWireRandom(seed: 791)
        var parsed = 0
        for _ in 0..<4000 {
            var bytes = random.bytes(random.below(100))
            if bytes.count >= 20 {
                // Mostly plausible: version 4, a small IHL, a total length within reach, a good checksum.
                bytes[0] = random.below(8) == 0 ? bytes[0] : 0x40 | UInt8(5 + random.below(11))
                let total = min(bytes.count, Int(bytes[0] & 0xf) * 4 + random.below(20))
                if random.below(8) != 0 { bytes[2] = UInt8(total >> 8); bytes[3] = UInt8(total & 0xff) }
                let ihl = Int(bytes[0] & 0xf) * 4
                if ihl >= 20, ihl <= bytes.count, random.below(8) != 0 {
                    bytes[10] = 0; bytes[11] = 0
                    let sum = bytes.withUnsafeBytes { InternetChecksum.compute($0.slice(0..<ihl)) }
                    bytes[10] = UInt8(sum >> 8); bytes[11] = UInt8(sum & 0xff)
                }
            }
            bytes.withUnsafeBytes { buffer in
                if let view = IPv4View(buffer) {
                    _ = (view.payload.count, view.options.count, view.isFragment, view.isChecksumValid)
                }
                _ = IPv4QuotedView(buffer)?.sourcePort
            }
            guard let header = try? F.result(bytes, IPv4Header.parse).get() else { continue }
            parsed += 1
            let out = F.emitted(header.headerLength) { header.emit(into: $0) }
            XCTAssertEqual(out, Array(bytes[0..<header.headerLength]))
        }
        XCTAssertGreaterThan(parsed, 1000)
    }
}

fileprivate extension Result {
    /// The error, or nil on success (test convenience).
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
