import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// SACK-based loss recovery: RACK-TLP (RFC 8985) finds the losses, RFC 6675 chooses what to send
/// (NextSeg, pipe, the rescue retransmission); and RFC 7323 §5 PAWS under reordering. A scripted
/// peer (SACK-permitted, MSS 1460) with the clock moved by hand, so every send time is known.
final class TCPLossRecoveryTests: XCTestCase {
    static let S: UInt32 = 1460

    func established(options: [TCPOption] = [.maximumSegmentSize(1460), .sackPermitted])
        throws -> (TCPPeerHarness, TCPConnection, UInt32) {
        var configuration = StackConfiguration()
        configuration.tcpCongestionControl = .newReno
        let peer = TCPPeerHarness(configuration: configuration)
        let listener = try peer.stack.listen(port: 80)
        let (connection, iss) = try peer.acceptConnection(listener: listener, options: options)
        XCTAssertTrue(connection.usesSACK)
        return (peer, connection, iss + 1)
    }

    func sack(_ blocks: (UInt32, UInt32)...) -> [TCPOption] {
        [.noOperation, .noOperation, .sack(blocks.map { TCPSACKBlock(left: $0.0, right: $0.1) })]
    }

    func dataSeqs(_ segments: [WireSegment]) -> [UInt32] {
        segments.filter { !$0.payload.isEmpty }.map { $0.seq }
    }

    /// The send records (RFC 8985 §5.2): a retransmission of part of a record splits it, takes a
    /// new send time and clears the loss mark; pipe (RFC 6675 §4) leaves out what is marked lost.
    func testSentSegmentsSplitOnPartialRetransmission() {
        var sent = TCPSentSegments()
        let t0 = Instant(nanoseconds: 0)
        let t1 = Instant(nanoseconds: 1_000_000)
        sent.record(start: SequenceNumber(100), end: SequenceNumber(200), now: t0)
        sent.record(start: SequenceNumber(200), end: SequenceNumber(300), now: t0)
        sent.markLost(at: 1)
        XCTAssertEqual(sent.pipe(below: SequenceNumber(300)), 100)
        sent.record(start: SequenceNumber(200), end: SequenceNumber(250), now: t1)
        XCTAssertEqual(sent.segments.map { $0.start.rawValue }, [100, 200, 250])
        XCTAssertEqual(sent.segments.map { $0.lost }, [false, false, true])
        XCTAssertEqual(sent.segments.map { $0.retransmitted }, [false, true, false])
        XCTAssertEqual(sent.segments[1].sentAt, t1)
        XCTAssertEqual(sent.pipe(below: SequenceNumber(300)), 150)
        var delivered: [UInt32] = []
        sent.acknowledge(through: SequenceNumber(220)) { delivered.append($0.start.rawValue) }
        XCTAssertEqual(delivered, [100])
        XCTAssertEqual(sent.segments.first?.start.rawValue, 220)
    }

