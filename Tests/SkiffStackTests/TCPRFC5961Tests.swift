import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Synchronized states against forged and stale segments: RFC 5961 §3 (RST), §4 (SYN), §5 (ACK),
/// §7 (rate limit), RFC 9293 §3.10.7.4 (acceptability) and RFC 7323 §5 (PAWS).
final class TCPRFC5961Tests: XCTestCase {
    /// An established connection with a peer that offered only MSS (or the Linux options).
    func established(_ configuration: StackConfiguration = StackConfiguration(), linuxOptions: Bool = false)
        throws -> (TCPPeerHarness, TCPListener, TCPConnection, UInt32) {
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let options: [TCPOption] = linuxOptions ? TCPPeerHarness.linuxSYNOptions() : [.maximumSegmentSize(1460)]
        let (connection, iss) = try peer.acceptConnection(listener: listener, options: options)
        return (peer, listener, connection, iss)
    }

    func testRFC5961ChallengeACK() throws {
        let (peer, _, connection, iss) = try established()
        // In the window but not RCV.NXT: a challenge ACK, and the connection lives.
        let answer = peer.send(seq: 1001 + 10, flags: .rst)
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(answer.first?.flags, .ack)
        XCTAssertEqual(answer.first?.seq, iss + 1)
        XCTAssertEqual(answer.first?.ack, 1001)
        XCTAssertEqual(connection.state, .established)
        XCTAssertEqual(peer.stack.statistics.tcpChallengeACKsSent, 1)
    }

    func testRFC5961RSTAtRcvNxtResets() throws {
        let (peer, _, connection, _) = try established()
        XCTAssertTrue(peer.send(seq: 1001, flags: .rst).isEmpty)
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(connection.closeReason, .reset)
        XCTAssertEqual(connection.read { _ in 0 }, .reset)
        XCTAssertFalse(connection.isOpen)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
    }

    func testRFC5961RSTOutsideWindowIsDropped() throws {
        let (peer, _, connection, _) = try established()
        XCTAssertTrue(peer.send(seq: 1001 &+ 1_000_000, flags: .rst).isEmpty)
        XCTAssertTrue(peer.send(seq: 1000, flags: .rst).isEmpty)
        XCTAssertEqual(connection.state, .established)
    }

    func testRFC5961SYNInEstablishedGetsChallengeACK() throws {
        let (peer, _, connection, iss) = try established()
        let answer = peer.send(seq: 1001 + 100, flags: .syn)
        XCTAssertEqual(answer.first?.flags, .ack)
        XCTAssertEqual(answer.first?.seq, iss + 1)
        XCTAssertEqual(answer.first?.ack, 1001)
        XCTAssertEqual(connection.state, .established)
    }

    func testRFC5961AckBelowWindowIsChallengedAndDataDropped() throws {
        let (peer, _, connection, iss) = try established()
        let answer = peer.send(seq: 1001, ack: iss &- 200_000, flags: .ack, payload: [1, 2, 3])
        XCTAssertEqual(answer.first?.flags, .ack)
        XCTAssertEqual(answer.first?.ack, 1001)
        XCTAssertEqual(connection.read { $0.count }, .wouldBlock)
        XCTAssertEqual(peer.stack.statistics.tcpChallengeACKsSent, 1)
    }

    func testRFC5961AckBeyondSndNxtIsChallenged() throws {
        let (peer, _, connection, iss) = try established()
        let answer = peer.send(seq: 1001, ack: iss + 5000, flags: .ack, payload: [1])
        XCTAssertEqual(answer.first?.ack, 1001)
        XCTAssertEqual(connection.read { $0.count }, .wouldBlock)
    }

