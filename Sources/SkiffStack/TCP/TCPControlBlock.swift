import SkiffPlatform
import SkiffWire

// The transmission control block (RFC 9293 §3.3.1): the state of one connection. Held by the
// stack's connection table, not by the application's `TCPConnection`, so a connection the
// application closed still finishes its close (FIN retransmissions, TIME-WAIT).
//
// Input (segment arrival) is in TCPInput.swift, output and timers in TCPOutput.swift, the send
// records and RACK-TLP state of SACK loss recovery in TCPRACK.swift.

/// Why a connection ended other than by an orderly close.
public enum TCPCloseReason: Equatable, Sendable {
    /// The peer reset the connection.
    case reset
    /// The peer refused the open (RST in SYN-SENT).
    case refused
    /// Retransmissions or keepalive probes went unanswered.
    case timedOut
    /// The application aborted it.
    case aborted
}

final class TCPControlBlock {
    let tuple: TCPFourTuple
    var state: TCPState
    /// Opened by a listener (RFC 9293: a passive OPEN); matters in SYN-RECEIVED.
    let passive: Bool

    // Send sequence space (RFC 9293 §3.3.1).
    var iss: SequenceNumber
    var sndUna: SequenceNumber
    var sndNxt: SequenceNumber
    /// The highest sequence number sent plus one; SND.NXT moves back to SND.UNA on a timeout.
    var sndMax: SequenceNumber
    var sndWnd = 0
    var maxSndWnd = 0
    var sndWl1 = SequenceNumber(0)
    var sndWl2 = SequenceNumber(0)
    /// The sequence number of the first byte in `sendBuffer`.
    var sendBase: SequenceNumber
    var sendBuffer: TCPByteRing
    /// The application shut down writing: FIN follows the data.
    var finQueued = false

    // Receive sequence space.
    var irs = SequenceNumber(0)
    var rcvNxt = SequenceNumber(0)
    /// In-order bytes not yet read, then room where out-of-order bytes wait.
    var receiveBuffer: TCPByteRing
    var reassembly: TCPReassembly
    /// The sequence number of a FIN that arrived beyond a hole.
    var pendingFin: SequenceNumber? = nil
    var finReceived = false
    /// The window (bytes, unscaled) in the last segment we sent.
    var lastAdvertisedWindow = 0
    /// RCV.NXT in the last ACK we sent (RFC 7323 Last.ACK.sent).
    var lastAckSent = SequenceNumber(0)
    var unackedSegments = 0
    /// Data that arrived a second time, reported once in the next ACK's first SACK block (D-SACK,
    /// RFC 2883 §4), so the peer can tell a spurious retransmission from a repair.
    var duplicateReport: SequenceRange? = nil
    /// An ACK must go out now (out-of-order data, FIN, window probe answer...).
    var ackNeeded = false

    // Options.
    var options = TCPNegotiatedOptions()
    var localMSS: Int
    var offerWindowScale: Bool
    var offerSACK: Bool
    var offerTimestamps: Bool
    var tsRecent: UInt32 = 0
    let tsOffset: UInt32

    // Timers and retransmission.
    var rto: TCPRetransmissionTimeout
    var timers = TCPTimerSet()
    var retransmitCount = 0
    var persistBackoff = 0
    /// The end of an outstanding zero-window probe byte, which the peer may acknowledge.
    var zeroWindowProbeEnd: SequenceNumber? = nil
    var keepAliveProbesSent = 0
    var lastReceived: Instant
    /// The segment being timed for an RTT sample without timestamps (Karn: never a retransmitted one).
    var rttTiming: (seq: SequenceNumber, sentAt: Instant)? = nil

    // Congestion control and loss recovery.
    var congestion: TCPCongestionControl
    var duplicateAcks = 0
    var inRecovery = false
    /// RFC 6582 "recover".
    var recover: SequenceNumber
    /// The end of what has been retransmitted in this recovery (RFC 6675 HighRxt).
    var highRetransmitted: SequenceNumber
    var scoreboard: TCPSACKScoreboard
    /// The segments in flight with their send times (RFC 8985 §5.2), kept when the peer SACKs.
    var sent = TCPSentSegments()
    var rack = TCPRACKState()
    /// The window before the current fast recovery's reduction, while it may prove spurious.
    var recoveryUndo: TCPRecoveryUndo? = nil
    /// Delivery rate samples (TCPDeliveryRate.swift), kept with the send records.
    var deliveryRate = TCPDeliveryRate()
    /// The BBR model when the connection uses BBR (and the peer SACKs).
    var bbr: TCPBBR? = nil
    /// Pacing (BBR): no data segment leaves before this instant; the pacing timer waits for it.
    var nextSendTime: Instant? = nil

    // Application side.
    var nagle = true
    var keepAliveEnabled = false
    /// close() was called: nothing more will be read, and data arriving is answered with RST.
    var applicationClosed = false
    var closeReason: TCPCloseReason? = nil
    /// The listener a passively opened connection reports to while in SYN-RECEIVED.
    var listener: TCPListenEndpoint?

