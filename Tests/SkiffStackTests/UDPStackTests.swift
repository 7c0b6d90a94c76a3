import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class UDPStackTests: XCTestCase {
    func testUDPEchoWithSenderAddress() throws {
        let net = TwoStacks()
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        XCTAssertTrue(UDPSocketTable.ephemeralPorts.contains(client.localPort))
        try client.send(Array("ping".utf8), to: TwoStacks.addressB, port: 7, now: net.now)
        net.settle()
        let request = try XCTUnwrap(server.receive())
        XCTAssertEqual(request, UDPDatagram(payload: Array("ping".utf8), source: TwoStacks.addressA,
                                            sourcePort: client.localPort, destination: TwoStacks.addressB, destinationPort: 7))
        try server.send(request.payload, to: request.source, port: request.sourcePort, now: net.now)
        net.settle()
        XCTAssertEqual(client.receive()?.payload, Array("ping".utf8))
        XCTAssertNil(client.receive())
        XCTAssertEqual(net.b.statistics.udpDelivered, 1)
        XCTAssertEqual(net.a.statistics.udpDelivered, 1)
    }

    func testClosedSocketRefusesSendAndFreesPort() throws {
        let net = TwoStacks()
        let socket = try net.b.udpBind(port: 7)
        XCTAssertThrowsError(try net.b.udpBind(port: 7)) { XCTAssertEqual($0 as? UDPBindError, .portInUse) }
        socket.close()
        XCTAssertThrowsError(try socket.send([1], to: TwoStacks.addressA, port: 7, now: net.now)) {
            XCTAssertEqual($0 as? SendError, .socketClosed)
        }
        XCTAssertNoThrow(try net.b.udpBind(port: 7))
    }

    func testReceiveQueueOverflowCounted() throws {
        var configuration = StackConfiguration()
        configuration.udpReceiveQueueLength = 2
        let net = TwoStacks(configuration: configuration)
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        try client.send([0xff], to: TwoStacks.addressB, port: 9, now: net.now)
        net.settle()   // resolve first, so no datagram waits behind ARP
        for i in 0..<5 { try client.send([UInt8(i)], to: TwoStacks.addressB, port: 7, now: net.now) }
        net.settle()
        XCTAssertEqual(server.pendingCount, 2)
        XCTAssertEqual(net.b.statistics.udpReceiveQueueOverflows, 3)
        XCTAssertEqual(server.receive()?.payload, [0])
    }

    func testBadUDPChecksumDropped() {
        let net = TwoStacks()
        var message = udpMessage(from: TwoStacks.addressA, port: 5, to: TwoStacks.addressB, port: 7, payload: [1, 2, 3])
        message[8] ^= 0x01
        net.link.b.receiveQueue.append(ipv4Frame(from: TwoStacks.addressA, to: TwoStacks.addressB,
                                                 protocolNumber: IPProtocol.udp, payload: message))
        net.settle()
        XCTAssertEqual(net.b.statistics.udpDroppedBadChecksum, 1)
        XCTAssertEqual(net.b.statistics.icmpErrorsSent, 0)
    }

    func testDontFragmentTooLongIsMessageTooLong() throws {
        let net = TwoStacks()
        let client = try net.a.udpBind(port: 0)
        client.dontFragment = true
        XCTAssertThrowsError(try client.send(pattern(1473), to: TwoStacks.addressB, port: 7, now: net.now)) {
            XCTAssertEqual($0 as? SendError, .messageTooLong)
        }
        XCTAssertNoThrow(try client.send(pattern(1472), to: TwoStacks.addressB, port: 7, now: net.now))
        client.dontFragment = false
        XCTAssertThrowsError(try client.send(pattern(65508), to: TwoStacks.addressB, port: 7, now: net.now)) {
            XCTAssertEqual($0 as? SendError, .messageTooLong)
        }
    }

    func testSendOnDownLinkIsInterfaceDown() throws {
        let net = TwoStacks()
        let client = try net.a.udpBind(port: 0)
        net.link.a.isLinkUp = false
        XCTAssertThrowsError(try client.send([1], to: TwoStacks.addressB, port: 7, now: net.now)) {
            XCTAssertEqual($0 as? SendError, .interfaceDown)
        }
    }

    func testDatagramToOwnAddressLoopsBack() throws {
        let net = TwoStacks()
        let server = try net.a.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        try client.send([42], to: TwoStacks.addressA, port: 7, now: net.now)
        XCTAssertNil(server.receive(), "delivered by the next poll, not from inside send")
        _ = net.a.poll(now: net.now)
        XCTAssertEqual(server.receive()?.source, TwoStacks.addressA)
        XCTAssertTrue(net.link.a.takeTransmitted().isEmpty)
    }

    func testSocketBoundToOtherAddressDoesNotReceive() throws {
        let net = TwoStacks()
        let second = IPv4Address(198, 18, 0, 3)
        net.b.addAddress(IPv4CIDR(address: second, prefixLength: 24), to: net.interfaceB, now: net.now)
        let onSecond = try net.b.udpBind(port: 7, address: second)
        let client = try net.a.udpBind(port: 0)
        try client.send([1], to: TwoStacks.addressB, port: 7, now: net.now)
        try client.send([2], to: second, port: 7, now: net.now)
        net.settle()
        XCTAssertEqual(onSecond.receive()?.payload, [2])
        XCTAssertNil(onSecond.receive())
        XCTAssertEqual(net.b.statistics.udpNoPort, 1)
    }
}
