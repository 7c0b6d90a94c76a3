import XCTest
@testable import SkiffWire

private typealias F = IPWireFixtures

final class ICMPv4Tests: XCTestCase {
    private let host = IPv4Address(198, 18, 0, 1)
    private let router = IPv4Address(198, 18, 0, 254)

    /// The ICMP message inside an untagged, unfragmented captured frame.
    private func icmp(_ frame: [UInt8]) -> [UInt8] {
        let packet = F.ipPacket(frame)
        let headerLength = Int(packet[0] & 0xf) * 4
        return Array(packet[headerLength...])
    }

    /// Parses `bytes` and returns the view's derived values, so tests need no closures.
    private func view<T>(_ bytes: [UInt8], _ body: (ICMPv4View) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { try body(try XCTUnwrap(ICMPv4View($0))) }
    }

    func testEchoRequestAndReplyFromLinuxPing() throws {
        let request = try icmp(F.pingRequestFrame).withUnsafeBytes { try ICMPv4Header.parse($0) }
        XCTAssertEqual(request, ICMPv4Header(message: .echoRequest(identifier: 0x2699, sequence: 1), checksum: 0x7784))
        let reply = try icmp(F.pingReplyFrame).withUnsafeBytes { try ICMPv4Header.parse($0) }
        XCTAssertEqual(reply.message, .echoReply(identifier: 0x2699, sequence: 1))
        XCTAssertEqual(try view(icmp(F.pingRequestFrame)) { Array($0.payload) },
                       try view(icmp(F.pingReplyFrame)) { Array($0.payload) }, "RFC 792: the reply echoes the data")
        XCTAssertNil(try view(icmp(F.pingRequestFrame)) { $0.quotedDatagram }, "echo quotes nothing")
        XCTAssertFalse(request.message.isError)
    }