    init(tuple: TCPFourTuple, passive: Bool, iss: SequenceNumber, localMSS: Int,
         configuration: StackConfiguration, now: Instant) {
        self.tuple = tuple
        self.passive = passive
        state = .closed
        self.iss = iss
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        sendBase = iss + 1
        recover = iss
        highRetransmitted = iss
        sendBuffer = TCPByteRing(capacity: max(1, configuration.tcpSendBufferSize))
        receiveBuffer = TCPByteRing(capacity: max(1, configuration.tcpReceiveBufferSize))
        reassembly = TCPReassembly(rangeLimit: max(1, configuration.tcpOutOfOrderRanges))
        // One record per segment a full send buffer can hold (at the smallest usual MSS, 536), so
        // that records are merged only when segments are tiny, never because the window is large.
        sent = TCPSentSegments(limit: max(1024, configuration.tcpSendBufferSize / 536))
        scoreboard = TCPSACKScoreboard(rangeLimit: max(1, configuration.tcpOutOfOrderRanges))
        self.localMSS = max(64, localMSS)
        offerWindowScale = configuration.tcpWindowScaling
        offerSACK = configuration.tcpSACK
        offerTimestamps = configuration.tcpTimestamps
        tsOffset = TCPInitialSequence.timestampOffset(for: tuple, secret: configuration.tcpSecret)
        rto = TCPRetransmissionTimeout(initial: configuration.tcpInitialRTO, minimum: configuration.tcpMinimumRTO,
                                       maximum: configuration.tcpMaximumRTO)
        congestion = TCPCongestionControl(algorithm: configuration.tcpCongestionControl, segmentSize: 536,
                                          initialWindowSegments: configuration.tcpInitialWindowSegments)
        lastReceived = now
    }

    // MARK: Derived values

    /// RCV.WND: the free room in the receive buffer (out-of-order data lives inside it).
    var receiveWindow: Int { receiveBuffer.free }

    /// The sequence number just past the data the application has written.
    var dataEnd: SequenceNumber { sendBase + sendBuffer.count }

    /// The end of the sequence space to send: the data, then FIN if queued.
    var sendEnd: SequenceNumber { dataEnd + (finQueued ? 1 : 0) }

    /// True once everything up to and including our FIN is acknowledged.
    var finAcknowledged: Bool { finQueued && sndUna == sendEnd }

    /// Our TSval clock: milliseconds plus a per-connection offset (RFC 7323 §5.4).
    func timestampValue(_ now: Instant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ tsOffset
    }

    var nextDeadline: Instant? { timers.earliest }

    /// The receive window's scale to offer: enough for the whole receive buffer.
    var offeredScale: UInt8? {
        offerWindowScale ? TCPNegotiatedOptions.scale(for: receiveBuffer.capacity) : nil
    }

    /// Starts the congestion state once the segment size is known (after the SYN exchange).
    func startCongestionControl(_ configuration: StackConfiguration) {
        let algorithm = congestion.algorithm
        congestion = TCPCongestionControl(algorithm: algorithm, segmentSize: options.segmentSize,
                                          initialWindowSegments: configuration.tcpInitialWindowSegments)
        // RFC 5681 §3.1 / RFC 6298 §5.7: after a lost SYN the initial window is one segment.
        if retransmitCount > 0 { congestion.cwnd = options.segmentSize }
        setCongestionAlgorithm(algorithm, negotiated: true)
    }

    /// Switches the algorithm; BBR needs the send records, so without SACK it falls back to CUBIC.
    /// Before the handshake (`negotiated` false, SYN states) only the choice is kept.
    func setCongestionAlgorithm(_ algorithm: TCPCongestionAlgorithm, negotiated: Bool? = nil) {
        let established = negotiated ?? (state != .closed && state != .synSent && state != .synReceived)
        if algorithm == .bbr && established && !options.sack {
            congestion.algorithm = .cubic
        } else {
            congestion.algorithm = algorithm
        }
        if congestion.algorithm == .bbr && established {
            if bbr == nil {
                bbr = TCPBBR(segmentSize: options.segmentSize, initialWindow: congestion.cwnd, seed: tsOffset)
            }
        } else {
            bbr = nil
            nextSendTime = nil
            timers.pacing = nil
        }
    }

    /// Whether pacing lets a data segment leave at `now`; if not, the pacing timer is set. A
    /// burst of up to BBR's send quantum may leave ahead of the schedule.
    func pacingAllows(now: Instant) -> Bool {
        guard let bbr, let next = nextSendTime else { return true }
        let slack = Interval(nanoseconds: Int64(Double(bbr.sendQuantum) * 1e9 / bbr.pacingRate))
        if next <= now + slack { return true }
        timers.pacing = next - slack
        return false
    }

    /// A data segment of `bytes` left at `now`: the next may leave `bytes / pacing rate` later.
    func paced(bytes: Int, now: Instant) {
        guard let bbr else { return }
        // Never bank idle time: the schedule restarts from now after a pause.
        let start = nextSendTime.map { $0 > now ? $0 : now } ?? now
        // 1% under the rate, as Linux paces, so that the queue drains when the estimate is exact.
        nextSendTime = start + Interval(nanoseconds: Int64(Double(bytes) * 1e9 / (bbr.pacingRate * 0.99)))
    }

    /// Frees what a closed connection no longer needs.
    func enterClosed() {
        state = .closed
        timers.stopAll()
        reassembly.removeAll()
        scoreboard.removeAll()
        sent.removeAll()
    }

    /// Wipes the buffers after a reset: "all segment queues should be flushed" (RFC 9293 §3.10.7.4).
    func flushBuffers() {
        receiveBuffer.consume(receiveBuffer.count)
        sendBuffer.consume(sendBuffer.count)
        sendBase = sndMax
    }
}
