import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The sender and receiver rules that involve time or loss: RTO (RFC 6298), fast retransmit and
/// recovery (RFC 5681, RFC 6582), SACK (RFC 2018), persist (RFC 9293 §3.8.6.1), delayed ACK,
/// keepalive, Nagle, and the close timers.
final class TCPRetransmissionTests: XCTestCase {
    func established(_ configuration: StackConfiguration = StackConfiguration(),
                     options: [TCPOption] = [.maximumSegmentSize(1460)])
        throws -> (TCPPeerHarness, TCPListener, TCPConnection, UInt32) {
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let (connection, iss) = try peer.acceptConnection(listener: listener, options: options)
        return (peer, listener, connection, iss)
    }

    // MARK: RTO

    /// RFC 6298 §2.4's 1 s floor, §5.5's doubling.
    func testRTOBackoffDoubles() throws {
        var configuration = StackConfiguration()
        configuration.tcpMinimumRTO = .seconds(1)
        let (peer, _, connection, iss) = try established(configuration)
        let start = peer.now
        XCTAssertEqual(connection.write(pattern(100)), 100)
        XCTAssertEqual(peer.take().first?.payload.count, 100)
        let sent = peer.runTimers(for: .seconds(16))
        XCTAssertEqual(sent.map { ($0.0 - start).milliseconds }, [1000, 3000, 7000, 15000])
        XCTAssertTrue(sent.allSatisfy { $0.1.seq == iss + 1 && $0.1.payload.count == 100 })
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 4)
        // Acknowledging resets the retransmission count; the next loss starts at the measured RTO.
        peer.send(seq: 1001, ack: iss + 101, flags: .ack)
        XCTAssertEqual(connection.unacknowledgedBytes, 0)
        XCTAssertNil(connection.block.timers.retransmit)
    }

    func testRTOFollowsMeasuredRTT() {
        var rto = TCPRetransmissionTimeout(initial: .seconds(1), minimum: .milliseconds(200), maximum: .seconds(60))
        XCTAssertEqual(rto.current, .seconds(1))
        rto.addSample(.milliseconds(100))
        // RFC 6298 §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms.
        XCTAssertEqual(rto.current, .milliseconds(300))
        rto.addSample(.milliseconds(100))
        // RTTVAR = 3/4 * 50 + 1/4 * 0 = 37.5 ms; RTO = 100 + 150 = 250 ms.
        XCTAssertEqual(rto.current, .milliseconds(250))
        rto.backOff()
        rto.backOff()
        XCTAssertEqual(rto.current, .milliseconds(1000))
        for _ in 0..<20 { rto.backOff() }
        XCTAssertEqual(rto.current, .seconds(60))
        // A sample ends the backoff (§5.7).
        rto.addSample(.milliseconds(100))
        XCTAssertLessThan(rto.current, .seconds(1))
    }

    func testRetransmissionsGiveUpWithReset() throws {
        var configuration = StackConfiguration()
        configuration.tcpMaximumRetransmissions = 2
        let (peer, _, connection, _) = try established(configuration)
        XCTAssertEqual(connection.write(pattern(10)), 10)
        _ = peer.take()
        let sent = peer.runTimers(for: .seconds(30))
        XCTAssertEqual(sent.map { $0.1.flags.contains(.rst) }, [false, false, true])
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(connection.closeReason, .timedOut)
        XCTAssertEqual(connection.read { _ in 0 }, .reset)
    }

    func testTimeoutRestartsFromOneSegment() throws {
        var configuration = StackConfiguration()
        configuration.tcpMinimumRTO = .seconds(1)
        let (peer, _, connection, iss) = try established(configuration)
        XCTAssertEqual(connection.write(pattern(10 * 1460)), 10 * 1460)
        XCTAssertEqual(peer.take().count, 10)
        let sent = peer.runTimers(for: .milliseconds(1500))
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.1.seq, iss + 1)
        XCTAssertEqual(connection.congestionWindow, 1460)
        // The ACK of the retransmission lets two more out (slow start), from where it left off.
        let next = peer.send(seq: 1001, ack: iss + 1 + 1460, flags: .ack)
        XCTAssertEqual(next.map { $0.seq }, [iss + 1 + 1460, iss + 1 + 2 * 1460])
    }

    // MARK: Fast retransmit and recovery

    func testFastRetransmitOnThreeDupAcks() throws {
        var configuration = StackConfiguration()
        configuration.tcpCongestionControl = .newReno
        let (peer, _, connection, iss) = try established(configuration)
        XCTAssertEqual(connection.write(pattern(6 * 1460)), 6 * 1460)
        XCTAssertEqual(peer.take().count, 6)
        let base = iss + 1
        peer.send(seq: 1001, ack: base + 1460, flags: .ack)
        // Two duplicates: nothing to retransmit yet (and no new data to send).
        XCTAssertTrue(peer.send(seq: 1001, ack: base + 1460, flags: .ack).isEmpty)
        XCTAssertTrue(peer.send(seq: 1001, ack: base + 1460, flags: .ack).isEmpty)
        let third = peer.send(seq: 1001, ack: base + 1460, flags: .ack)
        XCTAssertEqual(third.first?.seq, base + 1460)
        XCTAssertEqual(third.first?.payload.count, 1460)
        XCTAssertEqual(peer.stack.statistics.tcpFastRetransmits, 1)
        XCTAssertTrue(connection.block.inRecovery)
        // RFC 6582: ssthresh = FlightSize / 2, cwnd = ssthresh + 3 SMSS.
        XCTAssertEqual(connection.block.congestion.ssthresh, 5 * 1460 / 2)
        XCTAssertEqual(connection.congestionWindow, 5 * 1460 / 2 + 3 * 1460)
        // A partial ACK retransmits the next unacknowledged segment at once.
        let partial = peer.send(seq: 1001, ack: base + 2 * 1460, flags: .ack)
        XCTAssertEqual(partial.first?.seq, base + 2 * 1460)
        // The full ACK ends recovery.
        peer.send(seq: 1001, ack: base + 6 * 1460, flags: .ack)
        XCTAssertFalse(connection.block.inRecovery)
    }

    func testTwoDupAcksDoNotRetransmitButLimitedTransmitSendsNewData() throws {
        let (peer, _, connection, iss) = try established()
        // Fill the initial window exactly, then one more segment waits.
        XCTAssertEqual(connection.write(pattern(11 * 1460)), 11 * 1460)
        XCTAssertEqual(peer.take().count, 10)
        let base = iss + 1
        let first = peer.send(seq: 1001, ack: base, flags: .ack, window: 65535)
        // RFC 3042: the first duplicate lets one new segment out.
        XCTAssertEqual(first.map { $0.seq }, [base + 10 * 1460])
        XCTAssertTrue(peer.send(seq: 1001, ack: base, flags: .ack).isEmpty)
        XCTAssertEqual(peer.stack.statistics.tcpFastRetransmits, 0)
    }

    func testSACKBlocksReportHoles() throws {
        let (peer, _, connection, iss) = try established(options: [.maximumSegmentSize(1460), .sackPermitted])
        XCTAssertTrue(connection.usesSACK)
        let a = peer.send(seq: 1001 + 1000, ack: iss + 1, flags: .ack, payload: pattern(500, seed: 2))
        XCTAssertEqual(a.first?.ack, 1001)
        XCTAssertEqual(a.first?.sackBlocks, [TCPSACKBlock(left: 2001, right: 2501)])
        let b = peer.send(seq: 1001 + 2000, ack: iss + 1, flags: .ack, payload: pattern(500, seed: 3))
        // RFC 2018 §4: the newest block first, then the others most recent first.
        XCTAssertEqual(b.first?.sackBlocks, [TCPSACKBlock(left: 3001, right: 3501), TCPSACKBlock(left: 2001, right: 2501)])
        let c = peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: pattern(1000, seed: 1))
        XCTAssertEqual(c.first?.ack, 2501)
        XCTAssertEqual(c.first?.sackBlocks, [TCPSACKBlock(left: 3001, right: 3501)])
        let d = peer.send(seq: 2501, ack: iss + 1, flags: .ack, payload: pattern(500, seed: 4))
        XCTAssertEqual(d.first?.ack, 3501)
        XCTAssertEqual(d.first?.sackBlocks, [])
        var got: [UInt8] = []
        drain(connection, into: &got)
        XCTAssertEqual(got, pattern(1000, seed: 1) + pattern(500, seed: 2) + pattern(500, seed: 4) + pattern(500, seed: 3))
        XCTAssertEqual(peer.stack.statistics.tcpOutOfOrderSegments, 2)
    }

    func testSACKRecoveryRetransmitsOnlyHoles() throws {
        var configuration = StackConfiguration()
        configuration.tcpCongestionControl = .newReno
        let (peer, _, connection, iss) = try established(configuration, options: [.maximumSegmentSize(1460), .sackPermitted])
        XCTAssertEqual(connection.write(pattern(6 * 1460)), 6 * 1460)
        XCTAssertEqual(peer.take().count, 6)
        let base = iss + 1
        let S: UInt32 = 1460
        var answer: [WireSegment] = []
        // Segments 3...6 arrive, 1 and 2 are lost: three duplicate ACKs with growing SACK blocks.
        for k in 3...5 {
            answer += peer.send(seq: 1001, ack: base, flags: .ack,
                                options: [.noOperation, .noOperation, .sack([TCPSACKBlock(left: base + 2 * S, right: base + UInt32(k) * S)])])
        }
        XCTAssertEqual(peer.stack.statistics.tcpFastRetransmits, 1)
        // Both holes are repaired and nothing SACKed is sent again.
        XCTAssertEqual(answer.filter { !$0.payload.isEmpty }.map { $0.seq }, [base, base + S])
    }

    // MARK: Zero window

    func testZeroWindowProbe() throws {
        var configuration = StackConfiguration()
        configuration.tcpMaximumRetransmissions = 2
        configuration.tcpMinimumRTO = .seconds(1)
        let (peer, _, connection, iss) = try established(configuration)
        let start = peer.now
        peer.send(seq: 1001, ack: iss + 1, flags: .ack, window: 0)
        XCTAssertEqual(connection.write(pattern(100)), 100)
        XCTAssertTrue(peer.take().isEmpty, "nothing fits a zero window")
        var probes: [(Instant, WireSegment)] = []
        // The peer answers every probe, still with a zero window; probing never gives up.
        for _ in 0..<6 {
            let sent = peer.runTimers(for: .seconds(20))
            probes += sent
            for (_, probe) in sent { peer.send(seq: 1001, ack: iss + 1, flags: .ack, window: 0) ; _ = probe }
        }
        XCTAssertGreaterThanOrEqual(probes.count, 5)
        XCTAssertTrue(probes.allSatisfy { $0.1.payload.count == 1 && $0.1.seq == iss + 1 })
        XCTAssertEqual((probes[0].0 - start).milliseconds, 1000)
        XCTAssertEqual((probes[1].0 - probes[0].0).milliseconds, 2000)
        XCTAssertEqual(connection.state, .established)
        XCTAssertGreaterThanOrEqual(peer.stack.statistics.tcpZeroWindowProbes, 5)
        // The window opens: the data follows.
        let opened = peer.send(seq: 1001, ack: iss + 1, flags: .ack, window: 1000)
        XCTAssertEqual(opened.first?.payload.count, 100)
    }

    func testZeroWindowProbeAcceptedByPeer() throws {
        let (peer, _, connection, iss) = try established()
        peer.send(seq: 1001, ack: iss + 1, flags: .ack, window: 0)
        XCTAssertEqual(connection.write(pattern(100)), 100)
        let probe = try XCTUnwrap(peer.runTimers(for: .milliseconds(1500)).first?.1)
        XCTAssertEqual(probe.payload.count, 1)
        // The peer took the byte and opened its window: the rest follows from byte 2.
        let rest = peer.send(seq: 1001, ack: iss + 2, flags: .ack, window: 1000)
        XCTAssertEqual(rest.first?.seq, iss + 2)
        XCTAssertEqual(rest.first?.payload.count, 99)
        XCTAssertEqual(connection.unacknowledgedBytes, 99)
    }

    // MARK: Delayed ACK, keepalive, Nagle

    func testDelayedAckFiresAfterTimeout() throws {
        let (peer, _, connection, iss) = try established()
        XCTAssertTrue(peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: [1, 2, 3]).isEmpty)
        XCTAssertTrue(peer.advance(.milliseconds(39)).isEmpty)
        let ack = peer.advance(.milliseconds(1))
        XCTAssertEqual(ack.first?.ack, 1004)
        XCTAssertEqual(peer.stack.statistics.tcpDelayedACKs, 1)
        // Every second full-sized segment is acknowledged at once.
        XCTAssertTrue(peer.send(seq: 1004, ack: iss + 1, flags: .ack, payload: pattern(1460)).isEmpty)
        XCTAssertEqual(peer.send(seq: 1004 + 1460, ack: iss + 1, flags: .ack, payload: pattern(1460)).first?.ack, 1004 + 2920)
        withExtendedLifetime(connection) {}
    }

    func testKeepAliveProbesThenTimeout() throws {
        var configuration = StackConfiguration()
        configuration.tcpKeepAliveIdle = .seconds(10)
        configuration.tcpKeepAliveInterval = .seconds(1)
        configuration.tcpKeepAliveProbes = 3
        let (peer, _, connection, iss) = try established(configuration)
        XCTAssertTrue(peer.runTimers(for: .seconds(20)).isEmpty, "keepalive is off by default")
        // Some traffic, then silence.
        peer.send(seq: 1001, ack: iss + 1, flags: .ack)
        connection.isKeepAliveEnabled = true
        let start = peer.now
        XCTAssertTrue(peer.runTimers(for: .seconds(9)).isEmpty)
        let first = peer.runTimers(for: .seconds(1))
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(first.first?.1.seq, iss)
        XCTAssertEqual(first.first?.1.payload.count, 0)
        XCTAssertEqual(first.first.map { ($0.0 - start).milliseconds }, 10_000)
        // An answer resets the count.
        peer.send(seq: 1001, ack: iss + 1, flags: .ack)
        let rest = peer.runTimers(for: .seconds(20))
        XCTAssertEqual(rest.map { $0.1.flags.contains(.rst) }, [false, false, false, true])
        XCTAssertEqual(connection.closeReason, .timedOut)
        XCTAssertEqual(peer.stack.statistics.tcpKeepAliveTimeouts, 1)
    }

    func testNagleCoalescesSmallWrites() throws {
        let (peer, _, connection, iss) = try established()
        XCTAssertTrue(connection.isNagleEnabled)
        XCTAssertEqual(connection.write([1]), 1)
        XCTAssertEqual(peer.take().map { $0.payload }, [[1]])
        for byte: UInt8 in 2...5 { XCTAssertEqual(connection.write([byte]), 1) }
        XCTAssertTrue(peer.take().isEmpty, "small writes wait while data is unacknowledged")
        let answer = peer.send(seq: 1001, ack: iss + 2, flags: .ack)
        XCTAssertEqual(answer.map { $0.payload }, [[2, 3, 4, 5]])
    }

    func testNagleOffSendsEachWrite() throws {
        let (peer, _, connection, _) = try established()
        connection.isNagleEnabled = false
        for byte: UInt8 in 1...3 { XCTAssertEqual(connection.write([byte]), 1) }
        XCTAssertEqual(peer.take().map { $0.payload }, [[1], [2], [3]])
    }

    // MARK: Closing

    func testCloseWithUnreadDataSendsReset() throws {
        let (peer, _, connection, iss) = try established()
        peer.send(seq: 1001, ack: iss + 1, flags: .ack, payload: [1, 2, 3])
        _ = peer.take()
        connection.close()
        let answer = peer.take()
        XCTAssertEqual(answer.map { $0.flags }, [[.rst, .ack]])
        XCTAssertEqual(answer.first?.seq, iss + 1)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
    }

    func testDataAfterCloseGetsReset() throws {
        let (peer, _, connection, iss) = try established()
        connection.close()
        let fin = try XCTUnwrap(peer.take().first)
        XCTAssertEqual(fin.flags, [.fin, .ack])
        peer.send(seq: 1001, ack: iss + 2, flags: .ack)
        XCTAssertEqual(connection.state, .finWait2)
        let answer = peer.send(seq: 1001, ack: iss + 2, flags: .ack, payload: [1])
        XCTAssertEqual(answer.first?.flags, [.rst, .ack])
        XCTAssertEqual(connection.state, .closed)
    }

    func testFinWait2TimesOutAfterClose() throws {
        var configuration = StackConfiguration()
        configuration.tcpFinWait2Timeout = .seconds(5)
        let (peer, _, connection, iss) = try established(configuration)
        connection.close()
        peer.send(seq: 1001, ack: iss + 2, flags: .ack)
        XCTAssertEqual(connection.state, .finWait2)
        _ = peer.runTimers(for: .seconds(4))
        XCTAssertEqual(connection.state, .finWait2)
        _ = peer.runTimers(for: .seconds(2))
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(peer.stack.tcpConnectionCount, 0)
    }

    func testTimeWaitAcksRetransmittedFin() throws {
        var configuration = StackConfiguration()
        configuration.tcpMaximumSegmentLifetime = .seconds(10)
        let (peer, _, connection, iss) = try established(configuration)
        connection.close()
        _ = peer.take()
        let ack = peer.send(seq: 1001, ack: iss + 2, flags: [.fin, .ack])
        XCTAssertEqual(connection.state, .timeWait)
        XCTAssertEqual(ack.first?.ack, 1002)
        _ = peer.advance(.seconds(15))
        let again = peer.send(seq: 1001, ack: iss + 2, flags: [.fin, .ack])
        XCTAssertEqual(again.first?.flags, .ack)
        XCTAssertEqual(again.first?.ack, 1002)
        // The wait restarted with the retransmitted FIN: 2 MSL from now, not from the first FIN.
        _ = peer.advance(.seconds(15))
        XCTAssertEqual(connection.state, .timeWait)
        _ = peer.advance(.seconds(6))
        XCTAssertEqual(connection.state, .closed)
    }

    func testSynInTimeWaitReopens() throws {
        let (peer, listener, connection, iss) = try established()
        connection.close()
        peer.send(seq: 1001, ack: iss + 2, flags: [.fin, .ack])
        XCTAssertEqual(connection.state, .timeWait)
        let answer = peer.send(seq: 50_000, flags: .syn)
        XCTAssertEqual(answer.first?.flags, [.syn, .ack])
        XCTAssertEqual(answer.first?.ack, 50_001)
        XCTAssertEqual(listener.synQueueCount, 1)
    }

    func testRSTInCloseWaitResets() throws {
        let (peer, _, connection, iss) = try established()
        peer.send(seq: 1001, ack: iss + 1, flags: [.fin, .ack])
        XCTAssertEqual(connection.state, .closeWait)
        peer.send(seq: 1002, flags: .rst)
        XCTAssertEqual(connection.closeReason, .reset)
    }

    func testLastAckRetransmitsFinUntilAcked() throws {
        let (peer, _, connection, iss) = try established()
        peer.send(seq: 1001, ack: iss + 1, flags: [.fin, .ack])
        connection.close()
        XCTAssertEqual(connection.state, .lastAck)
        XCTAssertEqual(peer.take().first?.flags, [.fin, .ack])
        let again = peer.runTimers(for: .milliseconds(1100))
        XCTAssertEqual(again.first?.1.flags, [.fin, .ack])
        XCTAssertEqual(again.first?.1.seq, iss + 1)
        peer.send(seq: 1002, ack: iss + 2, flags: .ack)
        XCTAssertEqual(connection.state, .closed)
    }
}
