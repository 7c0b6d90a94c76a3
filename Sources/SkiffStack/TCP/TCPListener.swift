import SkiffPlatform
import SkiffWire

// A passive open (RFC 9293 §3.10.7.2, LISTEN): SYNs create blocks in SYN-RECEIVED, at most
// `tcpSYNQueueLength` per listener; beyond that SYN cookies answer (RFC 4987 §3.6). Established
// connections wait in a backlog of `backlog` for `accept`.

/// The receive side of a listening port, held by the stack's table (the application holds the
/// `TCPListener`, which holds the stack).
final class TCPListenEndpoint {
    let port: UInt16
    let address: IPv4Address
    let backlog: Int
    var acceptQueue: [TCPControlBlock] = []
    /// Blocks in SYN-RECEIVED that came from this listener.
    var synQueueCount = 0
    var isClosed = false

    init(port: UInt16, address: IPv4Address, backlog: Int) {
        self.port = port
        self.address = address
        self.backlog = backlog
    }
}

/// A listening TCP port.
public final class TCPListener: StreamListener {
    public let localPort: UInt16
    /// The bound address (`.any` for every address of the stack).
    public let localAddress: IPv4Address
    let stack: NetworkStack
    let endpoint: TCPListenEndpoint

    init(stack: NetworkStack, endpoint: TCPListenEndpoint) {
        self.stack = stack
        self.endpoint = endpoint
        localPort = endpoint.port
        localAddress = endpoint.address
    }

    deinit { close() }

    /// Established connections waiting to be accepted.
    public var pendingCount: Int { endpoint.acceptQueue.count }

    /// Connections in SYN-RECEIVED.
    public var synQueueCount: Int { endpoint.synQueueCount }

    public var isClosed: Bool { endpoint.isClosed }

    /// The next established connection, or nil.
    public func acceptConnection() -> TCPConnection? {
        // Connections reset while waiting are skipped (bounded by the queue).
        while !endpoint.acceptQueue.isEmpty {
            let block = endpoint.acceptQueue.removeFirst()
            if block.state != .closed || block.receiveBuffer.count > 0 || block.finReceived {
                return TCPConnection(stack: stack, block: block)
            }
        }
        return nil
    }

    public func accept() -> (any StreamConnection)? {
        acceptConnection()
    }

    /// Stops listening; connections waiting in the backlog are reset, accepted ones unaffected.
    public func close() {
        guard !endpoint.isClosed else { return }
        endpoint.isClosed = true
        stack.unlisten(endpoint)
        let waiting = endpoint.acceptQueue
        endpoint.acceptQueue = []
        for block in waiting where block.state != .closed {
            block.abortWithReset(stack: stack, now: stack.tcp.clock, reason: .aborted)
            stack.removeConnection(block)
        }
    }
}

