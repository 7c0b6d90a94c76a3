import SkiffPlatform

// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02): every transmission
// records how much the connection had delivered, and when, at the moment it was sent; when an
// ACK (cumulative or SACK) delivers it, the bytes delivered in between over the longer of the
// send and the ACK intervals is a sample of the bottleneck rate. BBR (TCPBBR.swift) is built on
// these samples. Kept only where the send records are, i.e. when the peer SACKs.

/// What the connection had delivered when a segment was (re)sent (the draft's per-packet state).
struct TCPDeliverySnapshot: Equatable {
    /// "P.delivered": bytes delivered before this transmission.
    var delivered = 0
    /// "P.delivered_time".
    var deliveredTime = Instant.zero
    /// "P.first_sent_time": the send time of the first segment of the current flight.
    var firstSentTime = Instant.zero
    /// "P.is_app_limited".
    var appLimited = false
}

/// One ACK's rate sample (the draft's "rs").
struct TCPRateSample {
    /// Bytes per second; valid only when `isValid`.
    var deliveryRate = 0.0
    /// Bytes delivered over `interval`.
    var delivered = 0
    var interval = Interval.zero
    /// "rs.prior_delivered": the newest delivered segment's snapshot.
    var priorDelivered = 0
    var isAppLimited = false
    /// The round-trip time of the newest delivered segment that was not retransmitted; nil if none.
    var rtt: Interval? = nil
    /// Bytes newly marked lost while this ACK was processed.
    var lost = 0
    /// Bytes this ACK newly delivered (cumulatively or by SACK).
    var newlyDelivered = 0
    var isValid = false
}

/// The connection's side of the estimator (the draft's "C.*").
struct TCPDeliveryRate {
    /// "C.delivered": bytes delivered so far.
    private(set) var delivered = 0
    /// "C.delivered_time".
    private(set) var deliveredTime = Instant.zero
    /// "C.first_sent_time".
    private var firstSentTime = Instant.zero
    /// "C.app_limited": the `delivered` count at which the application-limited phase ends; 0
    /// when the sender is not application-limited.
    private(set) var appLimitedUntil = 0
    /// The sample being assembled for the current ACK.
    private var sample = TCPRateSample()
    private var sampleHasData = false
    private var priorTime: Instant? = nil
    private var sendElapsed = Interval.zero
    private var ackElapsed = Interval.zero
    private var newestSendTime: Instant? = nil

    /// A segment is about to be sent with `inFlight` bytes outstanding; returns its snapshot.
    mutating func onSend(inFlight: Int, now: Instant) -> TCPDeliverySnapshot {
        if inFlight == 0 {
            firstSentTime = now
            deliveredTime = now
        }
        return TCPDeliverySnapshot(delivered: delivered, deliveredTime: deliveredTime,
                                   firstSentTime: firstSentTime, appLimited: appLimitedUntil != 0)
    }

    /// The application has nothing more to send while the window has room: samples taken until
    /// what is in flight now is delivered are marked application-limited.
    mutating func markApplicationLimited(inFlight: Int) {
        appLimitedUntil = max(delivered + inFlight, 1)
    }

    /// "UpdateRateSample": `segment` was delivered (first time: cumulatively or by SACK) at `now`.
    /// `ambiguous`: it was retransmitted and the ACK may be for an earlier copy (RACK's test); its
    /// snapshot, taken at the retransmission, then says nothing about this delivery, and taking it
    /// would start a new round at every spurious retransmission, emptying BBR's bandwidth filter.
    mutating func onDelivered(_ segment: TCPSentSegment, now: Instant, ambiguous: Bool = false) {
        guard !segment.deliveryCounted else { return }
        let length = segment.length
        delivered += length
        deliveredTime = now
        sample.newlyDelivered += length
        let snapshot = segment.delivery
        // The newest segment delivered by this ACK (by send time, then by its snapshot) sets the
        // sample's start; a retransmission's snapshot is that of the retransmission.
        let isNewest = !ambiguous && (!sampleHasData || snapshot.delivered > sample.priorDelivered
            || (snapshot.delivered == sample.priorDelivered && (newestSendTime.map { segment.sentAt >= $0 } ?? true)))
        if isNewest {
            sampleHasData = true
            sample.priorDelivered = snapshot.delivered
            priorTime = snapshot.deliveredTime
            sample.isAppLimited = snapshot.appLimited
            sendElapsed = segment.sentAt - snapshot.firstSentTime
            ackElapsed = now - snapshot.deliveredTime
            firstSentTime = segment.sentAt
            newestSendTime = segment.sentAt
        }
        if !segment.retransmitted {
            let rtt = now - segment.sentAt
            if sample.rtt.map({ rtt < $0 }) ?? true { sample.rtt = rtt }
        }
    }

    /// Bytes newly marked lost during this ACK.
    mutating func onLost(_ bytes: Int) { sample.lost += bytes }

    /// "GenerateRateSample": closes the ACK's sample (valid only when it spans at least
    /// `minimumRTT`, so that ACK compression cannot inflate it) and starts the next one.
    mutating func takeSample(minimumRTT: Interval?) -> TCPRateSample {
        if appLimitedUntil != 0 && delivered > appLimitedUntil { appLimitedUntil = 0 }
        var result = sample
        sample = TCPRateSample()
        defer {
            sampleHasData = false
            priorTime = nil
            newestSendTime = nil
        }
        guard sampleHasData, priorTime != nil else { return result }
        let interval = sendElapsed < ackElapsed ? ackElapsed : sendElapsed
        result.delivered = delivered - result.priorDelivered
        result.interval = interval
        if let minimumRTT, interval < minimumRTT { return result }
        guard interval > .zero else { return result }
        result.deliveryRate = Double(result.delivered) * 1e9 / Double(interval.nanoseconds)
        result.isValid = true
        return result
    }
}
