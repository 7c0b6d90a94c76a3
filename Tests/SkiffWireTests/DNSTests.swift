import XCTest
@testable import SkiffWire

// Fixtures: real DNS messages captured on 2025-11-22 between two network namespaces joined by a
// veth pair (client 198.18.0.2, server 198.18.0.1). The server was dnsmasq 2.90:
//   dnsmasq --no-daemon --no-resolv --no-hosts --port=53 --listen-address=198.18.0.1
//     --bind-interfaces --address=/a.example.test/198.18.0.7
//     --cname=www.example.test,a.example.test --cname=www2.example.test,h.example.test
//     --host-record=h.example.test,198.18.0.8 --host-record=h6.example.test,2001:db8::1
//     --ptr-record=9.0.18.198.in-addr.arpa,h.example.test --local=/example.test/
// The queries were sent with a python3 UDP socket (the last one with an EDNS OPT record and mixed
// case), captured with `tcpdump -i <veth> -w dns.pcap udp port 53`, and the UDP payloads taken
// from the pcap. dnsmasq compresses owner names (pointer to the question) but writes CNAME
// targets uncompressed.
enum DNSFixtures {
    static let aQuery: [UInt8] = [
        0x1a, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x07, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
    ]
    static let aResponse: [UInt8] = [
        0x1a, 0x01, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x07, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc6, 0x12, 0x00, 0x07,
    ]
    static let cnameQuery: [UInt8] = [
        0x1a, 0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77, 0x77,
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01,
        0x00, 0x01,
    ]
    static let cnameResponse: [UInt8] = [
        0x1a, 0x02, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77, 0x77,
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01,
        0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x61,
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
    ]
    static let aaaaQuery: [UInt8] = [
        0x1a, 0x03, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x68, 0x36, 0x07,
        0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00,
        0x01,
    ]
    static let aaaaResponse: [UInt8] = [
        0x1a, 0x03, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x68, 0x36, 0x07,
        0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00,
        0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d,
        0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    ]
    static let ptrQuery: [UInt8] = [
        0x1a, 0x04, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x39, 0x01, 0x30,
        0x02, 0x31, 0x38, 0x03, 0x31, 0x39, 0x38, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04,
        0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01,
    ]
    static let ptrResponse: [UInt8] = [
        0x1a, 0x04, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x39, 0x01, 0x30,
        0x02, 0x31, 0x38, 0x03, 0x31, 0x39, 0x38, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04,
        0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x68, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04,
        0x74, 0x65, 0x73, 0x74, 0x00,
    ]
    static let nxQuery: [UInt8] = [
        0x1a, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x6e, 0x78, 0x07,
        0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00,
        0x01,
    ]
    static let nxResponse: [UInt8] = [
        0x1a, 0x05, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x6e, 0x78, 0x07,
        0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00,
        0x01,
    ]
    static let chainQuery: [UInt8] = [
        0x1a, 0x06, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x77, 0x77, 0x77,
        0x32, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00,
        0x01, 0x00, 0x01,
    ]
    static let chainResponse: [UInt8] = [
        0x1a, 0x06, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x77, 0x77, 0x77,
        0x32, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00,
        0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01,
        0x68, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0,
        0x2f, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc6, 0x12, 0x00, 0x08,
    ]
    static let ednsQuery: [UInt8] = [
        0x1a, 0x07, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x48, 0x07, 0x45,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x54, 0x45, 0x53, 0x54, 0x00, 0x00, 0x01, 0x00, 0x01,
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]
    static let ednsResponse: [UInt8] = [
        0x1a, 0x07, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x48, 0x07, 0x45,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x54, 0x45, 0x53, 0x54, 0x00, 0x00, 0x01, 0x00, 0x01,
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc6, 0x12, 0x00, 0x08,
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    static let all: [(String, [UInt8])] = [
        ("aQuery", aQuery), ("aResponse", aResponse), ("cnameQuery", cnameQuery),
        ("cnameResponse", cnameResponse), ("aaaaQuery", aaaaQuery), ("aaaaResponse", aaaaResponse),
        ("ptrQuery", ptrQuery), ("ptrResponse", ptrResponse), ("nxQuery", nxQuery),
        ("nxResponse", nxResponse), ("chainQuery", chainQuery), ("chainResponse", chainResponse),
        ("ednsQuery", ednsQuery), ("ednsResponse", ednsResponse),
    ]
    /// The fixtures whose compression our emitter reproduces exactly (every one but the two with
    /// an uncompressed CNAME target).
    static let identicallyCompressed: [(String, [UInt8])] = all.filter {
        $0.0 != "cnameResponse" && $0.0 != "chainResponse"
    }
}

/// SplitMix64, a small deterministic PRNG for seeded random inputs.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

private func parseMessage(_ bytes: [UInt8]) throws -> DNSMessage {
    try bytes.withUnsafeBytes { try DNSMessage.parse($0) }
}

private func encode(_ message: DNSMessage) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: message.encodedLength)
    let written = out.withUnsafeMutableBytes { message.emit(into: $0) }
    XCTAssertEqual(written, out.count, "emit wrote encodedLength bytes")
    return out
}

