import SkiffPlatform
import SkiffWire

/// One connection's state for diagnostics, as Linux's `ss -ti` shows it (struct tcp_info).
public struct TCPConnectionInfo: Sendable {
    public var localAddress: IPv4Address
    public var localPort: UInt16
    public var remoteAddress: IPv4Address
    public var remotePort: UInt16
    public var state: TCPState
    public var congestionControl: TCPCongestionAlgorithm
    /// Bytes.
    public var congestionWindow: Int
    public var slowStartThreshold: Int
    /// The peer's window (bytes, scaled).
    public var sendWindow: Int
    /// SND.MAX - SND.UNA.
    public var unacknowledged: Int
    /// RFC 6675 pipe when the peer SACKs, else the unacknowledged bytes.
    public var inFlight: Int
    /// Written but not yet sent.
    public var notSent: Int
    /// Received and not yet read, plus out-of-order bytes held.
    public var receiveQueued: Int
    public var receiveWindow: Int
    public var smoothedRTT: Interval?
    public var retransmissionTimeout: Interval
    public var inRecovery: Bool
    /// BBR's state: "startup", "drain", "probe-bw", "probe-rtt"; nil for other algorithms.
    public var bbrMode: String?
    /// BBR's bottleneck bandwidth estimate and pacing rate, bytes per second.
    public var bbrBandwidth: Double?
    public var pacingRate: Double?
    public var bbrMinimumRTT: Interval?

    /// One line: `198.18.0.2:7 198.18.0.1:40000 established bbr(probe-bw bw 1.2MB/s ...) cwnd ...`.
    public var description: String {
        func kB(_ value: Double) -> String { "\(Int(value / 1000))kB/s" }
        var text = "\(localAddress):\(localPort) \(remoteAddress):\(remotePort) \(state)"
        switch congestionControl {
        case .cubic: text += " cubic"
        case .newReno: text += " newreno"
        case .bbr:
            text += " bbr"
            if let bbrMode, let bbrBandwidth, let pacingRate {
                text += "(\(bbrMode) bw \(kB(bbrBandwidth)) pacing \(kB(pacingRate))"
                    + " minrtt \(bbrMinimumRTT.map { "\($0.nanoseconds / 1_000_000)ms" } ?? "-"))"
            }
        }
        text += " cwnd \(congestionWindow) ssthresh \(slowStartThreshold >= Int(Int32.max) ? "-" : String(slowStartThreshold))"
        text += " snd_wnd \(sendWindow) unacked \(unacknowledged) inflight \(inFlight) notsent \(notSent)"
        text += " rcvq \(receiveQueued) rcv_wnd \(receiveWindow)"
        text += " srtt \(smoothedRTT.map { "\($0.nanoseconds / 1_000_000)ms" } ?? "-") rto \(retransmissionTimeout.nanoseconds / 1_000_000)ms"
        if inRecovery { text += " recovery" }
        return text
    }
}

extension TCPControlBlock {
    var info: TCPConnectionInfo {
        var mode: String? = nil
        if let bbr {
            switch bbr.mode {
            case .startup: mode = "startup"
            case .drain: mode = "drain"
            case .probeBandwidth: mode = "probe-bw"
            case .probeRTT: mode = "probe-rtt"
            }
        }
        return TCPConnectionInfo(
            localAddress: tuple.localAddress, localPort: tuple.localPort,
            remoteAddress: tuple.remoteAddress, remotePort: tuple.remotePort, state: state,
            congestionControl: congestion.algorithm, congestionWindow: congestion.cwnd,
            slowStartThreshold: congestion.ssthresh, sendWindow: sndWnd, unacknowledged: sndMax - sndUna,
            inFlight: options.sack ? sent.pipe(below: sndMax) : sndMax - sndUna,
            notSent: max(0, dataEnd - sndMax), receiveQueued: receiveBuffer.count, receiveWindow: receiveWindow,
            smoothedRTT: rto.smoothed, retransmissionTimeout: rto.current, inRecovery: inRecovery,
            bbrMode: mode, bbrBandwidth: bbr?.bandwidth, pacingRate: bbr?.pacingRate, bbrMinimumRTT: bbr?.minRTT)
    }
}

extension NetworkStack {
    /// Every connection's state (every state but LISTEN), for diagnostics.
    public var tcpConnectionInfo: [TCPConnectionInfo] { tcp.connections.values.map { $0.info } }
}

extension TCPConnection {
    /// This connection's state, for diagnostics.
    public var info: TCPConnectionInfo { block.info }
}
