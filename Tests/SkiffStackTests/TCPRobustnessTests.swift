import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The receive path never traps: malformed segments are counted and dropped, and seeded random
/// segments against listeners and established connections leave the stack within its bounds.
final class TCPRobustnessTests: XCTestCase {
    func testBadChecksumIsCountedAndDropped() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        var frame = peer.frame(seq: 1, flags: .syn)
        frame[frame.count - 1] ^= 0xff
        XCTAssertTrue(peer.deliver(frame).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpDroppedBadChecksum, 1)
        XCTAssertEqual(listener.synQueueCount, 0)
    }

    func testTruncatedAndBadOffsetSegmentsAreMalformed() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let short = ipv4Frame(from: TCPPeerHarness.peer, to: TCPPeerHarness.local, protocolNumber: IPProtocol.tcp,
                              payload: [0, 80, 0, 80, 0, 0])
        XCTAssertTrue(peer.deliver(short).isEmpty)
        // Data offset 15 words in a 20-byte segment (checksum made right).
        var header = [UInt8](repeating: 0, count: 20)
        header[1] = 1; header[3] = 80; header[12] = 0xf0; header[13] = 0x02
        XCTAssertTrue(peer.deliver(checksummed(header)).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpDroppedMalformed, 2)
        withExtendedLifetime(listener) {}
    }

    func testIllegalOptionLengthIsMalformed() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        // A 24-byte header whose option has length 0 (RFC 9293 §3.2: be prepared for it).
        var header = [UInt8](repeating: 0, count: 24)
        header[1] = 1; header[3] = 80; header[12] = 0x60; header[13] = 0x02
        header[20] = 2; header[21] = 0
        XCTAssertTrue(peer.deliver(checksummed(header)).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpDroppedMalformed, 1)
        XCTAssertEqual(listener.synQueueCount, 0)
    }

    func testSegmentToBroadcastIsDropped() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        var packet = PacketBuffer([])
        TCPHeader(sourcePort: 1, destinationPort: 80, sequenceNumber: 1, acknowledgmentNumber: 0, flags: .syn, window: 100)
            .prepend(to: &packet, source: TCPPeerHarness.peer, destination: IPv4Address(198, 18, 0, 255))
        let frame = ipv4Frame(from: TCPPeerHarness.peer, to: IPv4Address(198, 18, 0, 255), protocolNumber: IPProtocol.tcp,
                              payload: packet.bytes, destinationMAC: .broadcast)
        XCTAssertTrue(peer.deliver(frame).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpDroppedBroadcast, 1)
        withExtendedLifetime(listener) {}
    }

    func testSeededRandomSegmentsNeverTrap() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 4
        configuration.tcpReceiveBufferSize = 4096
        configuration.tcpOutOfOrderRanges = 4
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let (connection, iss) = try peer.acceptConnection(listener: listener, options: TCPPeerHarness.linuxSYNOptions())
        var random = SplitMix64(seed: 42)
        let flagChoices: [TCPFlags] = [.syn, .ack, [.syn, .ack], .rst, [.rst, .ack], [.fin, .ack], [.psh, .ack], []]
        for step in 0..<3000 {
            let near = random.chance(70)
            let seq = near ? 1001 &+ UInt32(random.next(below: 8000)) : UInt32(truncatingIfNeeded: random.next())
            let ack = near ? (iss &+ UInt32(random.next(below: 3))) : UInt32(truncatingIfNeeded: random.next())
            var options: [TCPOption] = []
            if random.chance(50) { options.append(.timestamps(value: UInt32(truncatingIfNeeded: random.next()), echoReply: 0)) }
            if random.chance(20) { options.append(.sack([TCPSACKBlock(left: iss &+ UInt32(random.next(below: 100)), right: iss &+ UInt32(random.next(below: 5000)))])) }
            if random.chance(10) { options.append(.windowScale(UInt8(random.next(below: 30)))) }
            let sourcePort: UInt16 = random.chance(50) ? 40000 : UInt16(40000 + random.next(below: 8))
            peer.send(sourcePort: sourcePort, destinationPort: random.chance(90) ? 80 : 81, seq: seq, ack: ack,
                      flags: flagChoices[random.next(below: flagChoices.count)], window: UInt16(random.next(below: 65536)),
                      options: options, payload: pattern(random.next(below: 1500), seed: UInt8(step & 0xff)))
            if random.chance(10) { _ = peer.advance(.milliseconds(Int64(random.next(below: 3000)))) }
            if random.chance(10) { _ = connection.write(pattern(random.next(below: 3000))) }
            if random.chance(10) { _ = connection.read { $0.count / 2 } }
            // The bounds the configuration promises.
            for block in peer.stack.tcp.connections.values {
                XCTAssertLessThanOrEqual(block.receiveBuffer.count, 4096)
                XCTAssertLessThanOrEqual(block.reassembly.ranges.count, 4)
            }
            XCTAssertLessThanOrEqual(listener.synQueueCount, 4)
        }
        _ = peer.runTimers(for: .seconds(600))
        XCTAssertGreaterThan(peer.stack.statistics.tcpReceived, 2900)
    }

    /// Wraps raw TCP bytes in a frame from the peer, with the TCP checksum filled in.
    func checksummed(_ segment: [UInt8]) -> [UInt8] {
        var bytes = segment
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: TCPPeerHarness.peer, destination: TCPPeerHarness.local, protocol: IPProtocol.tcp, length: bytes.count)
        sum.add(bytes)
        bytes[16] = UInt8(sum.checksum >> 8)
        bytes[17] = UInt8(sum.checksum & 0xff)
        return ipv4Frame(from: TCPPeerHarness.peer, to: TCPPeerHarness.local, protocolNumber: IPProtocol.tcp, payload: bytes)
    }
}
