import SkiffPlatform

// BBR congestion control, version 1 (draft-cardwell-iccrg-bbr-congestion-control-00, the
// algorithm Linux ships as "bbr"): a model of the path — the bottleneck bandwidth (the largest
// delivery rate over the last 10 round trips) and the round-trip propagation delay (the smallest
// RTT over the last 10 seconds) — sets a pacing rate and a window, instead of reacting to each
// loss. Random loss therefore costs retransmissions, not throughput, which is what a lossy
// cloud or WAN path needs. The states: Startup (pacing gain 2/ln 2 until the bandwidth stops
// growing by 25% for three rounds), Drain (the queue Startup built is drained), ProbeBW (an
// eight-phase gain cycle 1.25, 0.75, 1 x 6, one min-RTT each), ProbeRTT (every 10 s without a new
// minimum: four segments in flight for 200 ms and a round). A retransmission timeout drops the
// window to one segment and restores it when its recovery ends; fast recovery does not cut it
// (see `setWindow` for why and what was measured).
//
// Delivery rate samples come from TCPDeliveryRate.swift; pacing is done by the output path
// (TCPOutput.swift) at `pacingRate`.

struct TCPBBR {
    enum Mode: Equatable { case startup, drain, probeBandwidth, probeRTT }

    /// 2/ln(2): the smallest gain that doubles the sending rate every round (§4.3.1.1).
    static let highGain = 2.885
    static let drainGain = 1.0 / 2.885
    static let cycleGains: [Double] = [1.25, 0.75, 1, 1, 1, 1, 1, 1]
    /// Rounds over which the bandwidth filter keeps its maximum (§4.1.1.4 BtlBwFilterLen).
    static let bandwidthWindowRounds = 10
    /// §4.1.2.3 RTpropFilterLen.
    static let minRTTWindow = Interval.seconds(10)
    static let probeRTTDuration = Interval.milliseconds(200)
    static let minimumWindowSegments = 4

    private(set) var mode = Mode.startup
    private(set) var pacingGain = TCPBBR.highGain
    private(set) var cwndGain = TCPBBR.highGain
    /// Bytes per second; what the output path paces at.
    private(set) var pacingRate: Double
    let segmentSize: Int
    let initialWindow: Int

    // The model.
    /// Per-round maxima of the delivery rate, oldest first, at most `bandwidthWindowRounds`.
    private var bandwidthSamples: [(round: Int, rate: Double)] = []
    private(set) var minRTT: Interval? = nil
    private var minRTTStamp = Instant.zero
    private var minRTTExpired = false

    // Rounds (§4.1.1.3).
    private(set) var roundCount = 0
    private var nextRoundDelivered = 0
    private var roundStart = false

    // Startup's end (§4.3.2.2).
    private var fullBandwidth = 0.0
    private var fullBandwidthCount = 0
    private(set) var filledPipe = false

    // ProbeBW.
    private var cycleIndex = 0
    private var cycleStamp = Instant.zero

    // ProbeRTT.
    private var probeRTTDone: Instant? = nil
    private var probeRTTRoundDone = false

    // Loss recovery.
    private var priorCwnd = 0
    private var inLossRecovery = false

    /// `seed` picks the first ProbeBW phase (never the 0.75 one), so that flows do not probe in
    /// step.
    init(segmentSize: Int, initialWindow: Int, seed: UInt32) {
        self.segmentSize = segmentSize
        self.initialWindow = initialWindow
        // §4.2.1: high_gain * InitialCwnd / (1 ms until an RTT is known).
        pacingRate = TCPBBR.highGain * Double(initialWindow) * 1000
        cycleIndex = Int(seed % 7)
        if cycleIndex >= 1 { cycleIndex += 1 }
    }

    /// The current bottleneck bandwidth estimate (bytes per second; 0 before a sample).
    var bandwidth: Double { bandwidthSamples.reduce(0) { max($0, $1.rate) } }

    /// The bandwidth-delay product times `gain`, in bytes (§4.2.3.2); the initial window while
    /// the model has no estimate.
    func inflight(gain: Double) -> Int {
        guard let minRTT, bandwidth > 0 else { return initialWindow }
        let bdp = bandwidth * Double(minRTT.nanoseconds) / 1e9
        return Int(gain * bdp)
    }

