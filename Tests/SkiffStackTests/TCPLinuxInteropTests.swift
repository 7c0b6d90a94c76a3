import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// A SYN captured from Linux 6.18 (`socat - TCP:198.18.0.2:80` in a network namespace,
/// 198.18.0.1 / 02:00:00:00:00:01 on a veth, `tcpdump -w` on the other end), answered by the
/// stack. The veth offloads checksums, so the capture holds only the pseudo-header sum in the TCP
/// checksum field; the test completes it as the NIC would have.
final class TCPLinuxInteropTests: XCTestCase {
    static let linuxSYN: [UInt8] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
        0x00, 0x3c, 0xdb, 0x58, 0x40, 0x00, 0x40, 0x06, 0xd3, 0x3b, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12,
        0x00, 0x02, 0x9f, 0x04, 0x00, 0x50, 0xb6, 0x4d, 0xb6, 0x54, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
        0xfa, 0xf0, 0x8c, 0x56, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xda, 0xe2,
        0x8c, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ]

    /// The capture with the TCP checksum completed.
    static var completedSYN: [UInt8] {
        var frame = linuxSYN
        frame[50] = 0
        frame[51] = 0
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: IPv4Address(198, 18, 0, 1), destination: IPv4Address(198, 18, 0, 2),
                            protocol: IPProtocol.tcp, length: frame.count - 34)
        frame.withUnsafeBytes { sum.add(UnsafeRawBufferPointer(rebasing: $0[34...])) }
        frame[50] = UInt8(sum.checksum >> 8)
        frame[51] = UInt8(sum.checksum & 0xff)
        return frame
    }

    func testCapturedLinuxSYNParses() throws {
        let frame = Self.completedSYN
        let segment = try XCTUnwrap(WireSegment(frame: frame))
        XCTAssertEqual(segment.tcp.sourcePort, 40708)
        XCTAssertEqual(segment.tcp.destinationPort, 80)
        XCTAssertEqual(segment.flags, .syn)
        XCTAssertEqual(segment.tcp.window, 64240)
        XCTAssertEqual(segment.tcp.options, [.maximumSegmentSize(1460), .sackPermitted,
                                             .timestamps(value: 0xdae2_8c1a, echoReply: 0), .noOperation, .windowScale(10)])
        // As captured (partial checksum), the stack counts it as a bad checksum and stays silent.
        let peer = linuxPeer()
        let listener = try peer.stack.listen(port: 80)
        XCTAssertTrue(peer.deliver(Self.linuxSYN).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpDroppedBadChecksum, 1)
        withExtendedLifetime(listener) {}
    }

    func linuxPeer() -> TCPPeerHarness {
        TCPPeerHarness(peerMAC: MACAddress(0x02, 0, 0, 0, 0, 0x01), localMAC: MACAddress(0x02, 0, 0, 0, 0, 0x02))
    }

    func testCapturedLinuxSYNAnsweredWithSynAck() throws {
        let peer = linuxPeer()
        let listener = try peer.stack.listen(port: 80)
        let answer = peer.deliver(Self.completedSYN)
        let synAck = try XCTUnwrap(answer.first)
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(synAck.ip.source, IPv4Address(198, 18, 0, 2))
        XCTAssertEqual(synAck.ip.destination, IPv4Address(198, 18, 0, 1))
        XCTAssertTrue(synAck.ip.dontFragment)
        XCTAssertEqual(synAck.tcp.sourcePort, 80)
        XCTAssertEqual(synAck.tcp.destinationPort, 40708)
        XCTAssertEqual(synAck.flags, [.syn, .ack])
        XCTAssertEqual(synAck.ack, 0xb64d_b654 &+ 1)
        XCTAssertEqual(synAck.tcp.options, [.maximumSegmentSize(1460), .sackPermitted,
                                            .timestamps(value: synAck.timestamp?.value ?? 0, echoReply: 0xdae2_8c1a),
                                            .noOperation, .windowScale(1)])
        // Linux's ACK completes the handshake; its window is scaled by 2^10 from now on.
        peer.send(sourcePort: 40708, seq: 0xb64d_b655, ack: synAck.seq &+ 1, flags: .ack, window: 502,
                  options: [.noOperation, .noOperation, .timestamps(value: 0xdae2_8c1b, echoReply: synAck.timestamp?.value ?? 0)])
        let connection = try XCTUnwrap(listener.acceptConnection())
        XCTAssertEqual(connection.state, .established)
        XCTAssertTrue(connection.usesTimestamps && connection.usesSACK && connection.usesWindowScaling)
        XCTAssertEqual(connection.block.sndWnd, 502 << 10)
    }

    func testPollReturnsTheTCPDeadline() throws {
        let peer = TCPPeerHarness()
        let connection = try peer.stack.connect(to: TCPPeerHarness.peer, port: 80, now: peer.now)
        _ = peer.take()
        // The SYN's retransmission timer: the initial RTO of 1 s.
        XCTAssertEqual(peer.stack.poll(now: peer.now), peer.now + .seconds(1))
        withExtendedLifetime(connection) {}
    }
}