private func parseName(_ bytes: [UInt8], at offset: Int) throws -> (name: DNSName, end: Int) {
    try bytes.withUnsafeBytes { try DNSName.parse($0, at: offset) }
}

private func dnsName(_ text: String) -> DNSName {
    guard let name = DNSName(text) else {
        XCTFail("bad name \(text)")
        return .root
    }
    return name
}

/// A 12-byte header with the given counts, for hand-built messages.
private func header(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, qd: UInt16 = 1, an: UInt16 = 0,
            ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
    var out: [UInt8] = []
    for value in [id, flags, qd, an, ns, ar] { out += [UInt8(value >> 8), UInt8(value & 0xff)] }
    return out
}

final class DNSTests: XCTestCase {
    // MARK: Real captures

    func testCapturedMessagesRoundTripByteExactWhenCompressedIdentically() throws {
        for (label, bytes) in DNSFixtures.identicallyCompressed {
            let message = try parseMessage(bytes)
            XCTAssertEqual(encode(message), bytes, label)
            XCTAssertEqual(message.encodedLength, bytes.count, label)
            XCTAssertEqual(try parseMessage(encode(message)), message, label)
        }
    }

    func testCapturedMessagesRoundTripToEqualValue() throws {
        for (label, bytes) in DNSFixtures.all {
            let message = try parseMessage(bytes)
            let emitted = encode(message)
            XCTAssertLessThanOrEqual(emitted.count, bytes.count, label)
            let again = try parseMessage(emitted)
            XCTAssertEqual(again, message, label)
            // Exact-case compression makes our own output a fixed point.
            XCTAssertEqual(encode(again), emitted, label)
        }
    }

    func testStubQueryMatchesCapturedQueries() {
        XCTAssertEqual(encode(.query(id: 0x1a01, name: dnsName("a.example.test"), type: .a)),
                       DNSFixtures.aQuery)
        XCTAssertEqual(encode(.query(id: 0x1a03, name: dnsName("h6.example.test"), type: .aaaa)),
                       DNSFixtures.aaaaQuery)
        XCTAssertEqual(encode(.query(id: 0x1a04, name: dnsName("9.0.18.198.in-addr.arpa."), type: .ptr)),
                       DNSFixtures.ptrQuery)
        var noRecursion = encode(.query(id: 0x1a01, name: dnsName("a.example.test"), type: .a,
                                        recursionDesired: false))
        XCTAssertEqual(noRecursion[2], 0x00, "RD clear")
        noRecursion[2] = 0x01
        XCTAssertEqual(noRecursion, DNSFixtures.aQuery)
    }

    func testAAnswer() throws {
        let message = try parseMessage(DNSFixtures.aResponse)
        let h = message.header
        XCTAssertEqual(h.id, 0x1a01)
        XCTAssertTrue(h.isResponse)
        XCTAssertEqual(h.opcode, .query)
        XCTAssertTrue(h.isAuthoritative)
        XCTAssertFalse(h.isTruncated)
        XCTAssertTrue(h.recursionDesired)
        XCTAssertTrue(h.recursionAvailable)
        XCTAssertEqual(h.rcode, .noError)
        XCTAssertEqual([h.questionCount, h.answerCount, h.authorityCount, h.additionalCount], [1, 1, 0, 0])
        XCTAssertEqual(message.questions, [DNSQuestion(name: dnsName("a.example.test"), type: .a)])
        XCTAssertEqual(message.answers, [DNSResourceRecord(
            name: dnsName("a.example.test"), type: .a, ttl: 0, data: .a(IPv4Address(198, 18, 0, 7)))])
    }

