import SkiffPlatform

// Per-segment send records for SACK-based loss recovery: RACK-TLP (RFC 8985) decides which
// segments are lost from their send times, RFC 6675 decides what to send next (NextSeg) and how
// much is in flight (pipe); the congestion controller (TCPCongestion.swift) decides how much may
// be in flight. Used only when the peer SACKs; without SACK the connection keeps NewReno's
// duplicate-ACK rules (RFC 6582).

/// One transmitted segment between SND.UNA and SND.MAX.
struct TCPSentSegment {
    var start: SequenceNumber
    var end: SequenceNumber
    /// The last (re)transmission (RFC 8985 §5.2 "Segment.xmit_ts").
    var sentAt: Instant
    /// Sent more than once: an ACK of it is an ambiguous RTT sample (RFC 6298 §3, Karn).
    var retransmitted = false
    /// Wholly covered by the SACK scoreboard.
    var sacked = false
    /// Marked lost (by RACK or RFC 6675 IsLost) and not retransmitted since.
    var lost = false
    /// The connection's delivery state at the last (re)transmission (TCPDeliveryRate.swift).
    var delivery = TCPDeliverySnapshot()
    /// Already counted as delivered by the rate estimator (when first SACKed): a timeout forgets
    /// the SACK marks, but the bytes must not be counted twice when the cumulative ACK covers them.
    var deliveryCounted = false

    var length: Int { end - start }
}

/// The segments in flight, in sequence order, with no gaps between SND.UNA and SND.MAX except
/// what was never recorded (SYN, keepalives and window probes are not).
struct TCPSentSegments {
    private(set) var segments: [TCPSentSegment] = []
    /// Bounded: past this many records a new transmission is merged into the last one (coarser
    /// loss detection, never an unbounded list from tiny segments).
    let limit: Int

    init(limit: Int = 1024) {
        self.limit = limit
    }

    var isEmpty: Bool { segments.isEmpty }
    var count: Int { segments.count }

    /// Records a (re)transmission of [start, end) at `now`.
    mutating func record(start: SequenceNumber, end: SequenceNumber, now: Instant,
                         delivery: TCPDeliverySnapshot = TCPDeliverySnapshot()) {
        guard start < end else { return }
        if let last = segments.last, start < last.end {
            split(at: start)
            split(at: end)
            // Bounded by the record count.
            for i in segments.indices where segments[i].start >= start && segments[i].end <= end {
                segments[i].sentAt = now
                segments[i].retransmitted = true
                segments[i].lost = false
                segments[i].delivery = delivery
            }
            guard end > last.end else { return }
            append(TCPSentSegment(start: last.end, end: end, sentAt: now, delivery: delivery))
        } else {
            append(TCPSentSegment(start: start, end: end, sentAt: now, delivery: delivery))
        }
    }

    private mutating func append(_ segment: TCPSentSegment) {
        if segments.count >= limit, let last = segments.last, last.end == segment.start {
            segments[segments.count - 1].end = segment.end
            segments[segments.count - 1].sentAt = segment.sentAt
            return
        }
        segments.append(segment)
    }

    /// Splits the record containing `seq` (strictly inside it) in two.
    private mutating func split(at seq: SequenceNumber) {
        guard let i = segments.firstIndex(where: { $0.start < seq && seq < $0.end }) else { return }
        var upper = segments[i]
        upper.start = seq
        segments[i].end = seq
        segments.insert(upper, at: i + 1)
    }

    /// Forgets what the cumulative ACK covers; `delivered` sees each record that had not been
    /// SACKed before (RFC 8985 §6.2 step 1: newly acknowledged).
    mutating func acknowledge(through una: SequenceNumber, delivered: (TCPSentSegment) -> Void) {
        var drop = 0
        for segment in segments {
            guard segment.start < una else { break }
            if segment.end <= una {
                if !segment.sacked { delivered(segment) }
                drop += 1
            } else {
                break
            }
        }
        if drop > 0 { segments.removeFirst(drop) }
        if let first = segments.first, first.start < una { segments[0].start = una }
    }

    /// Marks the records the scoreboard covers; `delivered` sees each newly SACKed one.
    mutating func markSacked(_ scoreboard: TCPSACKScoreboard, delivered: (TCPSentSegment) -> Void) {
        guard !scoreboard.isEmpty else { return }
        var r = 0
        let ranges = scoreboard.ranges
        for i in segments.indices where !segments[i].sacked {
            let segment = segments[i]
            while r < ranges.count && ranges[r].end < segment.end { r += 1 }
            guard r < ranges.count else { break }
            if ranges[r].start <= segment.start && segment.end <= ranges[r].end {
                segments[i].sacked = true
                segments[i].lost = false
                delivered(segments[i])
                segments[i].deliveryCounted = true
            }
        }
    }

    /// After a retransmission timeout the scoreboard is forgotten (RFC 2018 §8) and so are the
    /// loss marks: the go-back-N retransmission resends everything from SND.UNA.
    mutating func clearSACKAndLoss() {
        for i in segments.indices {
            segments[i].sacked = false
            segments[i].lost = false
        }
    }

    mutating func removeAll() { segments = [] }

