import XCTest
@testable import SkiffWire

final class TCPTests: XCTestCase {
    // MARK: Fixtures
    //
    // Captured on Linux 6.x with two network namespaces joined by a veth pair, 198.18.0.1/24 and
    // 198.18.0.2/24, checksum offload switched off on both ends (ETHTOOL_STXCSUM via SIOCETHTOOL),
    // `tcpdump -i <veth> -w` on the 198.18.0.1 side. Only the TCP part of each IPv4 packet is kept.
    //
    // Flow 1: `python3 -m http.server 8080 --bind 198.18.0.1` and, from the other namespace,
    // `curl http://198.18.0.1:8080/index.html` (the file holds "hello from skiff\n"); then
    // `curl http://198.18.0.1:8081/` to a closed port for the RST.
    static let client = IPv4Address(198, 18, 0, 2)
    static let server = IPv4Address(198, 18, 0, 1)

    /// curl's SYN: mss 1460, sackOK, TS val 541469358 ecr 0, nop, wscale 10.
    static let syn: [UInt8] = [
        0xd1, 0x46, 0x1f, 0x90, 0xdf, 0x00, 0x73, 0x6f, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
        0x32, 0xa9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x20, 0x46, 0x2a, 0xae,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ]
    /// The server's SYN-ACK: mss 1460, sackOK, TS val 1980374978 ecr 541469358, nop, wscale 10.
    static let synAck: [UInt8] = [
        0x1f, 0x90, 0xd1, 0x46, 0xe3, 0xa3, 0xa4, 0x0c, 0xdf, 0x00, 0x73, 0x70, 0xa0, 0x12, 0xfe, 0x88,
        0x11, 0x83, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x76, 0x0a, 0x1f, 0xc2,
        0x20, 0x46, 0x2a, 0xae, 0x01, 0x03, 0x03, 0x0a,
    ]
    /// The server's PSH-ACK carrying the file body: nop, nop, TS val 1980374984 ecr 541469364.
    static let data: [UInt8] = [
        0x1f, 0x90, 0xd1, 0x46, 0xe3, 0xa3, 0xa4, 0xc6, 0xdf, 0x00, 0x73, 0xc9, 0x80, 0x18, 0x00, 0x40,
        0x27, 0x4f, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x76, 0x0a, 0x1f, 0xc8, 0x20, 0x46, 0x2a, 0xb4,
        0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x73, 0x6b, 0x69, 0x66, 0x66,
        0x0a,
    ]
    /// curl's FIN-ACK: nop, nop, TS val 541469364 ecr 1980374984.
    static let fin: [UInt8] = [
        0xd1, 0x46, 0x1f, 0x90, 0xdf, 0x00, 0x73, 0xc9, 0xe3, 0xa3, 0xa4, 0xd7, 0x80, 0x11, 0x00, 0x3f,
        0x3d, 0x6c, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x20, 0x46, 0x2a, 0xb4, 0x76, 0x0a, 0x1f, 0xc8,
    ]
    /// Linux's RST-ACK answering a SYN to closed port 8081 (no options, window 0).
    static let rst: [UInt8] = [
        0x1f, 0x91, 0xcd, 0x42, 0x00, 0x00, 0x00, 0x00, 0x75, 0xd4, 0x4c, 0x51, 0x50, 0x14, 0x00, 0x00,
        0x74, 0xaf, 0x00, 0x00,
    ]

    // Flow 2, for SACK: Linux does not emit SACK blocks without loss, and the namespaces have no
    // netem, so scapy (in the 198.18.0.2 namespace, posing as 198.18.0.3 with a static neighbour
    // entry on the server side, so no kernel socket answers) opened a connection with sackOK to
    // `socat -u TCP-LISTEN:9000,bind=198.18.0.1 /dev/null` and sent three 50-byte segments at
    // relative offsets 100, 300 and 400, leaving holes. The segments below are the duplicate ACKs
    // that the LINUX server sent back (the SACK options are Linux's own, scapy's ISN was 1000).
    static let sackPeer = IPv4Address(198, 18, 0, 3)

