import SkiffPlatform

// Congestion control: slow start and congestion avoidance (RFC 5681), with either NewReno's
// additive increase (RFC 5681 §3.1, RFC 6582 for recovery) or CUBIC's window growth (RFC 9438),
// chosen per connection. Fast retransmit and fast recovery live in the connection
// (TCPControlBlock+Output); this type owns cwnd and ssthresh and how they move.

/// The congestion control algorithm of a connection.
public enum TCPCongestionAlgorithm: Equatable, Sendable {
    /// RFC 5681 / RFC 6582.
    case newReno
    /// RFC 9438 (the default, as in Linux).
    case cubic
    /// BBR v1 (TCPBBR.swift): model-based, paced, not driven by loss. Needs SACK (the delivery
    /// rate comes from the send records); a connection whose peer does not SACK uses CUBIC.
    case bbr
}

struct TCPCongestionControl {
    var algorithm: TCPCongestionAlgorithm
    /// Bytes.
    var cwnd: Int
    var ssthresh: Int
    /// SMSS in bytes.
    var segmentSize: Int
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1, byte counting).
    private var bytesAcked = 0

    // CUBIC state (RFC 9438 §4), in segments and seconds.
    static let beta = 0.7
    static let c = 0.4
    private var wMax = 0.0
    private var k = 0.0
    private var epochStart: Instant? = nil
    private var cwndEpoch = 0.0
    private var wEst = 0.0
    private var fraction = 0.0

    init(algorithm: TCPCongestionAlgorithm, segmentSize: Int, initialWindowSegments: Int) {
        self.algorithm = algorithm
        self.segmentSize = segmentSize
        // RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)) for 10 segments; fewer when asked.
        let segments = max(1, initialWindowSegments)
        cwnd = min(segments * segmentSize, max(2 * segmentSize, 14600))
        if segments <= 4 { cwnd = segments * segmentSize }
        // RFC 5681 §3.1: arbitrarily high initially.
        ssthresh = Int(Int32.max)
    }

    var inSlowStart: Bool { cwnd < ssthresh }

    /// New data was acknowledged outside loss recovery.
    mutating func onAck(acked: Int, now: Instant, smoothedRTT: Interval?) {
        guard acked > 0, algorithm != .bbr else { return }
        if inSlowStart {
            // RFC 5681 §3.1 (RFC 3465 with L = 1 SMSS).
            cwnd += min(acked, segmentSize)
            return
        }
        switch algorithm {
        case .newReno:
            bytesAcked += acked
            if bytesAcked >= cwnd {
                bytesAcked -= cwnd
                cwnd += segmentSize
            }
        case .cubic:
            cubicAvoidance(acked: acked, now: now, rtt: smoothedRTT)
        case .bbr:
            break
        }
    }

    /// RFC 9438 §4.2–4.4.
    private mutating func cubicAvoidance(acked: Int, now: Instant, rtt: Interval?) {
        let mss = Double(segmentSize)
        let current = Double(cwnd) / mss
        if epochStart == nil {
            epochStart = now
            cwndEpoch = current
            if wMax < current {
                // No loss seen yet (or the window already passed W_max): grow from here.
                wMax = current
                k = 0
            } else {
                k = TCPCongestionControl.cubeRoot((wMax - cwndEpoch) / TCPCongestionControl.c)
            }
            wEst = current
        }
        let t = Double((now - epochStart!).nanoseconds) / 1e9
        let rttSeconds = Double((rtt ?? .milliseconds(100)).nanoseconds) / 1e9
        let ackedSegments = Double(acked) / mss
        // §4.3: the Reno-friendly estimate, alpha = 3(1 - beta)/(1 + beta).
        let alpha = 3.0 * (1.0 - TCPCongestionControl.beta) / (1.0 + TCPCongestionControl.beta)
        wEst += alpha * ackedSegments / max(current, 1)
        let cubicNow = TCPCongestionControl.c * (t - k) * (t - k) * (t - k) + wMax
        var increase: Double
        if cubicNow < wEst {
            increase = wEst - current
        } else {
            // §4.4: the target one RTT ahead, within [cwnd, 1.5 cwnd].
            let ahead = t + rttSeconds
            var target = TCPCongestionControl.c * (ahead - k) * (ahead - k) * (ahead - k) + wMax
            target = min(max(target, current), 1.5 * current)
            increase = (target - current) / max(current, 1) * ackedSegments
        }
        if increase < 0 { increase = 0 }
        fraction += increase * mss
        let whole = Int(fraction)
        if whole > 0 {
            cwnd += whole
            fraction -= Double(whole)
        }
    }

    /// A loss detected by duplicate ACKs: sets ssthresh (RFC 5681 §3.2 step 2 / RFC 9438 §4.6).
    /// The caller sets cwnd for fast recovery.
    mutating func onCongestionEvent(flightSize: Int, now: Instant) {
        bytesAcked = 0
        switch algorithm {
        case .newReno:
            ssthresh = max(flightSize / 2, 2 * segmentSize)
        case .cubic:
            let current = Double(cwnd) / Double(segmentSize)
            // §4.7 fast convergence.
            if current < wMax {
                wMax = current * (1.0 + TCPCongestionControl.beta) / 2.0
            } else {
                wMax = current
            }
            epochStart = nil
            let reduced = Int(Double(cwnd) * TCPCongestionControl.beta)
            ssthresh = max(reduced, 2 * segmentSize)
        case .bbr:
            break
        }
    }

    /// Fast recovery ended (RFC 6582 §3.2 step 3, option 1).
    mutating func onRecoveryExit(flightSize: Int) {
        guard algorithm != .bbr else { return }
        cwnd = min(ssthresh, max(flightSize, segmentSize) + segmentSize)
        epochStart = nil
    }

    /// The retransmission timer expired: RFC 5681 §3.1 eqn. 4, loss window of one segment
    /// (RFC 9438 §4.8: CUBIC sets ssthresh as for any congestion event).
    mutating func onRetransmitTimeout(flightSize: Int, now: Instant, firstTimeout: Bool) {
        guard algorithm != .bbr else { return }
        if firstTimeout {
            onCongestionEvent(flightSize: flightSize, now: now)
            if algorithm == .newReno { ssthresh = max(flightSize / 2, 2 * segmentSize) }
        }
        cwnd = segmentSize
        bytesAcked = 0
        epochStart = nil
    }

    /// Newton's method; Embedded Swift has no libm `cbrt`.
    static func cubeRoot(_ x: Double) -> Double {
        guard x > 0 else { return 0 }
        var y = x > 1 ? x / 3 : 1.0
        for _ in 0..<60 {
            let next = y - (y * y * y - x) / (3 * y * y)
            if abs(next - y) < 1e-9 { return next }
            y = next
        }
        return y
    }
}