    /// Marks a record lost; returns its length.
    @discardableResult
    mutating func markLost(at index: Int) -> Int {
        segments[index].lost = true
        return segments[index].length
    }

    /// RFC 6675 §4 SetPipe with IsLost replaced by the loss marks: every record not SACKed and
    /// not waiting for retransmission as lost counts once (a retransmission replaces its original).
    func pipe(below limit: SequenceNumber) -> Int {
        var pipe = 0
        for segment in segments {
            guard segment.start < limit else { break }
            if segment.sacked || segment.lost { continue }
            pipe += SequenceNumber.min(segment.end, limit) - segment.start
        }
        return pipe
    }

    /// The number of SACKed records (RFC 8985 "RACK.segs_sacked").
    var sackedCount: Int { segments.reduce(0) { $0 + ($1.sacked ? 1 : 0) } }
}

/// RACK-TLP state (RFC 8985 §6.1, §7.1).
struct TCPRACKState {
    /// "RACK.xmit_ts" and "RACK.end_seq": the most recently sent segment known delivered.
    var transmitTime: Instant? = nil
    var endSequence = SequenceNumber(0)
    /// "RACK.rtt": the RTT of that segment.
    var rtt = Interval.zero
    /// "RACK.min_RTT".
    var minimumRTT: Interval? = nil
    /// "RACK.fack": the highest end of a delivered segment.
    var forwardAck: SequenceNumber? = nil
    /// "RACK.reord": reordering has been seen on this connection.
    var reorderingSeen = false
    /// "TLP.end_seq": SND.NXT when the outstanding probe was sent; nil when none is.
    var probeEnd: SequenceNumber? = nil
    /// "TLP.is_retrans".
    var probeWasRetransmission = false
    /// The probe's retransmission was reported duplicate by DSACK: it repaired no loss.
    var probeDuplicated = false
    /// RFC 6675 §4 NextSeg rule 4 "RescueRxt".
    var rescueRetransmitted: SequenceNumber? = nil
    /// §6.2 step 4: "RACK.reo_wnd_mult", "RACK.reo_wnd_persist" and "RACK.dsack_round".
    var reorderingWindowMultiplier = 1
    var reorderingWindowPersist = 0
    var dsackRound: SequenceNumber? = nil

    /// RFC 8985 §6.2 step 2: takes a newly delivered segment. `ambiguous` is true for a
    /// retransmitted segment whose ACK may be for the original.
    mutating func update(delivered segment: TCPSentSegment, now: Instant, ambiguous: Bool) {
        if forwardAck.map({ segment.end > $0 }) ?? true {
            forwardAck = segment.end
        } else if !segment.retransmitted {
            // Step 3: delivered below the highest delivered, never retransmitted: reordered.
            reorderingSeen = true
        }
        guard !ambiguous else { return }
        let sample = now - segment.sentAt
        if minimumRTT.map({ sample < $0 }) ?? true { minimumRTT = sample }
        if let current = transmitTime,
           !(segment.sentAt > current || (segment.sentAt == current && segment.end > endSequence)) {
            return
        }
        transmitTime = segment.sentAt
        endSequence = segment.end
        rtt = sample
    }

    /// RFC 8985 §6.2 step 4: the reordering window.
    func reorderingWindow(inRecovery: Bool, sackedSegments: Int, smoothedRTT: Interval?) -> Interval {
        if !reorderingSeen && (inRecovery || sackedSegments >= TCPRACKState.duplicateThreshold) {
            return .zero
        }
        guard let minimumRTT else { return .zero }
        let window = Interval(nanoseconds: minimumRTT.nanoseconds / 4 * Int64(reorderingWindowMultiplier))
        if let smoothedRTT, smoothedRTT < window { return smoothedRTT }
        return window
    }

    /// §6.2 step 4: a DSACK (a segment arrived twice: the retransmission was spurious) widens the
    /// reordering window by min_RTT / 4, at most once per round trip; 16 recoveries without one
    /// narrow it again.
    mutating func updateReorderingWindow(dsack: Bool, unacknowledged: SequenceNumber, sendNext: SequenceNumber) {
        if let round = dsackRound, unacknowledged >= round { dsackRound = nil }
        if dsackRound == nil && dsack {
            dsackRound = sendNext
            reorderingWindowMultiplier += 1
            reorderingWindowPersist = 16
        }
    }

    /// §6.2 step 4, on leaving fast or RTO recovery.
    mutating func recoveryEnded() {
        reorderingWindowPersist -= 1
        if reorderingWindowPersist <= 0 { reorderingWindowMultiplier = 1 }
    }

    /// RFC 6675 §2 DupThresh.
    static let duplicateThreshold = 3
    /// RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK timer.
    static let worstCaseDelayedAck = Interval.milliseconds(200)
}

/// What a congestion response changed, kept until every retransmission it caused is reported
/// duplicate by DSACK (RFC 3708 §3, RFC 2883 §4): then the reduction was spurious (reordering, not
/// loss) and is undone.
struct TCPRecoveryUndo {
    var cwnd: Int
    var ssthresh: Int
    var retransmissions = 0
    var duplicates = 0
}