    func testCNAMEAnswerWithUncompressedTargetReEmitsCompressed() throws {
        let message = try parseMessage(DNSFixtures.cnameResponse)
        XCTAssertEqual(message.answers.count, 1)
        XCTAssertEqual(message.answers[0].name, dnsName("www.example.test"))
        XCTAssertEqual(message.answers[0].type, .cname)
        XCTAssertEqual(message.answers[0].data, .cname(dnsName("a.example.test")))
        // RFC 1035 §4.1.4: our emitter compresses the target against the question's
        // "example.test" (offset 16): 01 'a' c0 10 instead of 16 bytes.
        let emitted = encode(message)
        XCTAssertEqual(emitted.count, DNSFixtures.cnameResponse.count - 12)
        XCTAssertEqual(Array(emitted[(emitted.count - 6)...]), [0x00, 0x04, 0x01, 0x61, 0xc0, 0x10])
    }

    func testCNAMEChainAnswer() throws {
        let message = try parseMessage(DNSFixtures.chainResponse)
        XCTAssertEqual(message.answers, [
            DNSResourceRecord(name: dnsName("www2.example.test"), type: .cname, ttl: 0,
                              data: .cname(dnsName("h.example.test"))),
            DNSResourceRecord(name: dnsName("h.example.test"), type: .a, ttl: 0,
                              data: .a(IPv4Address(198, 18, 0, 8))),
        ])
        // The A record's owner is a pointer (c0 2f) to the CNAME target at offset 47; re-emitted,
        // the target is compressed and the A owner still points at it.
        let emitted = encode(message)
        XCTAssertEqual(emitted.count, DNSFixtures.chainResponse.count - 12)
        XCTAssertEqual(Array(emitted[47..<53]), [0x01, 0x68, 0xc0, 0x11, 0xc0, 0x2f])
    }

    func testAAAAAnswer() throws {
        let message = try parseMessage(DNSFixtures.aaaaResponse)
        XCTAssertEqual(message.questions.first?.type, .aaaa)
        XCTAssertEqual(message.answers.first?.data,
                       .aaaa([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]))
    }

    func testPTRAnswer() throws {
        let message = try parseMessage(DNSFixtures.ptrResponse)
        XCTAssertEqual(message.answers.first?.name, dnsName("9.0.18.198.in-addr.arpa"))
        XCTAssertEqual(message.answers.first?.type, .ptr)
        XCTAssertEqual(message.answers.first?.data, .ptr(dnsName("h.example.test")))
    }

    func testNXDOMAINAnswer() throws {
        let message = try parseMessage(DNSFixtures.nxResponse)
        XCTAssertEqual(message.header.rcode, .nameError)
        XCTAssertEqual(message.header.rcode.description, "NXDOMAIN")
        XCTAssertFalse(message.header.isAuthoritative)
        XCTAssertTrue(message.answers.isEmpty)
        XCTAssertEqual(message.questions.first?.name, dnsName("nx.example.test"))
    }

    func testEDNSOptRecordKeptRawAndQuestionCasePreserved() throws {
        let message = try parseMessage(DNSFixtures.ednsResponse)
        XCTAssertEqual(message.questions.first?.name.description, "H.Example.TEST")
        XCTAssertEqual(message.questions.first?.name, dnsName("h.example.test"), "RFC 4343 case-insensitive")
        XCTAssertEqual(message.additionals, [DNSResourceRecord(
            name: .root, type: .opt, recordClass: DNSClass(rawValue: 1232), ttl: 0, data: .other([]))])
        XCTAssertEqual(message.answers.first?.name.description, "H.Example.TEST")
    }

    func testHeaderViewMatchesValue() throws {
        let bytes = DNSFixtures.ednsResponse
        try bytes.withUnsafeBytes { raw in
            let view = try XCTUnwrap(DNSHeaderView(raw))
            XCTAssertEqual(view.flags, 0x8580)
            XCTAssertEqual(view.additionalCount, 1)
            XCTAssertEqual(DNSHeader(view), try DNSHeader.parse(raw))
        }
        XCTAssertNil([UInt8](repeating: 0, count: 11).withUnsafeBytes { DNSHeaderView($0) })
    }

    // MARK: Header bits