    /// nop, nop, TS val 3855688555 ecr 101, nop, nop, sack 1 {1101:1151}.
    static let sack1: [UInt8] = [
        0x23, 0x28, 0x9c, 0x41, 0xd5, 0xf4, 0xe5, 0xdf, 0x00, 0x00, 0x03, 0xe9, 0xb0, 0x10, 0x00, 0x40,
        0x22, 0xa8, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xe5, 0xd1, 0x23, 0x6b, 0x00, 0x00, 0x00, 0x65,
        0x01, 0x01, 0x05, 0x0a, 0x00, 0x00, 0x04, 0x4d, 0x00, 0x00, 0x04, 0x7f,
    ]
    /// nop, nop, TS val 3855688699 ecr 101, nop, nop, sack 3 {1401:1451}{1301:1351}{1101:1151}.
    static let sack3: [UInt8] = [
        0x23, 0x28, 0x9c, 0x41, 0xd5, 0xf4, 0xe5, 0xdf, 0x00, 0x00, 0x03, 0xe9, 0xf0, 0x10, 0x00, 0x40,
        0xcc, 0x77, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xe5, 0xd1, 0x23, 0xfb, 0x00, 0x00, 0x00, 0x65,
        0x01, 0x01, 0x05, 0x1a, 0x00, 0x00, 0x05, 0x79, 0x00, 0x00, 0x05, 0xab, 0x00, 0x00, 0x05, 0x15,
        0x00, 0x00, 0x05, 0x47, 0x00, 0x00, 0x04, 0x4d, 0x00, 0x00, 0x04, 0x7f,
    ]

    typealias Pseudo = (source: IPv4Address, destination: IPv4Address)

    /// Every fixture with the addresses of its IPv4 header.
    static var fixtures: [(name: String, bytes: [UInt8], pseudo: Pseudo)] {
        [("syn", syn, (client, server)), ("synAck", synAck, (server, client)),
         ("data", data, (server, client)), ("fin", fin, (client, server)),
         ("rst", rst, (server, client)), ("sack1", sack1, (server, sackPeer)),
         ("sack3", sack3, (server, sackPeer))]
    }

    // MARK: Helpers

    func parse(_ bytes: [UInt8], _ pseudo: Pseudo? = nil) throws -> TCPHeader {
        try bytes.withUnsafeBytes { try TCPHeader.parse($0, pseudoHeader: pseudo) }
    }

    func parseError(_ bytes: [UInt8], _ pseudo: Pseudo? = nil) -> TCPParseError? {
        do {
            _ = try parse(bytes, pseudo)
            return nil
        } catch {
            return error as? TCPParseError
        }
    }

    func emit(_ header: TCPHeader) -> [UInt8] {
        var out = [UInt8](repeating: 0xee, count: header.headerLength)
        out.withUnsafeMutableBytes { header.emit(into: $0) }
        return out
    }

    /// A header with the given option area (length a multiple of 4) and no payload.
    func segment(options area: [UInt8]) -> [UInt8] {
        precondition(area.count % 4 == 0 && area.count <= 40)
        let offset = UInt8(5 + area.count / 4)
        return [0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, offset << 4, 0x02, 0xff, 0xff,
                0, 0, 0, 0] + area
    }

    // MARK: Field decoding of the captured segments

    func testLinuxSYNOptionsParseInWireOrder() throws {
        let header = try parse(Self.syn, (Self.client, Self.server))
        XCTAssertEqual(header.sourcePort, 53574)
        XCTAssertEqual(header.destinationPort, 8080)
        XCTAssertEqual(header.sequenceNumber, 3_741_348_719)
        XCTAssertEqual(header.acknowledgmentNumber, 0)
        XCTAssertEqual(header.flags, [.syn])
        XCTAssertEqual(header.window, 64240)
        XCTAssertEqual(header.checksum, 0x32a9)
        XCTAssertEqual(header.urgentPointer, 0)
        XCTAssertEqual(header.reservedBits, 0)
        XCTAssertEqual(header.options, [.maximumSegmentSize(1460), .sackPermitted,
                                        .timestamps(value: 541_469_358, echoReply: 0), .noOperation,
                                        .windowScale(10)])
        XCTAssertEqual(header.headerLength, 40)
        XCTAssertEqual(TCPHeader.encodedOptionsLength(header.options), 20)
    }

    func testLinuxSYNACKAcknowledgesISNPlusOne() throws {
        let syn = try parse(Self.syn)
        let header = try parse(Self.synAck, (Self.server, Self.client))
        XCTAssertEqual(header.flags, [.syn, .ack])
        XCTAssertEqual(header.acknowledgmentNumber, syn.sequenceNumber &+ 1)
        XCTAssertEqual(header.window, 65160)
        XCTAssertEqual(header.options, [.maximumSegmentSize(1460), .sackPermitted,
                                        .timestamps(value: 1_980_374_978, echoReply: 541_469_358),
                                        .noOperation, .windowScale(10)])
    }

