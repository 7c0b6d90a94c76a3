import SkiffPlatform
import SkiffWire

// The application's handle on a connection: `StreamConnection` over a control block. Writes send
// at once when the windows allow, at the stack's last known time (`poll`, `connect`, or the
// `now` given to `write(_:now:)`).

/// A TCP connection (RFC 9293).
public final class TCPConnection: StreamConnection {
    let stack: NetworkStack
    let block: TCPControlBlock

    init(stack: NetworkStack, block: TCPControlBlock) {
        self.stack = stack
        self.block = block
    }

    /// Closes gracefully if the application let go without closing.
    deinit {
        if isOpen { close() }
    }

    public var localAddress: IPv4Address { block.tuple.localAddress }
    public var localPort: UInt16 { block.tuple.localPort }
    public var remoteAddress: IPv4Address { block.tuple.remoteAddress }
    public var remotePort: UInt16 { block.tuple.remotePort }

    /// The RFC 9293 state.
    public var state: TCPState { block.state }

    /// Why the connection ended abnormally, if it did.
    public var closeReason: TCPCloseReason? { block.closeReason }

    /// Nagle's algorithm (RFC 9293 §3.7.4): on by default; off sends small writes at once.
    public var isNagleEnabled: Bool {
        get { block.nagle }
        set {
            block.nagle = newValue
            if !newValue { flush(now: stack.tcp.clock) }
        }
    }

    /// The congestion control algorithm (CUBIC unless the configuration says otherwise).
    public var congestionControl: TCPCongestionAlgorithm {
        get { block.congestion.algorithm }
        set { block.setCongestionAlgorithm(newValue) }
    }

    /// Keepalive probes after `tcpKeepAliveIdle` of silence (RFC 9293 §3.8.4); off by default.
    public var isKeepAliveEnabled: Bool {
        get { block.keepAliveEnabled }
        set {
            block.keepAliveEnabled = newValue
            block.keepAliveProbesSent = 0
            block.armKeepAlive(now: stack.tcp.clock, configuration: stack.configuration)
        }
    }

    /// The options the handshake agreed on.
    public var maximumSegmentSize: Int { block.options.sendMSS }
    public var usesTimestamps: Bool { block.options.timestamps }
    public var usesSACK: Bool { block.options.sack }
    public var usesWindowScaling: Bool { block.options.windowScaling }
    /// The congestion window in bytes and the smoothed RTT (nil before the first sample).
    public var congestionWindow: Int { block.congestion.cwnd }
    public var smoothedRTT: Interval? { block.rto.smoothed }

    // MARK: StreamConnection

    public func read(_ body: (UnsafeRawBufferPointer) -> Int) -> StreamReadResult {
        if block.receiveBuffer.count > 0 && !block.applicationClosed {
            let consumed = block.receiveBuffer.withFirstReadablePiece { piece -> Int in
                let taken = body(piece)
                return max(0, min(taken, piece.count))
            }
            block.receiveBuffer.consume(consumed)
            if consumed > 0 {
                block.windowUpdateIfWorthIt(stack: stack, now: stack.tcp.clock)
            }
            return .consumed(consumed)
        }
        if block.finReceived { return .endOfStream }
        if block.closeReason != nil { return .reset }
        if block.state == .closed || block.applicationClosed { return .endOfStream }
        return .wouldBlock
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        write(bytes, now: stack.tcp.clock)
    }

    /// `write` at a time the application knows.
    public func write(_ bytes: UnsafeRawBufferPointer, now: Instant) -> Int {
        guard canWrite else { return -1 }
        let written = block.sendBuffer.append(bytes)
        if written > 0 { flush(now: now) }
        return written
    }

    /// `write` from an array.
    public func write(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { write($0) }
    }

    private var canWrite: Bool {
        guard !block.finQueued, !block.applicationClosed, block.closeReason == nil else { return false }
        switch block.state {
        case .synSent, .synReceived, .established, .closeWait: return true
        default: return false
        }
    }

    private func flush(now: Instant) {
        if now > stack.tcp.clock { stack.tcp.clock = now }
        block.output(stack: stack, now: now)
        if block.state == .closed { stack.removeConnection(block) }
    }

    public var writableBytes: Int { canWrite ? block.sendBuffer.free : 0 }

    public var unacknowledgedBytes: Int { block.sendBuffer.count }

    public func shutdownWrite() {
        guard !block.finQueued, block.closeReason == nil else { return }
        switch block.state {
        case .synSent:
            // RFC 9293 §3.10.4: a CLOSE in SYN-SENT deletes the block. With data already
            // written, it is sent first as in SYN-RECEIVED (the FIN follows once established).
            guard block.sendBuffer.count > 0 else {
                block.enterClosed()
                stack.removeConnection(block)
                return
            }
            block.finQueued = true
        case .synReceived:
            // The FIN follows once established.
            block.finQueued = true
        case .established:
            block.finQueued = true
            block.state = .finWait1
        case .closeWait:
            block.finQueued = true
            block.state = .lastAck
        default:
            return
        }
        flush(now: stack.tcp.clock)
    }

    public func close() {
        guard !block.applicationClosed else { return }
        if block.receiveBuffer.count > 0 && block.state != .closed {
            // Unread data: the peer learns it was not read (RFC 2525 §2.17, as Linux does).
            abort()
            return
        }
        block.applicationClosed = true
        shutdownWrite()
        if block.state == .finWait2 {
            block.timers.finWait2 = stack.tcp.clock + stack.configuration.tcpFinWait2Timeout
        }
    }

    public func abort() {
        let wasOpen = block.state != .closed
        block.applicationClosed = true
        if wasOpen {
            block.abortWithReset(stack: stack, now: stack.tcp.clock, reason: .aborted)
            stack.removeConnection(block)
        }
    }

    public var isOpen: Bool {
        !block.applicationClosed && block.closeReason == nil && block.state != .closed
    }
}