    func testChallengeACKsAreRateLimited() throws {
        var configuration = StackConfiguration()
        configuration.tcpChallengeACKsPerSecond = 2
        let (peer, _, connection, _) = try established(configuration)
        var answers = 0
        for i in 0..<5 { answers += peer.send(seq: 1001 + 10 + UInt32(i), flags: .rst).count }
        XCTAssertEqual(answers, 2)
        XCTAssertEqual(peer.stack.statistics.tcpChallengeACKsRateLimited, 3)
        XCTAssertEqual(connection.state, .established)
        // A second later the bucket has refilled.
        peer.now = peer.now + .seconds(1)
        XCTAssertEqual(peer.send(seq: 1001 + 20, flags: .rst).count, 1)
    }

    func testEstablishedOutOfWindowDataGetsDuplicateAck() throws {
        let (peer, _, connection, _) = try established()
        let answer = peer.send(seq: 1001 &+ 500_000, ack: 0, flags: .ack, payload: [9])
        XCTAssertEqual(answer.first?.flags, .ack)
        XCTAssertEqual(answer.first?.ack, 1001)
        XCTAssertEqual(peer.stack.statistics.tcpOutOfWindow, 1)
        XCTAssertEqual(connection.read { $0.count }, .wouldBlock)
    }

    func testEstablishedOldDuplicateDataIsAckedNotDelivered() throws {
        let (peer, _, connection, iss) = try established()
        peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: [1, 2, 3])
        var got: [UInt8] = []
        drain(connection, into: &got)
        XCTAssertEqual(got, [1, 2, 3])
        let answer = peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: [1, 2, 3])
        XCTAssertEqual(answer.first?.ack, 1004)
        XCTAssertEqual(connection.read { $0.count }, .wouldBlock)
    }

    func testPAWSDropsOldTimestamp() throws {
        let (peer, _, connection, iss) = try established(linuxOptions: true)
        XCTAssertTrue(connection.usesTimestamps)
        peer.send(seq: 1001, ack: iss + 1, flags: .ack,
                  options: [.noOperation, .noOperation, .timestamps(value: 2000, echoReply: 0)], payload: [1])
        let answer = peer.send(seq: 1002, ack: iss + 1, flags: .ack,
                               options: [.noOperation, .noOperation, .timestamps(value: 1500, echoReply: 0)], payload: [2])
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 1)
        // R1: the old segment is acknowledged (with the current RCV.NXT) and dropped.
        XCTAssertEqual(answer.last?.ack, 1002)
        XCTAssertEqual(answer.last?.timestamp?.echoReply, 2000)
        var got: [UInt8] = []
        drain(connection, into: &got)
        XCTAssertEqual(got, [1])
    }

    func testSegmentWithoutTimestampIsDroppedWhenNegotiated() throws {
        let (peer, _, connection, iss) = try established(linuxOptions: true)
        XCTAssertTrue(peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: [1]).isEmpty)
        XCTAssertEqual(connection.read { $0.count }, .wouldBlock)
        // An RST needs no timestamp.
        peer.send(seq: 1001, flags: .rst)
        XCTAssertEqual(connection.state, .closed)
    }

    func testTimestampEchoIsFromTheEarliestUnacknowledgedSegment() throws {
        let (peer, _, connection, iss) = try established(linuxOptions: true)
        defer { withExtendedLifetime(connection) {} }
        peer.send(seq: 1001, ack: iss + 1, flags: .ack,
                  options: [.noOperation, .noOperation, .timestamps(value: 3000, echoReply: 0)], payload: Array(repeating: 1, count: 1448))
        let answer = peer.send(seq: 1001 + 1448, ack: iss + 1, flags: .ack,
                               options: [.noOperation, .noOperation, .timestamps(value: 3001, echoReply: 0)], payload: Array(repeating: 2, count: 1448))
        XCTAssertEqual(answer.last?.ack, 1001 + 2 * 1448)
        // RFC 7323 §4.3: the second segment lies beyond Last.ACK.sent, so the delayed ACK echoes
        // the first one's TSval (the RTT measured includes the delay).
        XCTAssertEqual(answer.last?.timestamp?.echoReply, 3000)
    }
}