    func testRFC1035And4035HeaderBitPositions() throws {
        func flags(_ h: DNSHeader) -> UInt16 { h.flags }
        XCTAssertEqual(flags(DNSHeader(id: 0, isResponse: true)), 0x8000)
        XCTAssertEqual(flags(DNSHeader(id: 0, opcode: .update)), 0x2800)
        XCTAssertEqual(flags(DNSHeader(id: 0, isAuthoritative: true)), 0x0400)
        XCTAssertEqual(flags(DNSHeader(id: 0, isTruncated: true)), 0x0200)
        XCTAssertEqual(flags(DNSHeader(id: 0, recursionDesired: true)), 0x0100)
        XCTAssertEqual(flags(DNSHeader(id: 0, recursionAvailable: true)), 0x0080)
        XCTAssertEqual(flags(DNSHeader(id: 0, z: true)), 0x0040)
        XCTAssertEqual(flags(DNSHeader(id: 0, authenticData: true)), 0x0020)
        XCTAssertEqual(flags(DNSHeader(id: 0, checkingDisabled: true)), 0x0010)
        XCTAssertEqual(flags(DNSHeader(id: 0, rcode: .refused)), 0x0005)
        // Every flags word survives header emit/parse.
        for word in stride(from: 0, through: 0xffff, by: 7) {
            var bytes = header(flags: UInt16(word), qd: 1, an: 2, ns: 3, ar: 4)
            let parsed = try bytes.withUnsafeBytes { try DNSHeader.parse($0) }
            XCTAssertEqual(parsed.flags, UInt16(word))
            var out = [UInt8](repeating: 0, count: 12)
            out.withUnsafeMutableBytes { parsed.emit(into: $0) }
            XCTAssertEqual(out, bytes)
            bytes[0] = 0
        }
    }

    func testMessageHeaderCountsFollowSections() {
        var message = DNSMessage.query(id: 7, name: dnsName("a.example.test"), type: .a)
        var h = message.header
        h.answerCount = 9
        h.isTruncated = true
        message.header = h
        XCTAssertEqual(message.header.answerCount, 0, "counts come from the sections")
        XCTAssertTrue(message.header.isTruncated)
        message.answers.append(DNSResourceRecord(name: dnsName("a.example.test"), type: .a, ttl: 5,
                                                 data: .a(IPv4Address(198, 18, 0, 7))))
        XCTAssertEqual(message.header.answerCount, 1)
        XCTAssertEqual(encode(message)[7], 1)
    }

    // MARK: Compression on emit (RFC 1035 §4.1.4)

    func testEmitCompressesAgainstEarlierNamesAndRoundTrips() throws {
        let message = DNSMessage(
            header: DNSHeader(id: 1, isResponse: true),
            questions: [DNSQuestion(name: dnsName("www.example.test"), type: .mx)],
            answers: [
                DNSResourceRecord(name: dnsName("www.example.test"), type: .mx, ttl: 60,
                                  data: .mx(preference: 10, exchange: dnsName("mail.example.test"))),
            ],
            authorities: [
                DNSResourceRecord(name: dnsName("example.test"), type: .ns, ttl: 60,
                                  data: .ns(dnsName("ns.example.test"))),
                DNSResourceRecord(name: dnsName("example.test"), type: .soa, ttl: 60,
                                  data: .soa(DNSStartOfAuthority(
                                      primaryServer: dnsName("ns.example.test"),
                                      mailbox: dnsName("hostmaster.example.test"), serial: 2025112201,
                                      refresh: 3600, retry: 600, expire: 86400, minimum: 300))),
            ],
            additionals: [
                DNSResourceRecord(name: dnsName("mail.example.test"), type: .a, ttl: 60,
                                  data: .a(IPv4Address(198, 18, 0, 25))),
                DNSResourceRecord(name: dnsName("mail.example.test"), type: DNSType(rawValue: 99),
                                  ttl: 60, data: .other([1, 2, 3])),
            ])
        let bytes = encode(message)
        XCTAssertEqual(try parseMessage(bytes), message)
        // Question name written in full at 12; answer owner is a pointer to it.
        XCTAssertEqual(Array(bytes[34..<36]), [0xc0, 0x0c])
        // MX exchange: "mail" then a pointer to "example.test" at offset 16.
        XCTAssertEqual(Array(bytes[48..<55]), [0x04, 0x6d, 0x61, 0x69, 0x6c, 0xc0, 0x10])
        // Uncompressed, the same message is longer and still parses equal.
        let uncompressed = 12 + (18 + 4) + (12 + 2 + 18) + (14 + 10 + 4 + 17)
            + (14 + 10 + 17 + 25 + 20) + (19 + 10 + 4) + (19 + 10 + 3)
        XCTAssertLessThan(bytes.count, uncompressed)
    }

