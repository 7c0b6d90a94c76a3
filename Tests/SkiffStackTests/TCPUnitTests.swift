import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The pieces on their own: sequence arithmetic, the byte ring, out-of-order ranges, the SACK
/// scoreboard and congestion control.
final class TCPUnitTests: XCTestCase {
    func testSequenceComparisonsWrapAround() {
        let high = SequenceNumber(0xffff_fff0)
        let low = SequenceNumber(0x10)
        XCTAssertTrue(high < low)
        XCTAssertTrue(low > high)
        XCTAssertEqual(low - high, 0x20)
        XCTAssertEqual(high - low, -0x20)
        XCTAssertEqual(high + 0x20, low)
        XCTAssertTrue(SequenceNumber(5).isIn(start: high, length: 0x20))
        XCTAssertFalse(SequenceNumber(0x10).isIn(start: high, length: 0x20))
        XCTAssertEqual(SequenceNumber.max(high, low), low)
        XCTAssertFalse(SequenceNumber(7) < SequenceNumber(7))
        XCTAssertTrue(SequenceNumber(7) <= SequenceNumber(7))
    }

    func testByteRingWrapsAndKeepsOutOfOrderBytesAcrossConsume() {
        var ring = TCPByteRing(capacity: 8)
        XCTAssertEqual(([1, 2, 3, 4, 5, 6] as [UInt8]).withUnsafeBytes { ring.append($0) }, 6)
        ring.consume(5)
        // Out-of-order bytes two past the readable one, then the gap filled: they stay in place.
        ([9, 9] as [UInt8]).withUnsafeBytes { ring.write($0, at: 3) }
        ([7, 8] as [UInt8]).withUnsafeBytes { ring.write($0, at: 1) }
        ring.commit(4)
        var bytes: [UInt8] = []
        while ring.count > 0 {
            let n = ring.withFirstReadablePiece { piece -> Int in bytes.append(contentsOf: piece); return piece.count }
            ring.consume(n)
        }
        XCTAssertEqual(bytes, [6, 7, 8, 9, 9])
        XCTAssertEqual([UInt8](repeating: 1, count: 20).withUnsafeBytes { ring.append($0) }, 8)
    }

    func testReassemblyMergesAndAdvances() {
        var queue = TCPReassembly(rangeLimit: 2)
        let base = SequenceNumber(0xffff_ff00)
        XCTAssertTrue(queue.insert(base + 300, base + 400))
        XCTAssertTrue(queue.insert(base + 100, base + 200))
        XCTAssertFalse(queue.insert(base + 500, base + 600), "a third range is over the limit")
        XCTAssertTrue(queue.insert(base + 200, base + 300), "adjacent ranges merge")
        XCTAssertEqual(queue.ranges, [SequenceRange(start: base + 100, end: base + 400)])
        XCTAssertEqual(queue.advance(base + 50), base + 50)
        XCTAssertEqual(queue.advance(base + 100), base + 400)
        XCTAssertTrue(queue.isEmpty)
    }

    func testScoreboardFindsHolesAndIgnoresBogusBlocks() {
        var board = TCPSACKScoreboard()
        let una = SequenceNumber(1000)
        board.update(with: [TCPSACKBlock(left: 3000, right: 4000), TCPSACKBlock(left: 5000, right: 6000),
                            TCPSACKBlock(left: 500, right: 900), TCPSACKBlock(left: 7000, right: 9000),
                            TCPSACKBlock(left: 6500, right: 6400)],
                     unacknowledged: una, sendMax: SequenceNumber(8000))
        XCTAssertEqual(board.ranges.count, 2)
        XCTAssertEqual(board.sackedBytes, 2000)
        XCTAssertEqual(board.highestSacked, SequenceNumber(6000))
        XCTAssertEqual(board.nextHole(from: una), SequenceRange(start: una, end: SequenceNumber(3000)))
        XCTAssertEqual(board.nextHole(from: SequenceNumber(3500)), SequenceRange(start: SequenceNumber(4000), end: SequenceNumber(5000)))
        XCTAssertNil(board.nextHole(from: SequenceNumber(5000)))
        board.acknowledge(through: SequenceNumber(3500))
        XCTAssertEqual(board.sackedBytes, 1500)
    }

    func testNewRenoHalvesOnLossAndGrowsLinearly() {
        var cc = TCPCongestionControl(algorithm: .newReno, segmentSize: 1000, initialWindowSegments: 10)
        XCTAssertEqual(cc.cwnd, 10_000)
        cc.onAck(acked: 1000, now: .zero, smoothedRTT: nil)
        XCTAssertEqual(cc.cwnd, 11_000, "slow start")
        cc.onCongestionEvent(flightSize: 20_000, now: .zero)
        XCTAssertEqual(cc.ssthresh, 10_000)
        cc.cwnd = cc.ssthresh
        for _ in 0..<10 { cc.onAck(acked: 1000, now: .zero, smoothedRTT: nil) }
        XCTAssertEqual(cc.cwnd, 11_000, "one segment per window in congestion avoidance")
        cc.onRetransmitTimeout(flightSize: 8000, now: .zero, firstTimeout: true)
        XCTAssertEqual(cc.cwnd, 1000)
        XCTAssertEqual(cc.ssthresh, 4000)
    }

    func testCubicReducesByBetaAndRegrowsToWMaxAtK() {
        var cc = TCPCongestionControl(algorithm: .cubic, segmentSize: 1000, initialWindowSegments: 10)
        cc.cwnd = 100_000
        cc.ssthresh = 50_000
        cc.onCongestionEvent(flightSize: 100_000, now: .zero)
        XCTAssertEqual(cc.ssthresh, 70_000, "RFC 9438 §4.6: beta = 0.7")
        cc.cwnd = cc.ssthresh
        // K = cbrt(W_max (1 - beta) / C) = cbrt(100 * 0.3 / 0.4) = 4.217 s.
        let k = TCPCongestionControl.cubeRoot(100 * 0.3 / 0.4)
        XCTAssertEqual(k, 4.2172, accuracy: 0.001)
        var now = Instant(nanoseconds: 1_000_000_000)
        let rtt = Interval.milliseconds(100)
        var window: [Int] = []
        // One window's worth of ACKs per RTT for 8 seconds.
        for _ in 0..<80 {
            var acked = 0
            while acked < cc.cwnd { cc.onAck(acked: 1000, now: now, smoothedRTT: rtt); acked += 1000 }
            window.append(cc.cwnd)
            now = now + rtt
        }
        // Concave up to W_max near K, then convex beyond it.
        let atK = window[Int(k * 10)]
        XCTAssertEqual(Double(atK), 100_000, accuracy: 6_000)
        XCTAssertLessThan(window[20] - window[10], window[10] - window[0])
        XCTAssertGreaterThan(window[79], 110_000)
    }

    func testCongestionAlgorithmIsPerConnection() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        XCTAssertEqual(client.congestionControl, .cubic)
        client.congestionControl = .newReno
        XCTAssertEqual(client.congestionControl, .newReno)
        XCTAssertEqual(server.congestionControl, .cubic)
    }

    func testWindowScaleForBufferSizes() {
        XCTAssertEqual(TCPNegotiatedOptions.scale(for: 65535), 0)
        XCTAssertEqual(TCPNegotiatedOptions.scale(for: 65536), 1)
        XCTAssertEqual(TCPNegotiatedOptions.scale(for: 1 << 20), 5)
        XCTAssertEqual(TCPNegotiatedOptions.scale(for: 1 << 40), 14)
    }
}
