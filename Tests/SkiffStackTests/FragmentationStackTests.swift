import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class FragmentationStackTests: XCTestCase {
    func testUDP9000BytesFragmentedOver1500MTUAndReassembledIntact() throws {
        let net = TwoStacks(mtu: 1500)
        let server = try net.b.udpBind(port: 9)
        let client = try net.a.udpBind(port: 0)
        let payload = pattern(9000, seed: 11)
        try client.send(payload, to: TwoStacks.addressB, port: 9, now: net.now)
        net.settle()
        XCTAssertEqual(server.receive()?.payload, payload)
        let fragments = decode(net.link.a.takeTransmitted()).compactMap(\.ip)
        // 9008 bytes of UDP in 1480-byte pieces: 6 full fragments and one of 128 bytes.
        XCTAssertEqual(fragments.count, 7)
        XCTAssertTrue(fragments.allSatisfy { $0.totalLength <= 1500 && $0.identification == fragments[0].identification })
        XCTAssertEqual(fragments.map(\.fragmentOffset), [0, 1480, 2960, 4440, 5920, 7400, 8880])
        XCTAssertEqual(net.a.statistics.ipFragmentsCreated, 7)
        XCTAssertEqual(net.b.statistics.ipFragmentsReceived, 7)
        XCTAssertEqual(net.b.statistics.ipDatagramsReassembled, 1)
        XCTAssertEqual(net.b.reassembly.memoryUsed, 0)
    }

    func testReassemblyWithSeededReorderAndDuplication() throws {
        let net = TwoStacks(mtu: 1500, seed: 7)
        let server = try net.b.udpBind(port: 9)
        let client = try net.a.udpBind(port: 0)
        try client.send([0], to: TwoStacks.addressB, port: 9, now: net.now)
        net.settle()
        _ = server.receive()
        net.link.reorderPercent = 50
        net.link.duplicatePercent = 20
        var sent: [[UInt8]] = []
        for i in 0..<10 {
            let payload = pattern(3000 + i * 100, seed: UInt8(i))
            sent.append(payload)
            try client.send(payload, to: TwoStacks.addressB, port: 9, now: net.now)
        }
        net.settle()
        var received: [[UInt8]] = []
        while let datagram = server.receive() { received.append(datagram.payload) }
        // Duplicated whole datagrams may arrive twice; every one sent arrives intact.
        XCTAssertEqual(Set(received), Set(sent))
        XCTAssertGreaterThan(net.b.statistics.reassemblyDuplicates + net.b.statistics.udpDelivered, 10)
        XCTAssertEqual(net.b.statistics.reassemblyOverlaps, 0)
    }

    func testReassemblyTimeoutFreesMemoryAndSendsTimeExceeded() throws {
        var configuration = StackConfiguration()
        configuration.reassemblyTimeout = .seconds(30)
        let net = TwoStacks(configuration: configuration)
        let server = try net.b.udpBind(port: 9)
        let client = try net.a.udpBind(port: 0)
        try client.send([0], to: TwoStacks.addressB, port: 9, now: net.now)
        net.settle()
        _ = server.receive()
        // Lose the last fragment.
        net.link.filter = { frame, _ in
            DecodedFrame(frame)?.ip.map { !($0.fragmentOffset > 0 && !$0.moreFragments) } ?? true
        }
        try client.send(pattern(4000), to: TwoStacks.addressB, port: 9, now: net.now)
        let deadline = try XCTUnwrap(net.b.poll(now: net.now))
        net.settle()
        XCTAssertEqual(deadline, net.now + .seconds(30))
        XCTAssertGreaterThan(net.b.reassembly.memoryUsed, 2960)
        net.advance(.seconds(29))
        XCTAssertEqual(net.b.reassembly.count, 1)
        net.link.filter = nil
        _ = net.link.b.takeTransmitted()
        net.advance(.seconds(1))
        XCTAssertEqual(net.b.reassembly.count, 0)
        XCTAssertEqual(net.b.reassembly.memoryUsed, 0)
        XCTAssertEqual(net.b.statistics.reassemblyTimeouts, 1)
        XCTAssertNil(server.receive())
        let icmp = decode(net.link.b.takeTransmitted()).filter { $0.icmp != nil }
        XCTAssertEqual(icmp.first?.icmp?.message, .timeExceeded(code: ICMPv4TimeExceededCode.reassemblyTimeExceeded))
        // RFC 792: the quote is the first fragment's header and its first 8 data bytes (the UDP header).
        XCTAssertEqual(icmp.first.map { $0.ipPayload.count }, 8 + 20 + 8)
        XCTAssertEqual(net.a.statistics.icmpErrorsReceived, 1)
    }

    func testRFC792NoTimeExceededWhenFirstFragmentMissing() {
        let net = TwoStacks()
        let message = udpMessage(from: TwoStacks.addressA, port: 5, to: TwoStacks.addressB, port: 9, payload: pattern(100))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[64...]),
                                                 fragmentOffset: 64))
        net.settle()
        net.advance(.seconds(30))
        XCTAssertEqual(net.b.statistics.reassemblyTimeouts, 1)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 0)
        XCTAssertEqual(net.b.statistics.icmpErrorsSuppressed, 0, "no error was even considered")
    }

    func testReassemblyOverlappingFragmentsDropped() throws {
        let net = TwoStacks()
        let server = try net.b.udpBind(port: 9)
        let message = udpMessage(from: TwoStacks.addressA, port: 5, to: TwoStacks.addressB, port: 9, payload: pattern(40))
        // 48 bytes of UDP as [0, 24) + [16, 48): the second overlaps the first by 8 bytes.
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[0..<24]),
                                                 moreFragments: true))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[16...]),
                                                 fragmentOffset: 16))
        net.settle()
        XCTAssertNil(server.receive())
        XCTAssertEqual(net.b.statistics.reassemblyOverlaps, 1)
        XCTAssertEqual(net.b.reassembly.count, 0)
        XCTAssertEqual(net.b.reassembly.memoryUsed, 0)
        // The same datagram without the overlap is still accepted afterwards.
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[0..<24]),
                                                 moreFragments: true))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[24...]),
                                                 fragmentOffset: 24))
        net.settle()
        XCTAssertEqual(server.receive()?.payload, pattern(40))
    }

    func testReassemblyMemoryBoundEnforced() throws {
        var configuration = StackConfiguration()
        configuration.reassemblyMemoryLimit = 4096
        let net = TwoStacks(configuration: configuration)
        let server = try net.b.udpBind(port: 9)
        for id in 0..<20 {
            net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                     protocolNumber: IPProtocol.udp, payload: pattern(1000),
                                                     identification: UInt16(id), fragmentOffset: 8, moreFragments: true))
            net.settle()
            XCTAssertLessThanOrEqual(net.b.reassembly.memoryUsed, 4096)
        }
        XCTAssertEqual(net.b.reassembly.count, 3)
        XCTAssertEqual(net.b.statistics.reassemblyMemoryDrops, 17)
        // A fresh datagram still gets through under pressure.
        let message = udpMessage(from: TwoStacks.addressA, port: 5, to: TwoStacks.addressB, port: 9, payload: pattern(40))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[0..<24]),
                                                 identification: 999, moreFragments: true))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: Array(message[24...]),
                                                 identification: 999, fragmentOffset: 24))
        net.settle()
        XCTAssertEqual(server.receive()?.payload, pattern(40))
    }

    func testIPv4DatagramForAnotherHostDroppedNotForwarded() {
        let net = TwoStacks()
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: IPv4Address(198, 18, 0, 99),
                                                 protocolNumber: IPProtocol.udp, payload: pattern(20)))
        net.settle()
        XCTAssertEqual(net.b.statistics.ipDroppedNotForUs, 1)
        XCTAssertTrue(net.link.b.takeTransmitted().isEmpty)
    }

    func testIPv4BadHeaderChecksumDropped() {
        let net = TwoStacks()
        var frame = ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB, protocolNumber: IPProtocol.udp,
                              payload: udpMessage(from: TwoStacks.addressA, port: 5, to: TwoStacks.addressB, port: 9, payload: [1]))
        frame[14 + 8] ^= 0x01   // TTL
        net.link.b.receiveQueue.append(frame)
        net.settle()
        XCTAssertEqual(net.b.statistics.ipDroppedBadChecksum, 1)
        XCTAssertEqual(net.b.statistics.udpReceived, 0)
    }

    func testRFC1122MartianSourceDropped() {
        let net = TwoStacks()
        for source in [IPv4Address(224, 0, 0, 1), IPv4Address.broadcast, IPv4Address(127, 0, 0, 1), IPv4Address(198, 18, 0, 255)] {
            net.link.b.receiveQueue.append(ipv4Frame(from: source, to: TwoStacks.addressB, protocolNumber: IPProtocol.udp,
                                                     payload: udpMessage(from: source, port: 5, to: TwoStacks.addressB, port: 9, payload: [1])))
        }
        net.settle()
        XCTAssertEqual(net.b.statistics.ipDroppedMartianSource, 4)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 0)
    }
}