    func testCompressionMatchesExactBytesOnly() throws {
        // "A.example.test" then "a.example.test": the second shares only "example.test" byte for
        // byte, so it is written as 01 'a' c0 0e; decoding keeps each one's case.
        let message = DNSMessage(
            header: DNSHeader(id: 2),
            questions: [DNSQuestion(name: dnsName("A.example.test"), type: .a),
                        DNSQuestion(name: dnsName("a.example.test"), type: .a)])
        let bytes = encode(message)
        XCTAssertEqual(Array(bytes[32..<36]), [0x01, 0x61, 0xc0, 0x0e])
        let parsed = try parseMessage(bytes)
        XCTAssertEqual(parsed.questions.map(\.name.description), ["A.example.test", "a.example.test"])
    }

    func testPointersOnlyTargetTheFirst16KiB() throws {
        // A pointer holds 14 bits: names written beyond offset 0x3fff are not compression targets.
        let big = DNSResourceRecord(name: .root, type: DNSType(rawValue: 99), ttl: 0,
                                    data: .other([UInt8](repeating: 0, count: 0x4000)))
        let message = DNSMessage(
            header: DNSHeader(id: 3),
            answers: [big,
                      DNSResourceRecord(name: dnsName("far.example.test"), type: .a, ttl: 0,
                                        data: .a(IPv4Address(198, 18, 0, 1))),
                      DNSResourceRecord(name: dnsName("far.example.test"), type: .a, ttl: 0,
                                        data: .a(IPv4Address(198, 18, 0, 2)))])
        let bytes = encode(message)
        XCTAssertEqual(bytes.count, 12 + (11 + 0x4000) + 2 * (18 + 14))
        XCTAssertEqual(try parseMessage(bytes), message)
    }

    func testAppendToPacketBuffer() throws {
        var packet = PacketBuffer(capacity: 0)
        DNSMessage.query(id: 0x1a01, name: dnsName("a.example.test"), type: .a).append(to: &packet)
        XCTAssertEqual(packet.bytes, DNSFixtures.aQuery)
    }

    // MARK: Name compression on parse: safety rules

    func testPointerToItselfRejected() {
        let bytes = header(flags: 0x0100) + [0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01]
        XCTAssertThrowsError(try parseMessage(bytes)) {
            XCTAssertEqual($0 as? DNSParseError, .badName(.badPointer))
        }
    }

    func testTwoPointersToEachOtherRejected() {
        // Offset 12 points to 14 and 14 points to 12.
        let bytes = header(flags: 0x0100) + [0xc0, 0x0e, 0xc0, 0x0c, 0x00]
        XCTAssertThrowsError(try parseName(bytes, at: 12)) {
            XCTAssertEqual($0 as? DNSNameParseError, .badPointer)
        }
        XCTAssertThrowsError(try parseName(bytes, at: 14)) {
            XCTAssertEqual($0 as? DNSNameParseError, .badPointer)
        }
    }

    func testForwardPointerRejected() {
        // The question's name points forward to a well-formed name after it.
        let bytes = header(flags: 0x0100) + [0xc0, 0x12, 0x00, 0x01, 0x00, 0x01,
                                             0x01, 0x61, 0x00]
        XCTAssertThrowsError(try parseMessage(bytes)) {
            XCTAssertEqual($0 as? DNSParseError, .badName(.badPointer))
        }
        XCTAssertThrowsError(try parseName(bytes, at: 12)) {
            XCTAssertEqual($0 as? DNSNameParseError, .badPointer)
        }
    }

    func testPointerIntoOwnLabelsRejected() {
        // "a" then a pointer back to the start of this same name: a loop through its labels.
        let bytes = header() + [0x01, 0x61, 0xc0, 0x0c]
        XCTAssertThrowsError(try parseName(bytes, at: 12)) {
            XCTAssertEqual($0 as? DNSNameParseError, .badPointer)
        }
        // A second pointer must go before the first pointer's target, not just before itself:
        // at 16, "b" then a pointer to 12 ("a", then a pointer to 18, after 12, though before 20).
        let chain = header() + [0x01, 0x61, 0xc0, 0x12, 0x01, 0x62, 0xc0, 0x0c]
        XCTAssertThrowsError(try parseName(chain, at: 16)) {
            XCTAssertEqual($0 as? DNSNameParseError, .badPointer)
        }
    }