    /// Whole segments a burst may carry (§4.2.2 send quantum): 1 below 1.2 Mbit/s, 2 below
    /// 24 Mbit/s, else 1 ms of data up to 64 KiB.
    var sendQuantum: Int {
        if pacingRate < 150_000 { return segmentSize }
        if pacingRate < 3_000_000 { return 2 * segmentSize }
        return min(Int(pacingRate / 1000), 65536)
    }

    /// Called for every ACK with its rate sample. `delivered` is the connection's total so far,
    /// `inflight` the bytes still in the network after this ACK and `priorInflight` before it;
    /// `cwnd` is updated in place.
    mutating func onAck(_ sample: TCPRateSample, delivered: Int, inflight: Int, priorInflight: Int,
                        cwnd: inout Int, now: Instant) {
        // §4.1.1.3 UpdateRound.
        roundStart = false
        if sample.newlyDelivered > 0 && sample.priorDelivered >= nextRoundDelivered {
            nextRoundDelivered = delivered
            roundCount += 1
            roundStart = true
        }
        // §4.1.1.5 UpdateBtlBw.
        if sample.isValid && (sample.deliveryRate >= bandwidth || !sample.isAppLimited) {
            if let last = bandwidthSamples.last, last.round == roundCount {
                if sample.deliveryRate > last.rate { bandwidthSamples[bandwidthSamples.count - 1].rate = sample.deliveryRate }
            } else {
                bandwidthSamples.append((roundCount, sample.deliveryRate))
            }
        }
        while let first = bandwidthSamples.first, first.round <= roundCount - TCPBBR.bandwidthWindowRounds {
            bandwidthSamples.removeFirst()
        }
        checkCyclePhase(sample, priorInflight: priorInflight, now: now)
        checkFullPipe(sample)
        checkDrain(inflight: inflight, now: now)
        updateMinRTT(sample, now: now)
        checkProbeRTT(inflight: inflight, delivered: delivered, cwnd: &cwnd, now: now)
        // §4.2.1 SetPacingRate.
        let rate = pacingGain * bandwidth
        if rate > 0 && (filledPipe || rate > pacingRate) { pacingRate = rate }
        setWindow(sample, delivered: delivered, inflight: inflight, cwnd: &cwnd)
    }

    /// §4.3.4.3 ProbeBW's gain cycling.
    private mutating func checkCyclePhase(_ sample: TCPRateSample, priorInflight: Int, now: Instant) {
        guard mode == .probeBandwidth else { return }
        let fullLength = now - cycleStamp > (minRTT ?? .zero)
        let next: Bool
        if pacingGain == 1 {
            next = fullLength
        } else if pacingGain > 1 {
            next = fullLength && (sample.lost > 0 || priorInflight >= inflight(gain: pacingGain))
        } else {
            next = fullLength || priorInflight <= inflight(gain: 1)
        }
        guard next else { return }
        cycleIndex = (cycleIndex + 1) % TCPBBR.cycleGains.count
        cycleStamp = now
        pacingGain = TCPBBR.cycleGains[cycleIndex]
    }

    /// §4.3.2.2: Startup ends once three rounds brought less than 25% more bandwidth.
    private mutating func checkFullPipe(_ sample: TCPRateSample) {
        guard !filledPipe, roundStart, !sample.isAppLimited else { return }
        if bandwidth >= fullBandwidth * 1.25 {
            fullBandwidth = bandwidth
            fullBandwidthCount = 0
            return
        }
        fullBandwidthCount += 1
        if fullBandwidthCount >= 3 { filledPipe = true }
    }

    /// §4.3.3: Drain until the queue Startup built is gone, then ProbeBW.
    private mutating func checkDrain(inflight: Int, now: Instant) {
        if mode == .startup && filledPipe {
            mode = .drain
            pacingGain = TCPBBR.drainGain
            cwndGain = TCPBBR.highGain
        }
        if mode == .drain && inflight <= self.inflight(gain: 1) { enterProbeBandwidth(now: now) }
    }