    func testDataSegmentViewExposesPayloadAndTimestamps() throws {
        try Self.data.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(TCPView(bytes))
            XCTAssertEqual(view.dataOffset, 8)
            XCTAssertEqual(view.headerLength, 32)
            XCTAssertEqual(view.flags, [.psh, .ack])
            XCTAssertEqual(view.window, 64)
            XCTAssertEqual(Array(view.options), [0x01, 0x01, 0x08, 0x0a, 0x76, 0x0a, 0x1f, 0xc8,
                                                 0x20, 0x46, 0x2a, 0xb4])
            XCTAssertEqual(String(decoding: view.payload, as: UTF8.self), "hello from skiff\n")
            XCTAssertTrue(view.verifyChecksum(source: Self.server, destination: Self.client))
        }
        XCTAssertEqual(try parse(Self.data).options,
                       [.noOperation, .noOperation, .timestamps(value: 1_980_374_984, echoReply: 541_469_364)])
    }

    func testFINACKAndRSTACKFlags() throws {
        let fin = try parse(Self.fin, (Self.client, Self.server))
        XCTAssertEqual(fin.flags, [.fin, .ack])
        XCTAssertEqual(fin.flags.description, "FIN,ACK")
        let rst = try parse(Self.rst, (Self.server, Self.client))
        XCTAssertEqual(rst.flags, [.rst, .ack])
        XCTAssertEqual(rst.window, 0)
        XCTAssertEqual(rst.options, [])
        XCTAssertEqual(rst.headerLength, 20)
        // RFC 9293 §3.10.7.1: the RST for a SYN to a closed port has SEG.SEQ = 0 and acknowledges
        // the SYN (the SYN of that attempt had ISN 0x75d44c50).
        XCTAssertEqual(rst.sequenceNumber, 0)
        XCTAssertEqual(rst.acknowledgmentNumber, 0x75d4_4c51)
    }

    func testRFC2018SACKBlocksFromLinuxDuplicateACKs() throws {
        let one = try parse(Self.sack1, (Self.server, Self.sackPeer))
        XCTAssertEqual(one.options.last, .sack([TCPSACKBlock(left: 1101, right: 1151)]))
        let three = try parse(Self.sack3, (Self.server, Self.sackPeer))
        XCTAssertEqual(three.flags, [.ack])
        XCTAssertEqual(three.acknowledgmentNumber, 1001)
        XCTAssertEqual(three.options, [
            .noOperation, .noOperation, .timestamps(value: 3_855_688_699, echoReply: 101),
            .noOperation, .noOperation,
            .sack([TCPSACKBlock(left: 1401, right: 1451), TCPSACKBlock(left: 1301, right: 1351),
                   TCPSACKBlock(left: 1101, right: 1151)]),
        ])
        XCTAssertEqual(three.headerLength, 60)
    }

    // MARK: Round trips and checksums

    func testEveryCapturedSegmentRoundTripsByteForByte() throws {
        for (name, bytes, _) in Self.fixtures {
            let header = try parse(bytes)
            let length = bytes.withUnsafeBytes { TCPView($0)!.headerLength }
            XCTAssertEqual(header.headerLength, length, name)
            XCTAssertEqual(emit(header), Array(bytes[0..<length]), name)
        }
    }

    func testPrependComputesLinuxChecksum() throws {
        for (name, bytes, pseudo) in Self.fixtures {
            var header = try parse(bytes)
            let linuxChecksum = header.checksum
            header.checksum = 0x1234  // prepend must ignore the stored value
            var packet = PacketBuffer(Array(bytes[header.headerLength...]))
            header.prepend(to: &packet, source: pseudo.source, destination: pseudo.destination)
            XCTAssertEqual(packet.bytes, bytes, name)
            XCTAssertEqual(try parse(packet.bytes).checksum, linuxChecksum, name)
        }
    }

    func testRFC9293PseudoHeaderChecksumVerifies() throws {
        for (name, bytes, pseudo) in Self.fixtures {
            bytes.withUnsafeBytes {
                let view = TCPView($0)!
                XCTAssertTrue(view.verifyChecksum(source: pseudo.source, destination: pseudo.destination), name)
                // Swapped addresses sum the same (ones' complement addition commutes), so change one.
                XCTAssertFalse(view.verifyChecksum(source: IPv4Address(198, 18, 0, 9),
                                                   destination: pseudo.destination), name)
            }
            XCTAssertNoThrow(try parse(bytes, pseudo), name)
            for index in [0, 13, 17, bytes.count - 1] {
                var corrupt = bytes
                corrupt[index] ^= 0x40
                XCTAssertEqual(parseError(corrupt, pseudo), .badChecksum, "\(name) byte \(index)")
            }
        }
    }

    func testPrependedSegmentVerifiesAndParses() throws {
        let header = TCPHeader(sourcePort: 40000, destinationPort: 80, sequenceNumber: 0xffff_fff0,
                               acknowledgmentNumber: 7, flags: [.psh, .ack, .ece], window: 512,
                               options: [.noOperation, .noOperation,
                                         .timestamps(value: 1, echoReply: 2)])
        var packet = PacketBuffer(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        header.prepend(to: &packet, source: Self.client, destination: Self.server)
        let parsed = try parse(packet.bytes, (Self.client, Self.server))
        var expected = header
        expected.checksum = parsed.checksum
        XCTAssertEqual(parsed, expected)
        packet.withUnsafeReadableBytes {
            XCTAssertEqual(String(decoding: TCPView($0)!.payload, as: UTF8.self), "GET / HTTP/1.0\r\n\r\n")
        }
    }

    // MARK: Header length, padding, flags

    func testHeaderLengthPadsOptionsWithEOL() throws {
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3,
                               acknowledgmentNumber: 0, flags: [.syn], window: 1024,
                               options: [.maximumSegmentSize(1460), .windowScale(7)])
        XCTAssertEqual(TCPHeader.encodedOptionsLength(header.options), 7)
        XCTAssertEqual(header.headerLength, 28)
        let bytes = emit(header)
        XCTAssertEqual(Array(bytes[20...]), [0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x07, 0x00])
        XCTAssertEqual(bytes[12], 0x70)
        // The pad byte is an EOL and parses back as one.
        XCTAssertEqual(try parse(bytes).options, header.options + [.endOfList])
    }

    func testEncodedOptionsLengthOfEveryKind() {
        XCTAssertEqual(TCPHeader.encodedOptionsLength([]), 0)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.endOfList, .noOperation]), 2)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.maximumSegmentSize(1)]), 4)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.windowScale(1)]), 3)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.sackPermitted]), 2)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.timestamps(value: 0, echoReply: 0)]), 10)
        XCTAssertEqual(TCPHeader.encodedOptionsLength(
            [.sack(Array(repeating: TCPSACKBlock(left: 1, right: 2), count: 4))]), 34)
        XCTAssertEqual(TCPHeader.encodedOptionsLength([.unknown(kind: 34, data: [1, 2, 3])]), 5)
    }

    func testAllNineFlagBitsAndReservedBitsRoundTrip() throws {
        let all: TCPFlags = [.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr, .ae]
        XCTAssertEqual(all.rawValue, TCPFlags.mask)
        XCTAssertEqual(TCPFlags.ns, TCPFlags.ae)
        XCTAssertEqual(all.description, "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR,AE")
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3,
                               acknowledgmentNumber: 4, flags: all, window: 5, checksum: 6,
                               urgentPointer: 7, reservedBits: 0x5)
        let bytes = emit(header)
        XCTAssertEqual(Array(bytes[12..<14]), [0x5b, 0xff])
        XCTAssertEqual(try parse(bytes), header)
        bytes.withUnsafeBytes {
            XCTAssertEqual(TCPView($0)!.flags, all)  // reserved bits stay out of the flags
            XCTAssertEqual(TCPView($0)!.reservedBits, 0x5)
        }
    }

    // MARK: Options

    func testRFC9293EOLEndsTheListAndTheRestIsPadding() throws {
        // MSS, EOL, then bytes that would be a malformed option if they were parsed.
        let bytes = segment(options: [0x02, 0x04, 0x05, 0xb4, 0x00, 0x02, 0x00, 0x07])
        let header = try parse(bytes)
        XCTAssertEqual(header.options, [.maximumSegmentSize(1460), .endOfList, .endOfList,
                                        .endOfList, .endOfList])
        XCTAssertEqual(header.headerLength, 28)  // the payload offset is kept
        // Non-zero padding is tolerated and re-emitted as the zeros RFC 9293 §3.1 asks for.
        XCTAssertEqual(Array(emit(header)[20...]), [0x02, 0x04, 0x05, 0xb4, 0, 0, 0, 0])
    }

    func testMacOSStyleEOLTerminatedSYNRoundTrips() throws {
        // The layout macOS uses (mss, nop, wscale, nop, nop, TS, sackOK, eol): 23 bytes + 1 EOL.
        let area: [UInt8] = [0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x01, 0x01, 0x08, 0x0a,
                             0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x04, 0x02, 0x00, 0x00]
        let bytes = segment(options: area)
        let header = try parse(bytes)
        XCTAssertEqual(header.options, [.maximumSegmentSize(1460), .noOperation, .windowScale(6),
                                        .noOperation, .noOperation,
                                        .timestamps(value: 0x1122_3344, echoReply: 0), .sackPermitted,
                                        .endOfList, .endOfList])
        XCTAssertEqual(emit(header), bytes)
    }

    func testUnknownOptionsAreKeptVerbatim() throws {
        // A TCP Fast Open cookie (kind 34, RFC 7413) and an experimental kind 254 with no data.
        let area: [UInt8] = [0x22, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 0xfe, 0x02]
        let bytes = segment(options: area)
        let header = try parse(bytes)
        XCTAssertEqual(header.options, [.unknown(kind: 34, data: [1, 2, 3, 4, 5, 6, 7, 8]),
                                        .unknown(kind: 254, data: [])])
        XCTAssertEqual(emit(header), bytes)
    }

    func testFourSACKBlocksFillTheOptionArea() throws {
        let blocks = (0..<4).map { TCPSACKBlock(left: UInt32($0) * 100, right: UInt32($0) * 100 + 50) }
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3,
                               acknowledgmentNumber: 4, flags: [.ack], window: 5,
                               options: [.noOperation, .noOperation, .sack(blocks)])
        XCTAssertEqual(header.headerLength, 56)
        XCTAssertEqual(try parse(emit(header)), header)
    }

    func testMalformedOptionLengthsAreBadOption() {
        let cases: [(String, [UInt8])] = [
            ("length 0", [0x02, 0x00, 0x05, 0xb4]),
            ("length 1", [0xfe, 0x01, 0x00, 0x00]),
            ("unknown length 0", [0x1e, 0x00, 0x01, 0x01]),
            ("overruns the area", [0x01, 0xfe, 0x05, 0x01]),
            ("MSS overruns", [0x01, 0x01, 0x02, 0x04]),
            ("kind without length byte", [0x01, 0x01, 0x01, 0x08]),
            ("MSS length 3", [0x02, 0x03, 0x05, 0x01]),
            ("MSS length 5", [0x02, 0x05, 0x05, 0xb4, 0x00, 0x00, 0x00, 0x00]),
            ("window scale length 2", [0x03, 0x02, 0x01, 0x01]),
            ("window scale length 4", [0x03, 0x04, 0x07, 0x00]),
            ("SACK-permitted length 3", [0x04, 0x03, 0x00, 0x00]),
            ("timestamps length 9", [0x08, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("timestamps length 11", [0x08, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("SACK with no blocks", [0x05, 0x02, 0x00, 0x00]),
            ("SACK length 11", [0x05, 0x0b, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]),
            ("SACK of five blocks overruns", [0x05, 0x2a] + [UInt8](repeating: 0, count: 38)),
            ("good option then length 0", [0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x08, 0x00]),
        ]
        for (name, area) in cases {
            XCTAssertEqual(parseError(segment(options: area)), .badOption, name)
        }
    }

    func testOptionReaderStopsAtTheMalformedOption() throws {
        try [UInt8]([0x01, 0x03, 0x03, 0x07, 0x02, 0x00]).withUnsafeBytes { area in
            var reader = TCPOptionReader(area)
            XCTAssertEqual(try reader.next(), .noOperation)
            XCTAssertEqual(try reader.next(), .windowScale(7))
            for _ in 0..<2 {  // it does not advance past the bad option
                XCTAssertThrowsError(try reader.next()) { XCTAssertEqual($0 as? TCPParseError, .badOption) }
            }
        }
        XCTAssertEqual(try [UInt8]().withUnsafeBytes { try TCPOption.parseList($0) }, [])
    }

    // MARK: Untrusted input

    func testDataOffsetBelowFiveOrPastTheEndIsRejected() {
        var bytes = Self.rst
        for offset: UInt8 in 0..<5 {
            bytes[12] = offset << 4 | 0x0
            XCTAssertEqual(parseError(bytes), .badDataOffset, "offset \(offset)")
            XCTAssertNil(bytes.withUnsafeBytes { TCPView($0) })
        }
        bytes[12] = 0x60  // 24 bytes of header in a 20-byte segment
        XCTAssertEqual(parseError(bytes), .badDataOffset)
        bytes[12] = 0xf0
        XCTAssertEqual(parseError(bytes), .badDataOffset)
    }

    func testEveryTruncationIsAnErrorOrAShorterSegment() throws {
        for (name, bytes, _) in Self.fixtures {
            let full = try parse(bytes)
            for n in 0..<bytes.count {
                let prefix = Array(bytes[0..<n])
                if n < 20 {
                    XCTAssertEqual(parseError(prefix), .truncated, "\(name) \(n)")
                } else if n < full.headerLength {
                    XCTAssertEqual(parseError(prefix), .badDataOffset, "\(name) \(n)")
                } else {
                    // Only the payload is shorter: same header, and the checksum no longer holds.
                    XCTAssertEqual(try parse(prefix), full, "\(name) \(n)")
                    XCTAssertEqual(parseError(prefix, Self.fixtures.first { $0.name == name }!.pseudo),
                                   .badChecksum, "\(name) \(n)")
                }
            }
        }
    }

    func testSeededRandomInputsNeverTrapAndRoundTrip() {
        var rng = TCPSplitMix64(seed: 0x5eed_7c9)
        var parsed = 0
        var withOptions = 0
        for iteration in 0..<6000 {
            var bytes: [UInt8]
            if iteration % 3 == 2 {
                // A header whose option area is built from well-formed options, then maybe damaged.
                var area: [UInt8] = []
                while true {
                    let option = randomOption(&rng)
                    if area.count + option.count > 40 { break }
                    area += option
                }
                while area.count % 4 != 0 { area.append(0) }
                bytes = segment(options: area) + [UInt8](repeating: 0x61, count: Int(rng.next() % 3))
                if rng.next() % 3 == 0, !area.isEmpty {
                    bytes[20 + Int(rng.next() % UInt64(area.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            } else if iteration % 3 == 0 {
                // Mutations of a real segment: a few random bytes changed, maybe truncated.
                let base = Self.fixtures[Int(rng.next() % UInt64(Self.fixtures.count))].bytes
                bytes = base
                for _ in 0..<(1 + rng.next() % 4) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                bytes = Array(bytes[0..<Int(rng.next() % UInt64(bytes.count + 1))])
            } else {
                // Random bytes behind a plausible data offset, so the options get exercised.
                let count = Int(rng.next() % 72)
                bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if count > 12 { bytes[12] = UInt8(5 + rng.next() % 11) << 4 }
            }
            guard let header = try? parse(bytes) else { continue }
            parsed += 1
            if header.options.contains(where: { $0.kind != TCPOption.Kind.noOperation && $0.kind != 0 }) {
                withOptions += 1
            }
            let length = bytes.withUnsafeBytes { TCPView($0)!.headerLength }
            XCTAssertEqual(header.headerLength, length)
            let emitted = emit(header)
            XCTAssertEqual(try? parse(emitted), header, "iteration \(iteration)")
            XCTAssertEqual(emit(try! parse(emitted)), emitted)
        }
        // The generator really reaches the option parser, not only the length checks.
        XCTAssertGreaterThan(parsed, 1000)
        XCTAssertGreaterThan(withOptions, 800)
    }

    /// One option's bytes: usually well-formed, of a random kind.
    private func randomOption(_ rng: inout TCPSplitMix64) -> [UInt8] {
        switch rng.byte(below: 8) {
        case 0: return [1]
        case 1: return [2, 4, rng.byte(below: 256), rng.byte(below: 256)]
        case 2: return [3, 3, rng.byte(below: 16)]
        case 3: return [4, 2]
        case 4: return [8, 10] + (0..<8).map { _ in rng.byte(below: 256) }
        case 5:
            let blocks = 1 + Int(rng.byte(below: 4))
            return [5, UInt8(2 + 8 * blocks)] + (0..<8 * blocks).map { _ in rng.byte(below: 256) }
        case 6:
            let count = Int(rng.byte(below: 6))
            return [UInt8(9 + rng.byte(below: 240)), UInt8(2 + count)] + (0..<count).map { _ in rng.byte(below: 256) }
        default: return [0]
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small deterministic generator for seeded tests.
private struct TCPSplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// A value in 0..<n (n <= 256).
    mutating func byte(below n: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: next() % n) }
}
