import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Per-packet receive paths never trap and never throw: whatever arrives is counted and dropped
/// or answered, and the stack's memory stays within its bounds.
final class RobustnessTests: XCTestCase {
    func makeStack(_ configuration: StackConfiguration = StackConfiguration()) -> (NetworkStack, MemoryLink) {
        let link = MemoryLink(mtu: 1500, macA: LinuxInteropTests.linuxMAC, macB: LinuxInteropTests.ourMAC)
        let stack = NetworkStack(configuration: configuration)
        let interface = stack.addInterface(link.b)
        stack.addAddress(IPv4CIDR("198.18.0.2/24")!, to: interface, now: .zero)
        return (stack, link)
    }

    func testSeededRandomFramesNeverTrapAndAreCounted() {
        let (stack, link) = makeStack()
        var random = SplitMix64(seed: 0x5eed)
        let count = 3000
        for _ in 0..<count {
            var frame = (0..<random.next(below: 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // Make most of them reach the parsers behind Ethernet.
            if frame.count >= 14 && random.chance(80) {
                let destination = random.chance(50) ? LinuxInteropTests.ourMAC : MACAddress.broadcast
                for (i, byte) in destination.bytes.enumerated() { frame[i] = byte }
                let type = random.chance(50) ? EtherType.ipv4 : EtherType.arp
                frame[12] = UInt8(type >> 8); frame[13] = UInt8(type & 0xff)
                if type == EtherType.ipv4 && frame.count > 14 && random.chance(70) { frame[14] = 0x45 }
            }
            link.b.receiveQueue.append(frame)
        }
        var now = Instant.zero
        for _ in 0..<100 {
            _ = stack.poll(now: now)
            now = now + .milliseconds(10)
        }
        XCTAssertEqual(stack.statistics.framesReceived, count)
        XCTAssertGreaterThan(stack.statistics.framesDroppedMalformed + stack.statistics.ipDroppedMalformed
                             + stack.statistics.arpDroppedMalformed, 0)
    }

    func testSeededMutationsOfRealFramesNeverTrap() {
        var configuration = StackConfiguration()
        configuration.reassemblyMemoryLimit = 16 * 1024
        let (stack, link) = makeStack(configuration)
        let seeds = [LinuxInteropTests.arpRequest, LinuxInteropTests.echoRequest, LinuxInteropTests.udpToClosedPort,
                     LinuxInteropTests.fragmentedEchoRequest0, LinuxInteropTests.fragmentedEchoRequest1,
                     LinuxInteropTests.portUnreachable]
        var random = SplitMix64(seed: 99)
        var now = Instant.zero
        for round in 0..<4000 {
            var frame = seeds[random.next(below: seeds.count)]
            for _ in 0..<(1 + random.next(below: 4)) {
                // Keep the Ethernet header so the mutation lands in ARP/IP/ICMP/UDP.
                let index = 14 + random.next(below: frame.count - 14)
                frame[index] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.chance(20) { frame.removeLast(random.next(below: frame.count - 13)) }
            link.b.receiveQueue.append(frame)
            if round % 50 == 0 {
                now = now + .seconds(1)
                _ = stack.poll(now: now)
                XCTAssertLessThanOrEqual(stack.reassembly.memoryUsed, 16 * 1024)
                _ = link.b.takeTransmitted()
            }
        }
        _ = stack.poll(now: now + .seconds(60))   // receives the last frames
        _ = stack.poll(now: now + .seconds(120))
        XCTAssertEqual(stack.statistics.framesReceived, 4000)
        XCTAssertEqual(stack.reassembly.count, 0, "every partial datagram timed out")
    }

    func testRFC1122NoErrorForLinkLayerBroadcastFrame() {
        let (stack, link) = makeStack()
        // Unicast IP to a closed port, but in a frame sent to the Ethernet broadcast address.
        var frame = LinuxInteropTests.udpToClosedPort
        for i in 0..<6 { frame[i] = 0xff }
        link.b.receiveQueue.append(frame)
        _ = stack.poll(now: .zero)
        XCTAssertEqual(stack.statistics.udpNoPort, 1)
        XCTAssertEqual(stack.statistics.icmpErrorsSuppressed, 1)
        XCTAssertEqual(stack.statistics.icmpErrorsSent, 0)
    }

    func testFramesForOtherStationsAndVLANsDropped() {
        let (stack, link) = makeStack()
        var other = LinuxInteropTests.echoRequest
        other[5] = 0x77
        var tagged = Array(LinuxInteropTests.echoRequest[0..<12]) + [0x81, 0x00, 0x00, 0x05]
        tagged += LinuxInteropTests.echoRequest[12...]
        link.b.receiveQueue += [other, tagged, [1, 2, 3]]
        _ = stack.poll(now: .zero)
        XCTAssertEqual(stack.statistics.framesDroppedNotForUs, 1)
        XCTAssertEqual(stack.statistics.framesDroppedUnsupported, 1)
        XCTAssertEqual(stack.statistics.framesDroppedMalformed, 1)
    }

    func testPollIdleHasNoDeadlineAndBudgetExhaustionAsksForImmediateRepoll() {
        var configuration = StackConfiguration()
        configuration.receiveBudget = 2
        let (stack, link) = makeStack(configuration)
        XCTAssertNil(stack.poll(now: .zero))
        link.b.receiveQueue += [[0], [0], [0]]
        let now = Instant(nanoseconds: 5)
        XCTAssertEqual(stack.poll(now: now), now)
        XCTAssertNil(stack.poll(now: now))
        XCTAssertEqual(stack.statistics.framesReceived, 3)
    }

    func testFullTransmitRingBacklogsAndFlushesInOrder() throws {
        let net = TwoStacks()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: 0, payload: [], now: net.now)
        net.settle()
        _ = net.a.takeEchoReplies()
        net.link.a.transmitRingSize = 2
        for sequence in 1...5 {
            try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 1, sequence: UInt16(sequence), payload: [], now: net.now)
        }
        XCTAssertEqual(net.interfaceA.transmitBacklog.count, 3)
        XCTAssertEqual(net.a.poll(now: net.now), net.now + .milliseconds(1), "a backlog asks to be polled again soon")
        net.link.a.transmitRingSize = nil
        net.settle()
        XCTAssertEqual(net.a.takeEchoReplies().map(\.sequence), [1, 2, 3, 4, 5])
        XCTAssertEqual(net.a.statistics.transmitBacklogDrops, 0)
    }
}