    /// Segment 1 is lost, and so is its fast retransmission. Segment 11, sent after that
    /// retransmission, is SACKed one RTT later: RACK (RFC 8985 §6.2) marks the retransmission lost
    /// and NextSeg rule 1 sends it again, long before the RTO.
    func testRFC6675LostRetransmissionRecoveredWithoutRTO() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        XCTAssertEqual(connection.write(pattern(30 * Int(S))), 30 * Int(S))
        var sent = peer.take()
        XCTAssertEqual(sent.count, 10)
        // One RTT later, segments 2, 3, 4 are SACKed: three duplicates, fast retransmit of 1.
        peer.now = peer.now + .milliseconds(50)
        for k: UInt32 in 2...4 {
            sent += peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + k * S)))
        }
        XCTAssertEqual(dataSeqs(sent).filter { $0 == base }.count, 2)
        XCTAssertTrue(connection.block.inRecovery)
        // 10 ms later the rest of the window is SACKed: pipe falls and new data (11...) goes out.
        peer.now = peer.now + .milliseconds(10)
        var later: [WireSegment] = []
        for k: UInt32 in 5...10 {
            later += peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + k * S)))
        }
        XCTAssertTrue(dataSeqs(later).contains(base + 10 * S), "new data during recovery")
        XCTAssertFalse(dataSeqs(later).contains(base))
        // The retransmission of 1 was lost; segment 11 (sent after it) arrives.
        peer.now = peer.now + .milliseconds(50)
        let repair = peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + 11 * S)))
        XCTAssertEqual(dataSeqs(repair).first, base, "the lost retransmission is sent again at once")
        XCTAssertGreaterThan(peer.stack.statistics.tcpRACKLosses, 0)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 0)
        // Its ACK completes the repair.
        peer.now = peer.now + .milliseconds(50)
        peer.send(seq: 1001, ack: base + 11 * S, flags: .ack)
        XCTAssertEqual(connection.block.sndUna.rawValue, base + 11 * S)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 0)
    }

    /// The last two segments of a flight are lost: no ACK will come for them. The probe timeout
    /// (2 SRTT, RFC 8985 §7.2) fires before the RTO and resends the last segment (§7.3); its SACK
    /// lets RACK find the other loss, repaired by fast recovery.
    func testRACKDetectsTailLossWithProbe() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        XCTAssertEqual(connection.write(pattern(5 * Int(S))), 5 * Int(S))
        XCTAssertEqual(peer.take().count, 5)
        peer.now = peer.now + .milliseconds(50)
        XCTAssertTrue(peer.send(seq: 1001, ack: base + 3 * S, flags: .ack).isEmpty)
        let acked = peer.now
        let srtt = try XCTUnwrap(connection.block.rto.smoothed)
        let rtoDeadline = try XCTUnwrap(connection.block.timers.retransmit)
        let probes = peer.runTimers(for: .milliseconds(120))
        XCTAssertEqual(probes.count, 1)
        let (probeTime, probe) = try XCTUnwrap(probes.first)
        XCTAssertEqual(probe.seq, base + 4 * S, "the probe resends the last segment")
        XCTAssertEqual(probeTime - acked, srtt * 2, "PTO = 2 SRTT after the ACK")
        XCTAssertLessThan(probeTime, rtoDeadline)
        XCTAssertEqual(peer.stack.statistics.tcpTailLossProbes, 1)
        // The probe's SACK shows segment 4 missing: repaired without waiting for the RTO.
        peer.now = peer.now + .milliseconds(30)
        let repair = peer.send(seq: 1001, ack: base + 3 * S, flags: .ack, options: sack((base + 4 * S, base + 5 * S)))
        XCTAssertEqual(dataSeqs(repair), [base + 3 * S])
        peer.now = peer.now + .milliseconds(50)
        peer.send(seq: 1001, ack: base + 5 * S, flags: .ack)
        XCTAssertEqual(connection.unacknowledgedBytes, 0)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 0)
    }

    /// Segments 1 and 6 of six are lost and nothing new waits to be sent. NextSeg rules 1-3 have
    /// nothing more once 1 is resent, so rule 4 (RFC 6675 §4) resends the highest unSACKed
    /// segment, once per recovery: the tail loss is repaired without a timeout.
    func testRescueRetransmission() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        XCTAssertEqual(connection.write(pattern(6 * Int(S))), 6 * Int(S))
        XCTAssertEqual(peer.take().count, 6)
        peer.now = peer.now + .milliseconds(50)
        var sent: [WireSegment] = []
        for k: UInt32 in 2...5 {
            sent += peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + k * S)))
        }
        XCTAssertEqual(dataSeqs(sent), [base, base + 5 * S])
        XCTAssertEqual(peer.stack.statistics.tcpRescueRetransmits, 1)
        // Once per recovery: more duplicates bring no second rescue.
        let more = peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + 5 * S)))
        XCTAssertTrue(dataSeqs(more).isEmpty)
        peer.now = peer.now + .milliseconds(50)
        peer.send(seq: 1001, ack: base + 6 * S, flags: .ack)
        XCTAssertEqual(connection.unacknowledgedBytes, 0)
        XCTAssertFalse(connection.block.inRecovery)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 0)
    }

    /// A fast retransmission the receiver reports as a duplicate (DSACK, RFC 2883 §4: a block below
    /// the cumulative ACK) was spurious: the window reduction is undone (RFC 3708 §3), and the
    /// reordering window widens (RFC 8985 §6.2 step 4).
    func testDSACKUndoesSpuriousRecovery() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        let before = connection.congestionWindow
        XCTAssertEqual(connection.write(pattern(6 * Int(S))), 6 * Int(S))
        XCTAssertEqual(peer.take().count, 6)
        peer.now = peer.now + .milliseconds(50)
        var sent: [WireSegment] = []
        for k: UInt32 in 2...4 {
            sent += peer.send(seq: 1001, ack: base, flags: .ack, options: sack((base + S, base + k * S)))
        }
        XCTAssertEqual(dataSeqs(sent), [base])
        XCTAssertLessThan(connection.congestionWindow, before)
        // Segment 1 was only late: the ACK of everything reports the retransmission as a duplicate.
        peer.now = peer.now + .milliseconds(50)
        peer.send(seq: 1001, ack: base + 6 * S, flags: .ack, options: sack((base, base + S)))
        XCTAssertFalse(connection.block.inRecovery)
        XCTAssertEqual(peer.stack.statistics.tcpSpuriousRecoveriesUndone, 1)
        XCTAssertGreaterThanOrEqual(connection.congestionWindow, before)
        XCTAssertEqual(connection.block.rack.reorderingWindowMultiplier, 2)
    }

    /// RFC 2883 §4: a segment received twice is reported in the first SACK block of the ACK it
    /// draws, once; the peer uses it to undo a spurious recovery.
    func testDSACKReportsDuplicateSegmentOnce() throws {
        let (peer, connection, base) = try established()
        let first = peer.send(seq: 1001, ack: base, flags: .ack, payload: pattern(100))
        XCTAssertTrue(first.isEmpty, "one segment: the ACK is delayed")
        let again = peer.send(seq: 1001, ack: base, flags: .ack, payload: pattern(100))
        XCTAssertEqual(again.first?.ack, 1101)
        XCTAssertEqual(again.first?.sackBlocks, [TCPSACKBlock(left: 1001, right: 1101)])
        // Partly new: the old part is the duplicate.
        let overlap = peer.send(seq: 1051, ack: base, flags: .ack, payload: pattern(100))
        XCTAssertEqual(overlap.first?.ack, 1151)
        XCTAssertEqual(overlap.first?.sackBlocks, [TCPSACKBlock(left: 1051, right: 1101)])
        let next = peer.send(seq: 1151, ack: base, flags: .ack, payload: pattern(100))
        XCTAssertTrue(next.allSatisfy { $0.sackBlocks.isEmpty })
        withExtendedLifetime(connection) {}
    }

    /// Segment 2 arrives after segment 3 but within the reordering window (RFC 8985 §6.2 step 4,
    /// min_RTT / 4): it is not retransmitted, and the reordering is noted.
    func testReorderingWithinWindowIsNotLoss() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        XCTAssertEqual(connection.write(pattern(4 * Int(S))), 4 * Int(S))
        XCTAssertEqual(peer.take().count, 4)
        peer.now = peer.now + .milliseconds(50)
        XCTAssertTrue(peer.send(seq: 1001, ack: base + S, flags: .ack).isEmpty)
        // Segment 3 overtook segment 2.
        XCTAssertTrue(peer.send(seq: 1001, ack: base + S, flags: .ack, options: sack((base + 2 * S, base + 3 * S))).isEmpty)
        XCTAssertNotNil(connection.block.timers.reorder)
        // 5 ms later (the window is 12.5 ms) segment 2 arrives.
        peer.now = peer.now + .milliseconds(5)
        XCTAssertTrue(dataSeqs(peer.send(seq: 1001, ack: base + 3 * S, flags: .ack)).isEmpty)
        XCTAssertTrue(connection.block.rack.reorderingSeen)
        // Nothing is resent as the timers run on, before segment 4's ACK.
        XCTAssertTrue(dataSeqs(peer.runTimers(for: .milliseconds(40)).map { $0.1 }).isEmpty)
        peer.send(seq: 1001, ack: base + 4 * S, flags: .ack)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmittedSegments, 0)
        XCTAssertEqual(peer.stack.statistics.tcpFastRetransmits, 0)
        XCTAssertEqual(peer.stack.statistics.tcpRACKLosses, 0)
    }

    /// With reordering seen, three duplicate ACKs alone are not a loss (RFC 8985 §6.2: RACK's
    /// time window replaces DupThresh); the loss is declared once RTT + window has passed.
    func testReorderingSeenReplacesDupThreshWithTimeWindow() throws {
        let (peer, connection, base) = try established()
        let S = Self.S
        connection.block.rack.reorderingSeen = true
        XCTAssertEqual(connection.write(pattern(6 * Int(S))), 6 * Int(S))
        XCTAssertEqual(peer.take().count, 6)
        peer.now = peer.now + .milliseconds(40)
        XCTAssertTrue(peer.send(seq: 1001, ack: base + S, flags: .ack).isEmpty)
        var sent: [WireSegment] = []
        for k: UInt32 in 3...5 {
            sent += peer.send(seq: 1001, ack: base + S, flags: .ack, options: sack((base + 2 * S, base + k * S)))
        }
        XCTAssertTrue(dataSeqs(sent).isEmpty, "three duplicates under known reordering wait")
        // min_RTT / 4 = 10 ms later the reordering timer declares segment 2 lost.
        let timed = peer.runTimers(for: .milliseconds(15))
        XCTAssertEqual(dataSeqs(timed.map { $0.1 }).first, base + S)
        XCTAssertEqual(peer.stack.statistics.tcpRetransmitTimeouts, 0)
    }

    /// RFC 7323 §5.3 R1 drops a segment whose TSval is older than TS.Recent. One tick older is
    /// taken (the segment was only overtaken, Linux's TCP_PAWS_WINDOW), and so is an older pure
    /// ACK that changes nothing but the SACK scoreboard (Linux's tcp_disordered_ack); TS.Recent
    /// never moves back. Data more than a tick old, or an old ACK that would move the window,
    /// is still dropped and answered with an ACK.
    func testPAWSAcceptsReorderedAckFromSameTick() throws {
        let (peer, connection, base) = try established(options: TCPPeerHarness.linuxSYNOptions())
        let S = UInt32(connection.block.options.segmentSize)
        XCTAssertEqual(connection.write(pattern(4 * Int(S))), 4 * Int(S))
        XCTAssertEqual(peer.take().count, 4)
        func ts(_ value: UInt32) -> [TCPOption] { [.noOperation, .noOperation, .timestamps(value: value, echoReply: 0)] }
        peer.send(seq: 1001, ack: base + S, flags: .ack, options: ts(1005))
        XCTAssertEqual(connection.block.tsRecent, 1005)
        // The ACK sent one tick earlier, SACKing segment 3, arrives second.
        peer.send(seq: 1001, ack: base + S, flags: .ack, options: ts(1004) + sack((base + 2 * S, base + 3 * S)))
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 0)
        XCTAssertEqual(peer.stack.statistics.tcpPAWSReorderedAccepted, 1)
        XCTAssertTrue(connection.block.scoreboard.isSacked(SequenceNumber(base + 2 * S)))
        XCTAssertEqual(connection.block.tsRecent, 1005)
        // Data one tick old is taken too.
        peer.send(seq: 1001, ack: base + S, flags: .ack, options: ts(1004), payload: [1, 2, 3])
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 0)
        XCTAssertEqual(connection.block.rcvNxt.rawValue, 1004)
        // A pure ACK several ticks old (within an RTO) that changes nothing is taken.
        peer.send(seq: 1004, ack: base + S, flags: .ack, options: ts(1001) + sack((base + 2 * S, base + 4 * S)))
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 0)
        XCTAssertTrue(connection.block.scoreboard.isSacked(SequenceNumber(base + 3 * S)))
        // Data several ticks old is not acceptable (R1): dropped, answered with an ACK.
        let answer = peer.send(seq: 1004, ack: base + S, flags: .ack, options: ts(1001), payload: [4, 5, 6])
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 1)
        XCTAssertEqual(answer.first?.ack, 1004)
        // Nor is an old ACK that would change the window.
        peer.send(seq: 1004, ack: base + S, flags: .ack, window: 100, options: ts(1001))
        XCTAssertEqual(peer.stack.statistics.tcpPAWSDrops, 2)
        XCTAssertEqual(connection.block.tsRecent, 1005)
    }
}