    func testReplyBuiltFromRequestMatchesLinuxReply() throws {
        let request = icmp(F.pingRequestFrame)
        var buffer = PacketBuffer(Array(request[8...]))
        ICMPv4Header(message: .echoReply(identifier: 0x2699, sequence: 1)).prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, icmp(F.pingReplyFrame))
    }

    func testEmitReproducesEveryCapturedHeaderByteForByte() throws {
        for frame in [F.pingRequestFrame, F.pingReplyFrame, F.portUnreachableFrame, F.recordRouteRequestFrame,
                      F.recordRouteReplyFrame, F.fragmentationNeededFrame, F.timeExceededFrame] {
            let message = icmp(frame)
            let header = try message.withUnsafeBytes { try ICMPv4Header.parse($0) }
            XCTAssertEqual(F.emitted(ICMPv4Header.encodedLength) { header.emit(into: $0) }, Array(message[0..<8]))
        }
    }

    func testPortUnreachableQuotesTheUDPDatagram() throws {
        let message = icmp(F.portUnreachableFrame)
        let original = F.ipPacket(F.udpToClosedPortFrame)
        XCTAssertEqual(try message.withUnsafeBytes { try ICMPv4Header.parse($0) }.message,
                       .destinationUnreachable(code: ICMPv4UnreachableCode.port, nextHopMTU: 0))
        try view(message) { view in
            let quote = try XCTUnwrap(view.quotedDatagram)
            XCTAssertEqual(quote.protocolNumber, IPProtocol.udp)
            XCTAssertEqual(quote.source, host)
            XCTAssertEqual(quote.destination, router)
            XCTAssertEqual(quote.sourcePort, 40000)
            XCTAssertEqual(quote.destinationPort, 9)
            XCTAssertEqual(Array(quote.bytes), original, "Linux quotes the whole short datagram")
        }
        // Our quote of the same datagram, under the same header, is Linux's message byte for byte.
        let quote = original.withUnsafeBytes { Array(ICMPv4Header.errorQuote(of: $0)) }
        XCTAssertEqual(quote, original)
        var buffer = PacketBuffer(quote)
        ICMPv4Header(message: .destinationUnreachable(code: ICMPv4UnreachableCode.port, nextHopMTU: 0))
            .prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, message)
    }

    func testRFC1191FragmentationNeededCarriesNextHopMTU() throws {
        let message = icmp(F.fragmentationNeededFrame)
        let header = try message.withUnsafeBytes { try ICMPv4Header.parse($0) }
        XCTAssertEqual(header.message, .destinationUnreachable(code: ICMPv4UnreachableCode.fragmentationNeeded,
                                                               nextHopMTU: 1000))
        XCTAssertEqual(Array(message[4..<8]), [0, 0, 0x03, 0xe8], "RFC 1191 §4: unused(16) | MTU(16)")
        let quoted = Array(message[8...])
        XCTAssertEqual(quoted.count, 548)
        try view(message) { view in
            let quote = try XCTUnwrap(view.quotedDatagram)
            XCTAssertEqual(quote.totalLength, 1228, "the original length, beyond the quote")
            XCTAssertTrue(quote.dontFragment)
            XCTAssertEqual(quote.destination, IPv4Address(198, 18, 1, 2))
            XCTAssertEqual(quote.protocolNumber, IPProtocol.icmp)
            XCTAssertEqual(quote.payload.count, 528)
            XCTAssertEqual(quote.payload.first, ICMPv4Type.echoRequest)
        }
        // RFC 1812 §4.3.2.3: quote as much as fits in 576 bytes, as Linux did. The original's tail
        // was not quoted, so stand in zeros for it; only the first 548 bytes matter.
        let original = quoted + [UInt8](repeating: 0, count: 1228 - 548)
        let ours = original.withUnsafeBytes { Array(ICMPv4Header.errorQuote(of: $0)) }
        XCTAssertEqual(ours, quoted)
        var buffer = PacketBuffer(ours)
        ICMPv4Header(message: .destinationUnreachable(code: 4, nextHopMTU: 1000)).prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, message)
    }

    func testTimeExceededQuotesTheExpiredDatagram() throws {
        let message = icmp(F.timeExceededFrame)
        XCTAssertEqual(try message.withUnsafeBytes { try ICMPv4Header.parse($0) }.message,
                       .timeExceeded(code: ICMPv4TimeExceededCode.ttlExceeded))
        try view(message) { view in
            let quote = try XCTUnwrap(view.quotedDatagram)
            XCTAssertEqual(quote.ttl, 1)
            XCTAssertEqual(quote.totalLength, 84)
            XCTAssertEqual(quote.bytes.count, 84)
            XCTAssertEqual(quote.source, host)
            XCTAssertTrue(view.message.isError)
        }
        let quoted = Array(message[8...])
        var buffer = PacketBuffer(quoted.withUnsafeBytes { Array(ICMPv4Header.errorQuote(of: $0)) })
        ICMPv4Header(message: .timeExceeded(code: 0)).prepend(to: &buffer)
        XCTAssertEqual(buffer.bytes, message)
    }

    func testErrorQuoteExcludesLinkPaddingAndShortInput() {
        let padded = F.ipPacket(F.udpToClosedPortFrame) + [UInt8](repeating: 0, count: 13)
        XCTAssertEqual(padded.withUnsafeBytes { ICMPv4Header.errorQuote(of: $0).count }, 33)
        let garbage: [UInt8] = [1, 2, 3]
        XCTAssertEqual(garbage.withUnsafeBytes { Array(ICMPv4Header.errorQuote(of: $0)) }, garbage)
        // A full-size fragment: 576 - 20 - 8 bytes.
        let fragment = F.ipPacket(F.fragment0Frame)
        XCTAssertEqual(fragment.withUnsafeBytes { Array(ICMPv4Header.errorQuote(of: $0)) }, Array(fragment[0..<548]))
    }

    func testDecodingIsCanonicalSoEveryMessageReemits() {
        // Fields that do not fit a case exactly decode as `.other`.
        XCTAssertEqual(ICMPv4Message(type: 8, code: 1, rest: 0x0001_0002), .other(type: 8, code: 1, rest: 0x0001_0002))
        XCTAssertEqual(ICMPv4Message(type: 0, code: 0, rest: 0x0001_0002), .echoReply(identifier: 1, sequence: 2))
        XCTAssertEqual(ICMPv4Message(type: 3, code: 4, rest: 0x0001_05dc), .other(type: 3, code: 4, rest: 0x0001_05dc),
                       "RFC 4884 length in the unused bits")
        XCTAssertEqual(ICMPv4Message(type: 3, code: 1, rest: 0), .destinationUnreachable(code: 1, nextHopMTU: 0))
        XCTAssertEqual(ICMPv4Message(type: 11, code: 1, rest: 0), .timeExceeded(code: 1))
        XCTAssertEqual(ICMPv4Message(type: 11, code: 0, rest: 7), .other(type: 11, code: 0, rest: 7))
        XCTAssertEqual(ICMPv4Message(type: 12, code: 0, rest: 0x1400_0000), .other(type: 12, code: 0, rest: 0x1400_0000),
                       "parameter problem pointer")
        XCTAssertTrue(ICMPv4Message.other(type: ICMPv4Type.parameterProblem, code: 0, rest: 0).isError)
        var random = IPWireRandom(seed: 792)
        for _ in 0..<5000 {
            let type = random.below(4) == 0 ? UInt8(random.below(16)) : random.byte()
            let code = random.below(2) == 0 ? 0 : random.byte()
            let rest = random.below(3) == 0 ? UInt32(truncatingIfNeeded: random.next() & 0xffff) : UInt32(truncatingIfNeeded: random.next())
            let message = ICMPv4Message(type: type, code: code, rest: rest)
            XCTAssertEqual([message.type, message.code], [type, code])
            XCTAssertEqual(message.restOfHeader, rest)
        }
    }

    func testBadChecksumAndShortMessagesRejected() {
        var message = icmp(F.pingRequestFrame)
        message[message.count - 1] ^= 0x01
        XCTAssertEqual(F.result(message, ICMPv4Header.parse).failure, .badChecksum)
        XCTAssertEqual(try? view(message) { $0.isChecksumValid }, false)
        XCTAssertEqual(F.result(Array(message[0..<7]), ICMPv4Header.parse).failure, .truncated)
    }

    func testEveryTruncationIsAnErrorNeverATrap() {
        for frame in [F.pingRequestFrame, F.pingReplyFrame, F.portUnreachableFrame, F.fragmentationNeededFrame,
                      F.timeExceededFrame, F.recordRouteReplyFrame] {
            let message = icmp(frame)
            for n in 0..<message.count {
                let prefix = Array(message[0..<n])
                let result = F.result(prefix, ICMPv4Header.parse)
                if n < ICMPv4Header.encodedLength {
                    XCTAssertEqual(result.failure, .truncated, "length \(n)")
                } else if case .success = result {
                    // A prefix can only verify if the dropped bytes summed to zero (0x0000 words).
                    var tail = InternetChecksum()
                    tail.add(Array(message[n...]))
                    XCTAssertTrue(tail.folded == 0 || tail.folded == 0xffff, "length \(n)")
                }
                prefix.withUnsafeBytes { bytes in
                    guard let view = ICMPv4View(bytes) else { return XCTAssertLessThan(n, 8) }
                    _ = (view.message, view.payload.count, view.quotedDatagram?.sourcePort,
                         view.quotedDatagram?.payload.count)
                }
            }
        }
    }

    func testEveryCapturedFrameParsesThroughTheLayers() throws {
        // The fuzz target's chain: Ethernet, then ARP or IPv4 by EtherType, then ICMPv4.
        var icmpCount = 0
        for (name, frame) in F.allFrames {
            try frame.withUnsafeBytes { bytes in
                let eth = try XCTUnwrap(EthernetView(bytes), name)
                if eth.etherType == EtherType.arp { return XCTAssertNotNil(ARPView(eth.payload), name) }
                XCTAssertEqual(eth.etherType, EtherType.ipv4, name)
                let ip = try XCTUnwrap(IPv4View(eth.payload), name)
                XCTAssertTrue(ip.isChecksumValid, name)
                guard ip.protocolNumber == IPProtocol.icmp, !ip.isFragment else { return }
                XCTAssertNoThrow(try ICMPv4Header.parse(ip.payload), name)
                icmpCount += 1
            }
        }
        XCTAssertEqual(icmpCount, 8)
    }

    func testSeededRandomMessagesNeverTrapAndRoundTrip() {
        var random = IPWireRandom(seed: 0x1c_3b)
        var parsed = 0
        for _ in 0..<4000 {
            var bytes = random.bytes(random.below(64))
            if bytes.count >= 8 {
                bytes[0] = [0, 3, 8, 11, 12, random.byte()][random.below(6)]
                if random.below(2) == 0 { bytes[1] = 0; bytes[4] = 0; bytes[5] = 0 }
                if bytes.count >= 28, random.below(2) == 0 { bytes[8] = 0x45 }  // a plausible quote
                if random.below(8) != 0 {
                    bytes[2] = 0; bytes[3] = 0
                    let sum = bytes.withUnsafeBytes { InternetChecksum.compute($0) }
                    bytes[2] = UInt8(sum >> 8); bytes[3] = UInt8(sum & 0xff)
                }
            }
            bytes.withUnsafeBytes { buffer in
                _ = ICMPv4View(buffer).map { ($0.quotedDatagram?.destinationPort, $0.quotedDatagram?.header.count) }
                _ = ICMPv4Header.errorQuote(of: buffer).count
            }
            guard let header = try? F.result(bytes, ICMPv4Header.parse).get() else { continue }
            parsed += 1
            let out = F.emitted(8) { header.emit(into: $0) }
            XCTAssertEqual(out, Array(bytes[0..<8]))
            XCTAssertEqual(try? F.result(out + bytes[8...], ICMPv4Header.parse).get(), header)
        }
        XCTAssertGreaterThan(parsed, 1000)
    }
}

fileprivate extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
