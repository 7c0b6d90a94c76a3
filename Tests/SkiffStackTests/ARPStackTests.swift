import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class ARPStackTests: XCTestCase {
    func testARPResolvesPeerThenUsesCache() throws {
        let net = TwoStacks()
        XCTAssertNil(net.a.arpLookup(TwoStacks.addressB, on: net.interfaceA, now: net.now))
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [1], now: net.now)
        net.settle()
        XCTAssertEqual(net.a.arpLookup(TwoStacks.addressB, on: net.interfaceA, now: net.now), net.link.b.macAddress)
        XCTAssertEqual(net.a.statistics.arpRequestsSent, 1)
        XCTAssertEqual(net.b.statistics.arpRepliesSent, 1)
        XCTAssertTrue(net.logA.contains("arp: 198.18.0.2 is-at 52:54:00:00:00:0b on eth0"), "\(net.logA)")
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 2, payload: [2], now: net.now)
        net.settle()
        XCTAssertEqual(net.a.statistics.arpRequestsSent, 1)
        XCTAssertEqual(net.a.takeEchoReplies().map(\.sequence), [1, 2])
    }

    func testRFC826TargetLearnsRequesterWithoutAskingBack() throws {
        let net = TwoStacks()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()
        // B answered the echo using the entry it made from A's request.
        XCTAssertEqual(net.b.arpLookup(TwoStacks.addressA, on: net.interfaceB, now: net.now), net.link.a.macAddress)
        XCTAssertEqual(net.b.statistics.arpRequestsSent, 0)
        XCTAssertEqual(net.b.statistics.icmpEchoRepliesSent, 1)
    }

    func testRFC826RequestForAnotherHostCreatesNoEntry() {
        let net = TwoStacks()
        let stranger = IPv4Address(198, 18, 0, 50)
        net.link.b.receiveQueue.append(arpFrame(.request, senderMAC: MACAddress(2, 0, 0, 0, 0, 0x50),
                                                senderIP: stranger, targetIP: IPv4Address(198, 18, 0, 99)))
        net.settle()
        XCTAssertNil(net.b.arpLookup(stranger, on: net.interfaceB, now: net.now))
        XCTAssertEqual(net.b.statistics.arpRepliesSent, 0)
    }

    func testRFC826MergeUpdatesExistingEntryFromGratuitousARP() throws {
        let net = TwoStacks()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()
        let moved = MACAddress(0x52, 0x54, 0x00, 0x00, 0x01, 0x0a)
        net.link.b.receiveQueue.append(arpFrame(.request, senderMAC: moved, senderIP: TwoStacks.addressA,
                                                targetIP: TwoStacks.addressA))
        net.settle()
        XCTAssertEqual(net.b.arpLookup(TwoStacks.addressA, on: net.interfaceB, now: net.now), moved)
    }

    func testARPEntryExpiresAfterTimeoutAndIsResolvedAgain() throws {
        var configuration = StackConfiguration()
        configuration.arpCacheTimeout = .seconds(60)
        let net = TwoStacks(configuration: configuration)
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 1, payload: [], now: net.now)
        net.settle()
        net.advance(.seconds(59))
        XCTAssertNotNil(net.a.arpLookup(TwoStacks.addressB, on: net.interfaceA, now: net.now))
        net.advance(.seconds(1))
        XCTAssertNil(net.a.arpLookup(TwoStacks.addressB, on: net.interfaceA, now: net.now))
        XCTAssertEqual(net.a.statistics.arpEntriesExpired, 1)
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 2, payload: [], now: net.now)
        net.settle()
        XCTAssertEqual(net.a.statistics.arpRequestsSent, 2)
        XCTAssertEqual(net.a.takeEchoReplies().count, 2)
    }

    func testPacketsQueuedBehindARPAreSentInOrderAfterResolution() throws {
        let net = TwoStacks()
        let server = try net.b.udpBind(port: 9)
        let client = try net.a.udpBind(port: 0)
        for i in 0..<3 {
            try client.send([UInt8(i)], to: TwoStacks.addressB, port: 9, now: net.now)
        }
        XCTAssertEqual(net.a.statistics.arpPacketsQueued, 3)
        XCTAssertEqual(net.a.statistics.arpRequestsSent, 1, "one request for three packets")
        net.settle()
        XCTAssertEqual([server.receive(), server.receive(), server.receive()].map { $0?.payload }, [[0], [1], [2]])
    }

    func testQueuedPacketsDroppedAndCountedWhenResolutionFails() throws {
        var configuration = StackConfiguration()
        configuration.arpMaxRetries = 3
        configuration.arpPendingPacketsPerAddress = 4
        let net = TwoStacks(configuration: configuration)
        let client = try net.a.udpBind(port: 0)
        let nobody = IPv4Address(198, 18, 0, 77)
        for i in 0..<6 { try client.send([UInt8(i)], to: nobody, port: 9, now: net.now) }
        XCTAssertEqual(net.a.statistics.arpQueueOverflows, 2)
        // poll returns the retry deadline; follow it as the application loop would.
        var deadlines = 0
        while let deadline = net.a.poll(now: net.now), deadlines < 20 {
            net.now = deadline
            net.settle()
            deadlines += 1
        }
        XCTAssertEqual(net.a.statistics.arpRequestsSent, 4, "the first request and 3 retries")
        XCTAssertEqual(net.a.statistics.arpResolutionFailures, 1)
        XCTAssertEqual(net.a.statistics.arpResolutionDrops, 4)
        XCTAssertEqual(deadlines, 4)
        XCTAssertTrue(net.logA.contains { $0.hasPrefix("arp: 198.18.0.77 unreachable") })
        let requests = decode(net.link.a.takeTransmitted()).compactMap(\.arp)
        XCTAssertEqual(requests.count, 4)
        XCTAssertTrue(requests.allSatisfy { $0.targetIP == nobody && $0.senderIP == TwoStacks.addressA })
    }

    func testGratuitousARPOnAddAddress() {
        let net = TwoStacks()
        let extra = IPv4CIDR(address: IPv4Address(198, 18, 0, 11), prefixLength: 24)
        net.a.addAddress(extra, to: net.interfaceA, now: net.now)
        let frames = decode(net.link.a.takeTransmitted())
        XCTAssertEqual(frames.count, 1)
        let frame = try? XCTUnwrap(frames.first)
        XCTAssertEqual(frame?.ethernet.destination, .broadcast)
        XCTAssertEqual(frame?.arp, ARPPacket(operation: .request, senderMAC: net.link.a.macAddress,
                                             senderIP: extra.address, targetMAC: .zero, targetIP: extra.address))
        XCTAssertEqual(net.a.statistics.arpGratuitousSent, 2)
    }

    func testRFC5227ConflictingClaimOfOurAddressIsReportedNotLearned() {
        let net = TwoStacks()
        let intruder = MACAddress(2, 0, 0, 0, 0, 0x66)
        net.link.b.receiveQueue.append(arpFrame(.request, senderMAC: intruder, senderIP: TwoStacks.addressB,
                                                targetIP: TwoStacks.addressB))
        net.settle()
        XCTAssertEqual(net.b.statistics.arpAddressConflicts, 1)
        XCTAssertTrue(net.logB.contains { $0.contains("address conflict") })
    }

    func testARPRequestForUsAnsweredWithOurMAC() {
        let net = TwoStacks()
        let asker = MACAddress(2, 0, 0, 0, 0, 0x33)
        net.link.b.receiveQueue.append(arpFrame(.request, senderMAC: asker, senderIP: IPv4Address(198, 18, 0, 33),
                                                targetIP: TwoStacks.addressB))
        net.settle()
        let reply = decode(net.link.b.takeTransmitted()).first
        XCTAssertEqual(reply?.ethernet.destination, asker)
        XCTAssertEqual(reply?.arp, ARPPacket(operation: .reply, senderMAC: net.link.b.macAddress, senderIP: TwoStacks.addressB,
                                             targetMAC: asker, targetIP: IPv4Address(198, 18, 0, 33)))
    }

    func arpFrame(_ operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address, targetIP: IPv4Address) -> [UInt8] {
        var packet = PacketBuffer(capacity: 28)
        ARPPacket(operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: .zero, targetIP: targetIP)
            .prepend(to: &packet)
        EthernetHeader(destination: .broadcast, source: senderMAC, etherType: EtherType.arp).prepend(to: &packet)
        return packet.bytes + [UInt8](repeating: 0, count: 18)  // padded to 60 bytes like a real NIC
    }
}