    func testBackwardPointerChainsAccepted() throws {
        // test.(12) <- example.(18) <- www (26): each pointer targets an earlier name.
        let bytes = header() + [0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
                                0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0xc0, 0x0c,
                                0x03, 0x77, 0x77, 0x77, 0xc0, 0x12]
        let parsed = try parseName(bytes, at: 28)
        XCTAssertEqual(parsed.name, dnsName("www.example.test"))
        XCTAssertEqual(parsed.end, bytes.count, "ends after the first pointer")
        XCTAssertEqual(try parseName(bytes, at: 12).end, 18)
    }

    func testJumpCountBounded() throws {
        // A root name at 0, then a chain of pointers each to the one before: every pointer goes
        // backwards, so only the jump bound stops a long chain.
        func chain(_ jumps: Int) -> [UInt8] {
            var bytes: [UInt8] = [0x00]
            for k in 0..<jumps {
                let target = k == 0 ? 0 : 1 + 2 * (k - 1)
                bytes += [0xc0 | UInt8(target >> 8), UInt8(target & 0xff)]
            }
            return bytes
        }
        let ok = chain(DNSName.maxPointerJumps)
        XCTAssertEqual(try parseName(ok, at: ok.count - 2).name, .root)
        let tooMany = chain(DNSName.maxPointerJumps + 1)
        XCTAssertThrowsError(try parseName(tooMany, at: tooMany.count - 2)) {
            XCTAssertEqual($0 as? DNSNameParseError, .tooManyJumps)
        }
    }

    func testReservedLabelTypesRejected() {
        // RFC 1035 §4.1.4: 0b01 and 0b10 are reserved (0b01 was RFC 2671's extended label).
        for lead: UInt8 in [0x41, 0x80, 0x7f, 0xbf] {
            let bytes = header(flags: 0x0100) + [lead, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01]
            XCTAssertThrowsError(try parseMessage(bytes)) {
                XCTAssertEqual($0 as? DNSParseError, .badName(.reservedLabelType))
            }
        }
    }

    func testLabelLengthLimit63() {
        XCTAssertNotNil(DNSName(labels: [[UInt8](repeating: 0x61, count: 63)]))
        XCTAssertNil(DNSName(labels: [[UInt8](repeating: 0x61, count: 64)]))
        XCTAssertNil(DNSName(labels: [[]]), "empty label")
        XCTAssertNil(DNSName(String(repeating: "a", count: 64) + ".test"))
        // On the wire a length of 64 has the top bits 0b01.
        let bytes = [UInt8(64)] + [UInt8](repeating: 0x61, count: 64) + [0]
        XCTAssertThrowsError(try parseName(bytes, at: 0)) {
            XCTAssertEqual($0 as? DNSNameParseError, .reservedLabelType)
        }
    }

    func testNameLengthLimit255() throws {
        let label63 = [UInt8](repeating: 0x61, count: 63)
        let label61 = [UInt8](repeating: 0x62, count: 61)
        // 3 * 64 + 62 + 1 = 255 bytes: the longest name.
        let longest = try XCTUnwrap(DNSName(labels: [label63, label63, label63, label61]))
        XCTAssertEqual(longest.encodedLength, 255)
        XCTAssertNil(DNSName(labels: [label63, label63, label63, label61 + [0x62]]))
        var wire: [UInt8] = []
        for label in [label63, label63, label63, label61] { wire += [UInt8(label.count)] + label }
        XCTAssertEqual(try parseName(wire + [0], at: 0).name, longest)
        // One byte more in the last label: 256 bytes.
        var tooLong: [UInt8] = []
        for label in [label63, label63, label63, label61 + [0x62]] { tooLong += [UInt8(label.count)] + label }
        XCTAssertThrowsError(try parseName(tooLong + [0], at: 0)) {
            XCTAssertEqual($0 as? DNSNameParseError, .nameTooLong)
        }
        // Too long only once pointers are followed: 4 labels of 63 at 0, then a label and a
        // pointer to them.
        let viaPointer = [UInt8(63)] + label63 + [UInt8(63)] + label63 + [UInt8(63)] + label63
            + [UInt8(61)] + label61 + [0x00, 0x01, 0x63, 0xc0, 0x00]
        XCTAssertThrowsError(try parseName(viaPointer, at: 255)) {
            XCTAssertEqual($0 as? DNSNameParseError, .nameTooLong)
        }
    }