extension NetworkStack {
    /// RFC 9293 §3.10.7.2, with SYN cookies for a full SYN queue.
    func tcpListenerReceive(_ endpoint: TCPListenEndpoint, _ segment: TCPSegment, tuple: TCPFourTuple,
                            interface: Interface, now: Instant) {
        // First: an RST is ignored.
        if segment.rst { return }
        let localMSS = interface.mtu - 40
        // Second: an ACK is bad (unless it returns a SYN cookie): <SEQ=SEG.ACK><CTL=RST>.
        if segment.hasAck {
            if !segment.syn && configuration.tcpSYNCookies {
                let cookie = segment.ack - 1
                if let mss = TCPSYNCookie.check(cookie, tuple, clientISN: segment.seq - 1,
                                                secret: configuration.tcpSecret, now: now) {
                    acceptSYNCookie(endpoint, segment, tuple: tuple, iss: cookie, mss: min(Int(mss), localMSS), now: now)
                    return
                }
                statistics.tcpSYNCookiesRejected += 1
            }
            tcpSendReset(tuple: tuple, seq: segment.ack, ack: nil, now: now)
            return
        }
        // Third: a SYN.
        guard segment.syn else { return }
        guard endpoint.acceptQueue.count < endpoint.backlog else {
            statistics.tcpListenOverflows += 1
            return
        }
        if endpoint.synQueueCount >= configuration.tcpSYNQueueLength {
            guard configuration.tcpSYNCookies else {
                statistics.tcpSYNQueueDrops += 1
                return
            }
            let peerMSS = segment.options.maximumSegmentSize.map { Int($0) } ?? 536
            let iss = TCPSYNCookie.make(tuple, clientISN: segment.seq, mss: min(peerMSS, localMSS),
                                        secret: configuration.tcpSecret, now: now)
            let mss = TCPSYNCookie.check(iss, tuple, clientISN: segment.seq, secret: configuration.tcpSecret, now: now) ?? 536
            let header = TCPHeader(sourcePort: tuple.localPort, destinationPort: tuple.remotePort,
                                   sequenceNumber: iss.rawValue, acknowledgmentNumber: (segment.seq + 1).rawValue,
                                   flags: [.syn, .ack], window: UInt16(min(configuration.tcpReceiveBufferSize, 0xffff)),
                                   options: [.maximumSegmentSize(mss)])
            var packet = PacketBuffer(capacity: 0)
            tcpOutput(&packet, header: header, tuple: tuple, now: now)
            statistics.tcpSYNCookiesSent += 1
            return
        }
        let iss = TCPInitialSequence.isn(for: tuple, secret: configuration.tcpSecret, now: now)
        let block = TCPControlBlock(tuple: tuple, passive: true, iss: iss, localMSS: localMSS,
                                    configuration: configuration, now: now)
        block.state = .synReceived
        block.listener = endpoint
        endpoint.synQueueCount += 1
        block.irs = segment.seq
        block.rcvNxt = segment.seq + 1
        block.options.negotiate(peer: segment.options, offeredScale: block.offeredScale, offeredSACK: block.offerSACK,
                                offeredTimestamps: block.offerTimestamps, localMSS: localMSS)
        if block.options.timestamps, let ts = segment.options.timestamp { block.tsRecent = ts.value }
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        block.sndWnd = Int(segment.window)
        block.maxSndWnd = block.sndWnd
        block.sndWl1 = segment.seq
        block.startCongestionControl(configuration)
        tcp.connections[tuple] = block
        statistics.tcpPassiveOpens += 1
        block.sendSYN(stack: self, now: now)
    }

    /// The ACK that completes a handshake answered with a cookie: the connection starts in
    /// ESTABLISHED with the MSS the cookie kept and no other options.
    private func acceptSYNCookie(_ endpoint: TCPListenEndpoint, _ segment: TCPSegment, tuple: TCPFourTuple,
                                 iss: SequenceNumber, mss: Int, now: Instant) {
        guard endpoint.acceptQueue.count < endpoint.backlog else {
            statistics.tcpListenOverflows += 1
            return
        }
        statistics.tcpSYNCookiesAccepted += 1
        let block = TCPControlBlock(tuple: tuple, passive: true, iss: iss, localMSS: mss,
                                    configuration: configuration, now: now)
        block.irs = segment.seq - 1
        block.rcvNxt = segment.seq
        block.options = TCPNegotiatedOptions()
        block.options.sendMSS = max(64, mss)
        block.options.receiveMSS = mss
        block.sndUna = iss + 1
        block.sndNxt = iss + 1
        block.sndMax = iss + 1
        block.sendBase = iss + 1
        block.recover = iss + 1
        block.highRetransmitted = iss + 1
        block.sndWnd = Int(segment.window)
        block.maxSndWnd = block.sndWnd
        block.sndWl1 = segment.seq
        block.sndWl2 = segment.ack
        block.lastAckSent = segment.seq
        block.startCongestionControl(configuration)
        block.state = .established
        statistics.tcpPassiveOpens += 1
        statistics.tcpConnectionsEstablished += 1
        endpoint.acceptQueue.append(block)
        tcp.connections[tuple] = block
        // The rest of the segment (data, FIN) as in ESTABLISHED.
        if !segment.payload.isEmpty || segment.fin {
            block.receive(segment, stack: self, now: now)
        }
    }
}