    private mutating func enterProbeBandwidth(now: Instant) {
        mode = .probeBandwidth
        cwndGain = 2
        cycleStamp = now
        pacingGain = TCPBBR.cycleGains[cycleIndex]
    }

    /// §4.1.2.3: the min-RTT filter, 10 s long.
    private mutating func updateMinRTT(_ sample: TCPRateSample, now: Instant) {
        minRTTExpired = now > minRTTStamp + TCPBBR.minRTTWindow
        guard let rtt = sample.rtt, rtt >= .zero else { return }
        if minRTT.map({ rtt <= $0 }) ?? true || minRTTExpired {
            minRTT = rtt
            minRTTStamp = now
        }
    }

    /// §4.3.5: ProbeRTT when the minimum is 10 s old.
    private mutating func checkProbeRTT(inflight: Int, delivered: Int, cwnd: inout Int, now: Instant) {
        if mode != .probeRTT && minRTTExpired && minRTT != nil {
            mode = .probeRTT
            pacingGain = 1
            cwndGain = 1
            saveWindow(cwnd)
            probeRTTDone = nil
        }
        guard mode == .probeRTT else { return }
        if probeRTTDone == nil && inflight <= TCPBBR.minimumWindowSegments * segmentSize {
            probeRTTDone = now + TCPBBR.probeRTTDuration
            probeRTTRoundDone = false
            nextRoundDelivered = delivered
        } else if let done = probeRTTDone {
            if roundStart { probeRTTRoundDone = true }
            if probeRTTRoundDone && now > done {
                minRTTStamp = now
                cwnd = max(cwnd, priorCwnd)
                if filledPipe {
                    enterProbeBandwidth(now: now)
                } else {
                    mode = .startup
                    pacingGain = TCPBBR.highGain
                    cwndGain = TCPBBR.highGain
                }
            }
        }
    }

    /// §4.2.3.5–4.2.3.6 SetCwnd: towards cwnd_gain x BDP (+3 segments), growing by what was
    /// delivered. The draft's recovery modulation (§4.2.3.4: cwnd cut by each loss, packet
    /// conservation for the first round) is left out on purpose: measured through the 5%-loss relay
    /// it kept the window under the bandwidth-delay product, so ProbeBW's 1.25 phase could never
    /// show more bandwidth (echo each way: 1.2-1.8 MB/s with both, 0.7 with conservation only,
    /// 1.4-1.9 with the cut only, 2.1-2.2 with neither). Losses are repaired by RACK/RFC 6675 inside
    /// the window; the model, not loss, sets the rate.
    private mutating func setWindow(_ sample: TCPRateSample, delivered: Int, inflight: Int, cwnd: inout Int) {
        let minimum = TCPBBR.minimumWindowSegments * segmentSize
        let target = self.inflight(gain: cwndGain) + 3 * segmentSize
        if filledPipe {
            cwnd = min(cwnd + sample.newlyDelivered, target)
        } else if cwnd < target || delivered < initialWindow {
            cwnd += sample.newlyDelivered
        }
        cwnd = max(cwnd, minimum)
        if mode == .probeRTT { cwnd = min(cwnd, minimum) }
    }

    private mutating func saveWindow(_ cwnd: Int) {
        priorCwnd = (inLossRecovery || mode == .probeRTT) ? max(priorCwnd, cwnd) : cwnd
    }

    /// Fast recovery starts: the window is remembered (and comes back at the end, as after a
    /// timeout), but not cut (see `setWindow`).
    mutating func enterRecovery(cwnd: Int) {
        saveWindow(cwnd)
        inLossRecovery = true
    }

    /// Recovery ended: the window from before it comes back.
    mutating func exitRecovery(cwnd: inout Int) {
        guard inLossRecovery else { return }
        inLossRecovery = false
        cwnd = max(cwnd, priorCwnd)
    }

    /// The retransmission timer fired: one segment, then the window is rebuilt as ACKs arrive
    /// and restored when the timeout's recovery ends (`exitRecovery`).
    mutating func onRetransmitTimeout(cwnd: inout Int) {
        saveWindow(cwnd)
        inLossRecovery = true
        cwnd = segmentSize
    }
}