    func testTruncatedPointerAndLabel() {
        XCTAssertThrowsError(try parseName([0x01, 0x61, 0xc0], at: 0)) {
            XCTAssertEqual($0 as? DNSNameParseError, .truncated)
        }
        XCTAssertThrowsError(try parseName([0x05, 0x61], at: 0)) {
            XCTAssertEqual($0 as? DNSNameParseError, .truncated)
        }
        XCTAssertThrowsError(try parseName([0x00], at: 1)) {
            XCTAssertEqual($0 as? DNSNameParseError, .truncated)
        }
        XCTAssertThrowsError(try parseName([0x00], at: -1)) {
            XCTAssertEqual($0 as? DNSNameParseError, .truncated)
        }
    }

    // MARK: Counts, record data, trailing bytes

    func testCountsLargerThanRecordsPresentRejected() throws {
        // One entry more than present in the last section: the message ends first.
        for (fixture, offset) in [(DNSFixtures.aQuery, 5), (DNSFixtures.chainResponse, 7),
                                  (DNSFixtures.nxResponse, 9), (DNSFixtures.ednsResponse, 11)] {
            var bytes = fixture
            bytes[offset] += 1
            XCTAssertThrowsError(try parseMessage(bytes), "count at \(offset)") {
                XCTAssertEqual($0 as? DNSParseError, .truncated, "count at \(offset)")
            }
        }
        // In an earlier section the next section's bytes are misread: some error, never a trap.
        for offset in [5, 7, 9, 11] {
            var bytes = DNSFixtures.chainResponse
            bytes[offset] += 1
            XCTAssertThrowsError(try parseMessage(bytes), "count at \(offset)")
            bytes[offset - 1] = 0xff
            XCTAssertThrowsError(try parseMessage(bytes), "count at \(offset)")
        }
    }

    func testTrailingBytesRejected() {
        XCTAssertThrowsError(try parseMessage(DNSFixtures.aResponse + [0])) {
            XCTAssertEqual($0 as? DNSParseError, .trailingBytes)
        }
    }

    func testRecordDataMustFitItsType() {
        // A with 5 bytes of data.
        var badA = DNSFixtures.aResponse
        badA[43] = 5
        badA.append(0)
        XCTAssertThrowsError(try parseMessage(badA)) {
            XCTAssertEqual($0 as? DNSParseError, .badRecordData)
        }
        // AAAA with 15 bytes.
        var badAAAA = DNSFixtures.aaaaResponse
        badAAAA[44] = 15
        badAAAA.removeLast()
        XCTAssertThrowsError(try parseMessage(badAAAA)) {
            XCTAssertEqual($0 as? DNSParseError, .badRecordData)
        }
        // CNAME target shorter than RDLENGTH says (one byte of slack).
        var slack = DNSFixtures.cnameResponse
        slack[45] += 1
        slack.append(0)
        XCTAssertThrowsError(try parseMessage(slack)) {
            XCTAssertEqual($0 as? DNSParseError, .badRecordData)
        }
        // CNAME target running past RDLENGTH into the bytes after it.
        var overrun = DNSFixtures.cnameResponse
        overrun[45] -= 1
        XCTAssertThrowsError(try parseMessage(overrun)) {
            XCTAssertEqual($0 as? DNSParseError, .badRecordData)
        }
        // RDLENGTH beyond the message.
        var beyond = DNSFixtures.aResponse
        beyond[43] = 200
        XCTAssertThrowsError(try parseMessage(beyond)) {
            XCTAssertEqual($0 as? DNSParseError, .truncated)
        }
    }

    func testAInOtherClassKeptRaw() throws {
        // An A record of class CH is not an IPv4 address (RFC 1035 §3.4.1 is class IN).
        var bytes = DNSFixtures.aResponse
        bytes[37] = 3
        let message = try parseMessage(bytes)
        XCTAssertEqual(message.answers.first?.data, .other([0xc6, 0x12, 0x00, 0x07]))
        XCTAssertEqual(encode(message), bytes)
    }

    // MARK: Never trap

    func testEveryTruncationOfEveryFixtureIsAnError() {
        for (label, bytes) in DNSFixtures.all {
            for n in 0..<bytes.count {
                XCTAssertThrowsError(try parseMessage(Array(bytes[0..<n])), "\(label) length \(n)")
            }
        }
    }

    func testSeededRandomInputsNeverTrapAndRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5eed_d45)
        var parsedCount = 0
        for i in 0..<4000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                // Pure noise behind a plausible header.
                bytes = header(flags: 0x8180, qd: UInt16(rng.below(3)), an: UInt16(rng.below(3)),
                               ns: UInt16(rng.below(2)), ar: UInt16(rng.below(2)))
                for _ in 0..<rng.below(120) { bytes.append(rng.byte()) }
            } else {
                // A fixture with a few bytes changed.
                bytes = DNSFixtures.all[rng.below(DNSFixtures.all.count)].1
                for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] = rng.byte() }
            }
            guard let message = try? parseMessage(bytes) else { continue }
            parsedCount += 1
            let emitted = encode(message)
            XCTAssertEqual(try parseMessage(emitted), message, "input \(i)")
            XCTAssertEqual(encode(try parseMessage(emitted)), emitted, "input \(i)")
            for offset in stride(from: 0, to: bytes.count, by: 3) {
                _ = try? parseName(bytes, at: offset)
            }
        }
        XCTAssertGreaterThan(parsedCount, 100, "mutations should often still parse")
    }

    // MARK: DNSName

    func testNameTextFormAndCaseInsensitiveEquality() throws {
        let n = dnsName("WWW.Example.test.")
        XCTAssertEqual(n.labels, [Array("WWW".utf8), Array("Example".utf8), Array("test".utf8)])
        XCTAssertEqual(n.description, "WWW.Example.test")
        XCTAssertEqual(n, dnsName("www.example.TEST"))
        XCTAssertEqual(n.hashValue, dnsName("www.example.TEST").hashValue)
        XCTAssertNotEqual(n, dnsName("www.example.tesu"))
        XCTAssertEqual(Set([n, dnsName("www.example.test")]).count, 1)
        XCTAssertEqual(dnsName(".").isRoot, true)
        XCTAssertEqual(DNSName.root.description, ".")
        XCTAssertEqual(DNSName.root.wireBytes, [0])
        XCTAssertNil(DNSName(""))
        XCTAssertNil(DNSName("a..b"))
        XCTAssertNil(DNSName(".a"))
        XCTAssertNil(DNSName("a\\"))
        XCTAssertNil(DNSName("a\\25"))
        XCTAssertNil(DNSName("a\\256"))
        // RFC 1035 §5.1 escapes, both ways.
        let odd = try XCTUnwrap(DNSName(labels: [[0x61, 0x2e, 0x62], [0x00, 0x5c, 0x20]]))
        XCTAssertEqual(odd.description, "a\\.b.\\000\\\\\\032")
        XCTAssertEqual(DNSName(odd.description)?.wireBytes, odd.wireBytes)
        XCTAssertEqual(odd.labelCount, 2)
    }

    func testIsSubdomain() {
        XCTAssertTrue(dnsName("a.example.test").isSubdomain(of: dnsName("EXAMPLE.test")))
        XCTAssertTrue(dnsName("example.test").isSubdomain(of: dnsName("example.test")))
        XCTAssertTrue(dnsName("example.test").isSubdomain(of: .root))
        XCTAssertFalse(dnsName("aexample.test").isSubdomain(of: dnsName("example.test")))
        XCTAssertFalse(dnsName("test").isSubdomain(of: dnsName("example.test")))
    }

    func testRFC3397DomainSearchSequence() throws {
        // RFC 3397 §3's example: "eng.apple.com." and "marketing.apple.com.", the second
        // compressed against the first with a pointer to offset 4.
        let encoded: [UInt8] = [0x03] + Array("eng".utf8) + [0x05] + Array("apple".utf8) + [0x03]
            + Array("com".utf8) + [0x00, 0x09] + Array("marketing".utf8) + [0xc0, 0x04]
        let names = [dnsName("eng.apple.com"), dnsName("marketing.apple.com")]
        XCTAssertEqual(DNSName.encodeSequence(names), encoded)
        XCTAssertEqual(try encoded.withUnsafeBytes { try DNSName.parseSequence($0) }, names)
        let plain = DNSName.encodeSequence(names, compress: false)
        XCTAssertEqual(plain.count, 15 + 21)
        XCTAssertEqual(try plain.withUnsafeBytes { try DNSName.parseSequence($0) }, names)
        XCTAssertThrowsError(try Array(encoded.dropLast()).withUnsafeBytes { try DNSName.parseSequence($0) })
    }
}
