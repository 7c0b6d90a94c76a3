import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// CLOSED, LISTEN, SYN-SENT and SYN-RECEIVED against a scripted peer (RFC 9293 §3.10.7.1–3,
/// §3.10.7.4 for SYN-RECEIVED), SYN cookies and the backlog.
final class TCPHandshakeTests: XCTestCase {
    // MARK: CLOSED (RFC 9293 §3.10.7.1)

    func testClosedPortSynGetsRSTAck() {
        let peer = TCPPeerHarness()
        let answer = peer.send(destinationPort: 81, seq: 100, flags: .syn, payload: [1, 2, 3])
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(answer.first?.flags, [.rst, .ack])
        XCTAssertEqual(answer.first?.seq, 0)
        // SEG.SEQ + SEG.LEN: the SYN and three bytes.
        XCTAssertEqual(answer.first?.ack, 104)
        XCTAssertEqual(peer.stack.statistics.tcpNoPort, 1)
    }

    func testClosedPortAckGetsRSTWithSeqFromAck() {
        let peer = TCPPeerHarness()
        let answer = peer.send(destinationPort: 81, seq: 5, ack: 777, flags: .ack)
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(answer.first?.seq, 777)
    }

    func testClosedPortRSTIsNotAnswered() {
        let peer = TCPPeerHarness()
        XCTAssertTrue(peer.send(destinationPort: 81, seq: 5, flags: .rst).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpNoPort, 1)
    }

    // MARK: LISTEN (§3.10.7.2)

