import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class ICMPStackTests: XCTestCase {
    func testPingEchoReplyCarriesPayloadVerbatim() throws {
        let net = TwoStacks()
        let payload = pattern(56, seed: 3)
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 0x4242, sequence: 7, payload: payload, now: net.now)
        net.settle()
        let replies = net.a.takeEchoReplies()
        XCTAssertEqual(replies, [EchoReply(source: TwoStacks.addressB, identifier: 0x4242, sequence: 7,
                                           payload: payload, receivedAt: net.now)])
        XCTAssertTrue(net.a.takeEchoReplies().isEmpty, "taken once")
    }

    func testRFC1122EchoReplyComesFromRequestedAddress() throws {
        let net = TwoStacks()
        let second = IPv4Address(198, 18, 0, 3)
        net.b.addAddress(IPv4CIDR(address: second, prefixLength: 24), to: net.interfaceB, now: net.now)
        net.settle()
        try net.a.sendEchoRequest(to: second, identifier: 1, sequence: 1, payload: [9], now: net.now)
        net.settle()
        XCTAssertEqual(net.a.takeEchoReplies().first?.source, second)
    }

    func testLargePingFragmentedBothWays() throws {
        let net = TwoStacks()
        let payload = pattern(4000)
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: payload, now: net.now)
        net.settle()
        XCTAssertEqual(net.a.takeEchoReplies().first?.payload, payload)
        XCTAssertEqual(net.b.statistics.ipFragmentsCreated, 3)
    }

    func testRFC1122EchoToBroadcastIgnored() {
        let net = TwoStacks()
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: IPv4Address(198, 18, 0, 255),
                                                 protocolNumber: IPProtocol.icmp,
                                                 payload: icmpMessage(.echoRequest(identifier: 1, sequence: 1), body: [1]),
                                                 destinationMAC: .broadcast))
        net.settle()
        XCTAssertEqual(net.b.statistics.icmpEchoRequestsReceived, 1)
        XCTAssertEqual(net.b.statistics.icmpEchoBroadcastIgnored, 1)
        XCTAssertEqual(net.b.statistics.icmpEchoRepliesSent, 0)
    }

    func testPortUnreachableForClosedUDPPort() throws {
        let net = TwoStacks()
        let client = try net.a.udpBind(port: 40000)
        try client.send(Array("hello".utf8), to: TwoStacks.addressB, port: 9999, now: net.now)
        net.settle()
        XCTAssertEqual(net.b.statistics.udpNoPort, 1)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 1)
        XCTAssertEqual(net.a.statistics.icmpErrorsReceived, 1)
        let errors = decode(net.link.b.takeTransmitted()).filter { $0.icmp != nil }
        XCTAssertEqual(errors.count, 1)
        let error = try XCTUnwrap(errors.first)
        XCTAssertEqual(error.icmp?.message, .destinationUnreachable(code: ICMPv4UnreachableCode.port, nextHopMTU: 0))
        XCTAssertEqual(error.ip?.source, TwoStacks.addressB)
        XCTAssertEqual(error.ip?.destination, TwoStacks.addressA)
        // RFC 792: the quote holds the offending IP header and the UDP header after it.
        let quoted = try error.ipPayload.withUnsafeBytes { bytes in try XCTUnwrap(IPv4QuotedView(bytes.suffix(from: 8))) }
        XCTAssertEqual(quoted.source, TwoStacks.addressA)
        XCTAssertEqual(quoted.sourcePort, 40000)
        XCTAssertEqual(quoted.destinationPort, 9999)
    }

    func testRFC1122NoPortUnreachableForBroadcast() throws {
        let net = TwoStacks()
        let client = try net.a.udpBind(port: 40000)
        try client.send([1], to: IPv4Address(198, 18, 0, 255), port: 9999, now: net.now)
        try client.send([1], to: .broadcast, port: 9999, now: net.now)
        net.settle()
        XCTAssertEqual(net.b.statistics.udpNoPort, 2)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 0)
        XCTAssertEqual(net.b.statistics.icmpErrorsSuppressed, 2)
    }

    func testRFC1122NoErrorAboutAnICMPError() {
        var configuration = StackConfiguration()
        configuration.reassemblyTimeout = .seconds(5)
        let net = TwoStacks(configuration: configuration)
        // The first fragment of an ICMP destination unreachable: its reassembly times out, and
        // no time exceeded may be sent about an error message.
        let error = icmpMessage(.destinationUnreachable(code: 3, nextHopMTU: 0), body: pattern(40))
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.icmp, payload: Array(error[0..<24]),
                                                 moreFragments: true))
        net.settle()
        net.advance(.seconds(5))
        XCTAssertEqual(net.b.statistics.reassemblyTimeouts, 1)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 0)
        XCTAssertEqual(net.b.statistics.icmpErrorsSuppressed, 1)
    }

    func testRFC1122ICMPErrorRateLimited() throws {
        var configuration = StackConfiguration()
        configuration.icmpErrorsPerSecond = 10
        configuration.icmpErrorBurst = 5
        let net = TwoStacks(configuration: configuration)
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()   // resolve both ways first, so no datagram waits behind ARP
        let client = try net.a.udpBind(port: 40000)
        for _ in 0..<20 { try client.send([1], to: TwoStacks.addressB, port: 9999, now: net.now) }
        net.settle()
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 5)
        XCTAssertEqual(net.b.statistics.icmpErrorsRateLimited, 15)
        net.now = net.now + .milliseconds(300)   // three tokens
        for _ in 0..<20 { try client.send([1], to: TwoStacks.addressB, port: 9999, now: net.now) }
        net.settle()
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 8)
        XCTAssertEqual(net.a.statistics.icmpErrorsReceived, 8)
    }

    func testProtocolUnreachableForUnknownProtocol() throws {
        let net = TwoStacks()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()
        _ = net.link.b.takeTransmitted()
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: 253, payload: pattern(20)))
        net.settle()
        XCTAssertEqual(net.b.statistics.ipDroppedUnknownProtocol, 1)
        let error = decode(net.link.b.takeTransmitted()).compactMap(\.icmp).first
        XCTAssertEqual(error?.message, .destinationUnreachable(code: ICMPv4UnreachableCode.protocolUnreachable, nextHopMTU: 0))
    }

    func testBadICMPChecksumDropped() {
        let net = TwoStacks()
        var message = icmpMessage(.echoRequest(identifier: 1, sequence: 1), body: [1, 2, 3])
        message[9] ^= 0xff
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.icmp, payload: message))
        net.settle()
        XCTAssertEqual(net.b.statistics.icmpDroppedBadChecksum, 1)
        XCTAssertEqual(net.b.statistics.icmpEchoRepliesSent, 0)
    }

    func testPingToUnroutedAddressIsNoRoute() {
        let net = TwoStacks()
        XCTAssertThrowsError(try net.a.sendEchoRequest(to: IPv4Address(198, 19, 0, 1), identifier: 1, sequence: 1,
                                                       payload: [], now: net.now)) {
            XCTAssertEqual($0 as? SendError, .noRoute)
        }
        XCTAssertEqual(net.a.statistics.ipOutputNoRoute, 1)
    }
}
