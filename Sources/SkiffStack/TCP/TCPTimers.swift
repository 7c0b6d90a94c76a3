import SkiffPlatform

// The retransmission timeout (RFC 6298) and the connection's other timers: delayed ACK
// (RFC 9293 §3.8.6.3, RFC 5681 §4.2), persist / zero-window probe (RFC 9293 §3.8.6.1),
// keepalive (RFC 9293 §3.8.4), TIME-WAIT (2 MSL, RFC 9293 §3.4.2) and the FIN-WAIT-2 limit.

/// RFC 6298 §2: SRTT, RTTVAR and RTO, with exponential backoff (§5.5) and Karn's rule (§3: the
/// caller takes no sample from a retransmitted segment unless timestamps make it unambiguous).
struct TCPRetransmissionTimeout {
    let minimum: Interval
    let maximum: Interval
    private(set) var smoothed: Interval? = nil
    private(set) var variance = Interval.zero
    /// The RTO before backoff.
    private(set) var base: Interval
    /// Doublings since the last sample or acknowledgment of new data.
    private(set) var backoff = 0

    /// The clock granularity G of RFC 6298 §2 (the stack's timestamp clock ticks in ms).
    static let granularity = Interval.milliseconds(1)

    init(initial: Interval, minimum: Interval, maximum: Interval) {
        self.minimum = minimum
        self.maximum = maximum
        base = initial
    }

    /// The timeout to arm now: the base doubled `backoff` times, at most `maximum` (§5.5).
    var current: Interval {
        var value = base
        var doublings = backoff
        while doublings > 0 && value < maximum {
            value = value * 2
            doublings -= 1
        }
        return value < maximum ? value : maximum
    }

    mutating func addSample(_ rtt: Interval) {
        let r = rtt.nanoseconds < 0 ? Interval.zero : rtt
        if let srtt = smoothed {
            // §2.3: beta = 1/4, alpha = 1/8.
            let delta = abs(srtt.nanoseconds - r.nanoseconds)
            variance = Interval(nanoseconds: (3 * variance.nanoseconds + delta) / 4)
            smoothed = Interval(nanoseconds: (7 * srtt.nanoseconds + r.nanoseconds) / 8)
        } else {
            // §2.2.
            smoothed = r
            variance = Interval(nanoseconds: r.nanoseconds / 2)
        }
        let k = Interval(nanoseconds: max(TCPRetransmissionTimeout.granularity.nanoseconds, 4 * variance.nanoseconds))
        var rto = smoothed! + k
        // §2.4: at least the minimum (1 s in the RFC); §2.5: a maximum of at least 60 s.
        if rto < minimum { rto = minimum }
        if maximum < rto { rto = maximum }
        base = rto
        backoff = 0
    }

    /// §5.5: the timer expired.
    mutating func backOff() { backoff += 1 }

    /// New data was acknowledged: the backed-off value is kept until a sample arrives (§5.7 allows
    /// either); resetting here makes recovery after a long outage quicker, as Linux does.
    mutating func resetBackoff() { backoff = 0 }
}

/// A connection's deadlines; nil when a timer is not running.
struct TCPTimerSet {
    var retransmit: Instant? = nil
    /// RFC 8985 §6.3: the reordering timer, after which a segment not yet deemed lost is.
    var reorder: Instant? = nil
    /// RFC 8985 §7.2: the probe timeout (PTO) of the tail loss probe.
    var probe: Instant? = nil
    var delayedAck: Instant? = nil
    /// Pacing (BBR): when the next data segment may leave.
    var pacing: Instant? = nil
    var persist: Instant? = nil
    var keepAlive: Instant? = nil
    var timeWait: Instant? = nil
    var finWait2: Instant? = nil

    var earliest: Instant? {
        var best = retransmit
        @inline(__always) func consider(_ candidate: Instant?) {
            guard let candidate else { return }
            if let current = best, current <= candidate { return }
            best = candidate
        }
        consider(reorder)
        consider(probe)
        consider(delayedAck)
        consider(pacing)
        consider(persist)
        consider(keepAlive)
        consider(timeWait)
        consider(finWait2)
        return best
    }

    mutating func stopAll() { self = TCPTimerSet() }
}