    func testListenAckGetsReset() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let answer = peer.send(seq: 1, ack: 555, flags: .ack)
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(answer.first?.seq, 555)
        XCTAssertEqual(listener.synQueueCount, 0)
    }

    func testListenIgnoresRST() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        XCTAssertTrue(peer.send(seq: 1, flags: .rst).isEmpty)
        XCTAssertEqual(listener.synQueueCount, 0)
    }

    func testListenSynGetsSynAckWithOptions() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let answer = peer.send(seq: 1000, flags: .syn, options: TCPPeerHarness.linuxSYNOptions(tsval: 4242))
        let synAck = try XCTUnwrap(answer.first)
        XCTAssertEqual(synAck.flags, [.syn, .ack])
        XCTAssertEqual(synAck.ack, 1001)
        XCTAssertEqual(synAck.mss, 1460)
        XCTAssertTrue(synAck.sackPermitted)
        XCTAssertEqual(synAck.timestamp?.echoReply, 4242)
        // A 64 KiB receive buffer needs a shift of 1 to be announced.
        XCTAssertEqual(synAck.windowScale, 1)
        XCTAssertEqual(synAck.tcp.window, 65535)
        XCTAssertEqual(listener.synQueueCount, 1)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 1)
    }

    func testListenSynWithoutOptionsGetsOnlyMSS() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let synAck = try XCTUnwrap(peer.send(seq: 1000, flags: .syn).first)
        XCTAssertEqual(synAck.tcp.options, [.maximumSegmentSize(1460)])
        withExtendedLifetime(listener) {}
    }

    func testListenTwiceOnAPortFails() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        XCTAssertThrowsError(try peer.stack.listen(port: 80)) { XCTAssertEqual($0 as? TCPListenError, .portInUse) }
        XCTAssertThrowsError(try peer.stack.listen(port: 0)) { XCTAssertEqual($0 as? TCPListenError, .invalidArgument) }
        listener.close()
        XCTAssertNoThrow(try peer.stack.listen(port: 80))
    }

    // MARK: SYN-RECEIVED

    func testSynReceivedAckTooLow() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let synAck = try XCTUnwrap(peer.send(seq: 1000, flags: .syn).first)
        // SEG.ACK = ISS does not acknowledge the SYN: <SEQ=SEG.ACK><CTL=RST>.
        let answer = peer.send(seq: 1001, ack: synAck.seq, flags: .ack)
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(answer.first?.seq, synAck.seq)
        XCTAssertNil(listener.acceptConnection())
        XCTAssertEqual(listener.synQueueCount, 1)
    }

    func testSynReceivedAckTooHigh() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let synAck = try XCTUnwrap(peer.send(seq: 1000, flags: .syn).first)
        let answer = peer.send(seq: 1001, ack: synAck.seq + 2, flags: .ack)
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(answer.first?.seq, synAck.seq + 2)
        XCTAssertNil(listener.acceptConnection())
    }

    func testSynReceivedAckEstablishes() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let (connection, _) = try peer.acceptConnection(listener: listener)
        XCTAssertEqual(connection.state, .established)
        XCTAssertEqual(listener.synQueueCount, 0)
        XCTAssertEqual(connection.remoteAddress, TCPPeerHarness.peer)
        XCTAssertEqual(connection.remotePort, 40000)
        XCTAssertEqual(peer.stack.statistics.tcpConnectionsEstablished, 1)
    }

    func testSynReceivedRSTReturnsToListen() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        peer.send(seq: 1000, flags: .syn)
        XCTAssertTrue(peer.send(seq: 1001, flags: .rst).isEmpty)
        XCTAssertEqual(listener.synQueueCount, 0)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
        // Still listening.
        XCTAssertEqual(peer.send(seq: 5000, flags: .syn).first?.flags, [.syn, .ack])
    }

    func testSynReceivedRepeatedSynResendsSynAck() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        let first = try XCTUnwrap(peer.send(seq: 1000, flags: .syn).first)
        let again = try XCTUnwrap(peer.send(seq: 1000, flags: .syn).first)
        XCTAssertEqual(again.flags, [.syn, .ack])
        XCTAssertEqual(again.seq, first.seq)
        XCTAssertEqual(listener.synQueueCount, 1)
    }

    func testSynReceivedRetransmitsSynAckThenGivesUp() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNRetries = 2
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let start = peer.now
        peer.send(seq: 1000, flags: .syn)
        let sent = peer.runTimers(for: .seconds(30))
        XCTAssertEqual(sent.map { $0.1.flags }, [[.syn, .ack], [.syn, .ack]])
        XCTAssertEqual(sent.map { ($0.0 - start).milliseconds }, [1000, 3000])
        XCTAssertEqual(listener.synQueueCount, 0)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
    }

    // MARK: SYN-SENT (§3.10.7.3)

    func connect(_ peer: TCPPeerHarness) throws -> (TCPConnection, WireSegment) {
        let connection = try peer.stack.connect(to: TCPPeerHarness.peer, port: 80, now: peer.now)
        let syn = try XCTUnwrap(peer.take().first)
        XCTAssertEqual(syn.flags, .syn)
        XCTAssertEqual(connection.state, .synSent)
        return (connection, syn)
    }

    func testSynSentSynAckEstablishes() throws {
        let peer = TCPPeerHarness()
        let (connection, syn) = try connect(peer)
        XCTAssertEqual(syn.mss, 1460)
        XCTAssertTrue(syn.sackPermitted)
        XCTAssertNotNil(syn.timestamp)
        let answer = peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 7000, ack: syn.seq + 1,
                               flags: [.syn, .ack], options: [.maximumSegmentSize(1200)])
        XCTAssertEqual(answer.first?.flags, .ack)
        XCTAssertEqual(answer.first?.ack, 7001)
        XCTAssertEqual(answer.first?.seq, syn.seq + 1)
        XCTAssertEqual(connection.state, .established)
        XCTAssertEqual(connection.maximumSegmentSize, 1200)
        XCTAssertFalse(connection.usesTimestamps)
        XCTAssertFalse(connection.usesSACK)
    }

    func testSynSentBadAckGetsReset() throws {
        let peer = TCPPeerHarness()
        let (connection, syn) = try connect(peer)
        let answer = peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 7000, ack: syn.seq,
                               flags: [.syn, .ack])
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(answer.first?.seq, syn.seq)
        XCTAssertEqual(connection.state, .synSent)
    }

    func testSynSentRSTWithAcceptableAckRefuses() throws {
        let peer = TCPPeerHarness()
        let (connection, syn) = try connect(peer)
        peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 0, ack: syn.seq + 1, flags: [.rst, .ack])
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(connection.closeReason, .refused)
        XCTAssertEqual(connection.read { _ in 0 }, .reset)
        XCTAssertEqual(connection.write([1]), -1)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
    }

    func testSynSentRSTWithoutAckIsIgnored() throws {
        let peer = TCPPeerHarness()
        let (connection, _) = try connect(peer)
        peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 0, flags: [.rst])
        XCTAssertEqual(connection.state, .synSent)
    }

    func testSynSentRetriesThenTimesOut() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNRetries = 2
        let peer = TCPPeerHarness(configuration: configuration)
        let start = peer.now
        let (connection, _) = try connect(peer)
        let sent = peer.runTimers(for: .seconds(30))
        XCTAssertEqual(sent.map { $0.1.flags }, [.syn, .syn])
        XCTAssertEqual(sent.map { ($0.0 - start).milliseconds }, [1000, 3000])
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(connection.closeReason, .timedOut)
        XCTAssertEqual(peer.stack.statistics.tcpOpenFailures, 1)
    }

    func testSynSentSynOnlyGoesToSynReceived() throws {
        let peer = TCPPeerHarness()
        let (connection, syn) = try connect(peer)
        let answer = peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 7000, flags: .syn)
        XCTAssertEqual(connection.state, .synReceived)
        XCTAssertEqual(answer.first?.flags, [.syn, .ack])
        XCTAssertEqual(answer.first?.seq, syn.seq)
        XCTAssertEqual(answer.first?.ack, 7001)
        // The peer's SYN-ACK (Figure 8) completes it.
        peer.send(sourcePort: 80, destinationPort: connection.localPort, seq: 7000, ack: syn.seq + 1, flags: [.syn, .ack])
        XCTAssertEqual(connection.state, .established)
    }

    func testCloseInSynSentDeletesTheConnection() throws {
        let peer = TCPPeerHarness()
        let (connection, _) = try connect(peer)
        connection.close()
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
        XCTAssertTrue(peer.runTimers(for: .seconds(5)).isEmpty)
    }

    func testConnectToInvalidDestinationFails() {
        let peer = TCPPeerHarness()
        XCTAssertThrowsError(try peer.stack.connect(to: .broadcast, port: 80, now: peer.now)) {
            XCTAssertEqual($0 as? TCPConnectError, .invalidDestination)
        }
        XCTAssertThrowsError(try peer.stack.connect(to: IPv4Address(203, 0, 113, 1), port: 80, now: peer.now)) {
            XCTAssertEqual($0 as? TCPConnectError, .noRoute)
        }
    }

    // MARK: SYN cookies and the backlog

    func testSYNCookieWhenQueueFull() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 1
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let normal = try XCTUnwrap(peer.send(sourcePort: 40000, seq: 1000, flags: .syn, options: TCPPeerHarness.linuxSYNOptions()).first)
        XCTAssertTrue(normal.sackPermitted)
        let cookie = try XCTUnwrap(peer.send(sourcePort: 40001, seq: 9000, flags: .syn, options: TCPPeerHarness.linuxSYNOptions()).first)
        XCTAssertEqual(cookie.flags, [.syn, .ack])
        XCTAssertEqual(cookie.ack, 9001)
        // Only the MSS survives a cookie.
        XCTAssertEqual(cookie.tcp.options, [.maximumSegmentSize(1460)])
        XCTAssertEqual(peer.stack.statistics.tcpSYNCookiesSent, 1)
        XCTAssertEqual(listener.synQueueCount, 1)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 1, "a cookie keeps no state")
        // The final ACK, with data, brings the connection back.
        peer.send(sourcePort: 40001, seq: 9001, ack: cookie.seq + 1, flags: [.ack, .psh], payload: Array("hello".utf8))
        XCTAssertEqual(peer.stack.statistics.tcpSYNCookiesAccepted, 1)
        let connection = try XCTUnwrap(listener.acceptConnection())
        XCTAssertEqual(connection.remotePort, 40001)
        XCTAssertEqual(connection.state, .established)
        XCTAssertEqual(connection.maximumSegmentSize, 1460)
        var got: [UInt8] = []
        drain(connection, into: &got)
        XCTAssertEqual(got, Array("hello".utf8))
        XCTAssertEqual(connection.write([1, 2]), 2)
        let data = try XCTUnwrap(peer.take().first { !$0.payload.isEmpty })
        XCTAssertEqual(data.seq, cookie.seq + 1)
        XCTAssertEqual(data.ack, 9006)
    }

    func testSYNCookieWithWrongAckGetsReset() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 0
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let cookie = try XCTUnwrap(peer.send(seq: 9000, flags: .syn).first)
        let answer = peer.send(seq: 9001, ack: cookie.seq + 2, flags: .ack)
        XCTAssertEqual(answer.first?.flags, [.rst])
        XCTAssertEqual(peer.stack.statistics.tcpSYNCookiesRejected, 1)
        XCTAssertNil(listener.acceptConnection())
    }

    func testSYNCookieExpiresAfterTwoPeriods() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 0
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let cookie = try XCTUnwrap(peer.send(seq: 9000, flags: .syn).first)
        peer.now = peer.now + .seconds(200)
        XCTAssertEqual(peer.send(seq: 9001, ack: cookie.seq + 1, flags: .ack).first?.flags, [.rst])
        XCTAssertNil(listener.acceptConnection())
    }

    func testSYNQueueFullWithoutCookiesDrops() throws {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 1
        configuration.tcpSYNCookies = false
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        peer.send(sourcePort: 40000, seq: 1000, flags: .syn)
        XCTAssertTrue(peer.send(sourcePort: 40001, seq: 1000, flags: .syn).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpSYNQueueDrops, 1)
        withExtendedLifetime(listener) {}
    }

    func testListenBacklogFullDropsSyn() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80, backlog: 1)
        peer.send(sourcePort: 40000, seq: 1000, flags: .syn)
        let first = try XCTUnwrap(peer.stack.tcp.connections.values.first)
        peer.send(sourcePort: 40000, seq: 1001, ack: (first.iss + 1).rawValue, flags: .ack)
        XCTAssertEqual(listener.pendingCount, 1)
        XCTAssertTrue(peer.send(sourcePort: 40001, seq: 1000, flags: .syn).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpListenOverflows, 1)
        let accepted = listener.acceptConnection()
        XCTAssertNotNil(accepted)
        XCTAssertEqual(peer.send(sourcePort: 40001, seq: 1000, flags: .syn).first?.flags, [.syn, .ack])
        withExtendedLifetime(accepted) {}
    }

    func testSynReceivedAckDroppedWhileAcceptQueueFull() throws {
        // Two SYNs pass while the queue has room; the second handshake's ACK arrives when the
        // first connection fills the backlog: it is dropped (no RST), the connection stays in
        // SYN-RECEIVED, and the peer's retransmitted ACK completes it once the first is accepted.
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80, backlog: 1)
        peer.send(sourcePort: 40000, seq: 1000, flags: .syn)
        peer.send(sourcePort: 40001, seq: 5000, flags: .syn)
        let first = try XCTUnwrap(peer.stack.tcp.connections.values.first { $0.tuple.remotePort == 40000 })
        let second = try XCTUnwrap(peer.stack.tcp.connections.values.first { $0.tuple.remotePort == 40001 })
        peer.send(sourcePort: 40000, seq: 1001, ack: (first.iss + 1).rawValue, flags: .ack)
        XCTAssertEqual(listener.pendingCount, 1)
        let dropped = peer.send(sourcePort: 40001, seq: 5001, ack: (second.iss + 1).rawValue, flags: .ack)
        XCTAssertFalse(dropped.contains { $0.flags.contains(.rst) }, "a full accept queue must not reset")
        XCTAssertEqual(second.state, .synReceived)
        XCTAssertEqual(peer.stack.statistics.tcpListenOverflows, 1)
        let accepted = try XCTUnwrap(listener.acceptConnection())
        peer.send(sourcePort: 40001, seq: 5001, ack: (second.iss + 1).rawValue, flags: .ack)
        XCTAssertEqual(second.state, .established)
        XCTAssertEqual(listener.acceptConnection()?.remotePort, 40001)
        withExtendedLifetime(accepted) {}
    }

    func testClosingListenerResetsUnacceptedConnections() throws {
        let peer = TCPPeerHarness()
        let listener = try peer.stack.listen(port: 80)
        _ = try peer.acceptConnection(listener: listener)
        // A second connection, established but never accepted.
        peer.send(sourcePort: 40001, seq: 5000, flags: .syn)
        let second = try XCTUnwrap(peer.stack.tcp.connections.values.first { $0.tuple.remotePort == 40001 })
        peer.send(sourcePort: 40001, seq: 5001, ack: (second.iss + 1).rawValue, flags: .ack)
        listener.close()
        let answer = peer.take()
        XCTAssertEqual(answer.map { $0.flags }, [[.rst, .ack]])
        XCTAssertEqual(answer.first?.tcp.destinationPort, 40001)
        XCTAssertEqual(peer.send(sourcePort: 40002, seq: 1, flags: .syn).first?.flags, [.rst, .ack])
    }

    // MARK: RFC 6528

    func testISNsDifferPerTupleKeyAndTime() {
        let tuple = TCPFourTuple(localAddress: IPv4Address(198, 18, 0, 2), localPort: 80,
                                 remoteAddress: IPv4Address(198, 18, 0, 1), remotePort: 40000)
        var other = tuple
        other.remotePort = 40001
        let key = TCPSecret(1, 2)
        let t = Instant(nanoseconds: 5_000_000_000)
        let a = TCPInitialSequence.isn(for: tuple, secret: key, now: t)
        XCTAssertEqual(a, TCPInitialSequence.isn(for: tuple, secret: key, now: t))
        XCTAssertNotEqual(a, TCPInitialSequence.isn(for: other, secret: key, now: t))
        XCTAssertNotEqual(a, TCPInitialSequence.isn(for: tuple, secret: TCPSecret(1, 3), now: t))
        // M ticks every 4 microseconds.
        XCTAssertEqual(TCPInitialSequence.isn(for: tuple, secret: key, now: t + .microseconds(400)) - a, 100)
    }

    func testSipHashReferenceVector() {
        // SipHash-2-4 paper, Appendix A: key 00..0f, message 00..07.
        let key = TCPSecret(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)
        XCTAssertEqual(SipHash.hash(key: key, 0x0706_0504_0302_0100), 0x93f5_f579_9a93_2462)
    }
}
