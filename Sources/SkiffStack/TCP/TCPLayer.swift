import SkiffPlatform
import SkiffWire

// TCP in the stack: the connection and listener tables, demultiplexing of received segments
// (RFC 9293 §3.10.7), resets for closed ports (§3.10.7.1), output through IPv4, the timers run
// from `poll`, and the two entry points `listen` and `connect`.

/// The stack's TCP state.
struct TCPTables {
    var connections: [TCPFourTuple: TCPControlBlock] = [:]
    var listeners: [UInt16: [TCPListenEndpoint]] = [:]
    /// RFC 5961 §7: challenge ACKs, stack-wide.
    var challengeAcks: TokenBucket
    /// The last time the stack was told (poll, connect, a received frame): the time of sends the
    /// application makes through `StreamConnection.write`, which takes none.
    var clock = Instant.zero
    var nextEphemeral: UInt16

    init(configuration: StackConfiguration) {
        challengeAcks = TokenBucket(ratePerSecond: max(0, configuration.tcpChallengeACKsPerSecond),
                                    burst: max(1, configuration.tcpChallengeACKsPerSecond))
        // RFC 6056 §3.3.3 in spirit: start the ephemeral search at a keyed-hash offset.
        let range = TCPTables.ephemeralPorts
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        let offset = SipHash.hash(key: configuration.tcpSecret, 0x706f_7274) % size
        nextEphemeral = range.lowerBound + UInt16(offset)
    }

    /// RFC 6335 §6.
    static let ephemeralPorts: ClosedRange<UInt16> = 49152...65535
}

extension NetworkStack {
    // MARK: Input

    func handleTCP(_ ip: IPv4View, on interface: Interface, isBroadcast: Bool, now: Instant) {
        statistics.tcpReceived += 1
        tcp.clock = now
        // RFC 1122 §4.2.3.10: a SYN to a broadcast or multicast address is ignored, and TCP is
        // unicast only.
        guard !isBroadcast, !ip.destination.isMulticast else {
            statistics.tcpDroppedBroadcast += 1
            return
        }
        guard let view = TCPView(ip.payload) else {
            statistics.tcpDroppedMalformed += 1
            return
        }
        guard view.verifyChecksum(source: ip.source, destination: ip.destination) else {
            statistics.tcpDroppedBadChecksum += 1
            return
        }
        guard let segment = TCPSegment(view), ip.source.isUnicastHost,
              segment.sourcePort != 0, segment.destinationPort != 0 else {
            statistics.tcpDroppedMalformed += 1
            return
        }
        let tuple = TCPFourTuple(localAddress: ip.destination, localPort: segment.destinationPort,
                                 remoteAddress: ip.source, remotePort: segment.sourcePort)
        if let block = tcp.connections[tuple] {
            // RFC 9293 §3.10.7.4 note / RFC 6191: a new SYN may reopen a connection in TIME-WAIT
            // when its sequence number is beyond the old connection's.
            if block.state == .timeWait, segment.syn, !segment.hasAck, !segment.rst,
               segment.seq > block.rcvNxt,
               let endpoint = tcpListener(port: tuple.localPort, address: tuple.localAddress) {
                removeConnection(block)
                tcpListenerReceive(endpoint, segment, tuple: tuple, interface: interface, now: now)
                return
            }
            block.receive(segment, stack: self, now: now)
            if block.state == .closed { removeConnection(block) }
            return
        }
        if let endpoint = tcpListener(port: tuple.localPort, address: tuple.localAddress) {
            tcpListenerReceive(endpoint, segment, tuple: tuple, interface: interface, now: now)
            return
        }
        statistics.tcpNoPort += 1
        tcpResetForNoConnection(segment, tuple: tuple, now: now)
    }

    /// RFC 9293 §3.10.7.1: an RST answers anything but an RST.
    func tcpResetForNoConnection(_ segment: TCPSegment, tuple: TCPFourTuple, now: Instant) {
        guard !segment.rst else { return }
        if segment.hasAck {
            // <SEQ=SEG.ACK><CTL=RST>
            tcpSendReset(tuple: tuple, seq: segment.ack, ack: nil, now: now)
        } else {
            // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            tcpSendReset(tuple: tuple, seq: SequenceNumber(0), ack: segment.seq + segment.length, now: now)
        }
    }

    func tcpListener(port: UInt16, address: IPv4Address) -> TCPListenEndpoint? {
        guard let list = tcp.listeners[port] else { return nil }
        return list.first { $0.address == address } ?? list.first { $0.address == .any }
    }

    func removeConnection(_ block: TCPControlBlock) {
        if tcp.connections[block.tuple] === block { tcp.connections[block.tuple] = nil }
    }

    // MARK: Output

    /// Prepends `header` and sends the segment to the tuple's remote end.
    func tcpOutput(_ packet: inout PacketBuffer, header: TCPHeader, tuple: TCPFourTuple, now: Instant) {
        do throws(SendError) {
            let plan = try planOutput(to: tuple.remoteAddress, from: tuple.localAddress)
            header.prepend(to: &packet, source: plan.source, destination: tuple.remoteAddress)
            try output(&packet, protocolNumber: IPProtocol.tcp, plan: plan, dontFragment: true, now: now)
            statistics.tcpSent += 1
        } catch {
            statistics.tcpSendErrors += 1
        }
    }

    /// An RST (with ACK when `ack` is given), no options, window 0.
    func tcpSendReset(tuple: TCPFourTuple, seq: SequenceNumber, ack: SequenceNumber?, now: Instant) {
        let header = TCPHeader(sourcePort: tuple.localPort, destinationPort: tuple.remotePort,
                               sequenceNumber: seq.rawValue, acknowledgmentNumber: ack?.rawValue ?? 0,
                               flags: ack == nil ? [.rst] : [.rst, .ack], window: 0)
        var packet = PacketBuffer(capacity: 0)
        tcpOutput(&packet, header: header, tuple: tuple, now: now)
        statistics.tcpResetsSent += 1
    }

    // MARK: Timers

    func tcpRunTimers(now: Instant) {
        guard !tcp.connections.isEmpty else { return }
        var due: [TCPControlBlock] = []
        for block in tcp.connections.values {
            if let deadline = block.nextDeadline, deadline <= now { due.append(block) }
        }
        for block in due {
            block.runTimers(stack: self, now: now)
            if block.state == .closed { removeConnection(block) }
        }
    }

    var tcpNextDeadline: Instant? {
        var best: Instant? = nil
        for block in tcp.connections.values {
            if let deadline = block.nextDeadline, best.map({ deadline < $0 }) ?? true { best = deadline }
        }
        return best
    }

    // MARK: Opening

    /// Listens on `port` at `address` (`.any`: every address of the stack). `backlog` bounds the
    /// established connections waiting for `accept`.
    public func listen(port: UInt16, address: IPv4Address = .any, backlog: Int = 16) throws(TCPListenError) -> TCPListener {
        guard port != 0, backlog >= 1 else { throw .invalidArgument }
        if let list = tcp.listeners[port],
           list.contains(where: { $0.address == address || $0.address == .any || address == .any }) {
            throw .portInUse
        }
        let endpoint = TCPListenEndpoint(port: port, address: address, backlog: backlog)
        tcp.listeners[port, default: []].append(endpoint)
        return TCPListener(stack: self, endpoint: endpoint)
    }

    func unlisten(_ endpoint: TCPListenEndpoint) {
        guard var list = tcp.listeners[endpoint.port] else { return }
        list.removeAll { $0 === endpoint }
        tcp.listeners[endpoint.port] = list.isEmpty ? nil : list
    }

    /// Opens a connection to `address`:`port` from `source` (nil: the address of the route's
    /// interface) and an ephemeral port; the SYN leaves now (or waits behind ARP).
    public func connect(to address: IPv4Address, port: UInt16, from source: IPv4Address? = nil,
                        now: Instant) throws(TCPConnectError) -> TCPConnection {
        try connect(to: address, port: port, from: source, localPort: 0, now: now)
    }

    /// `connect` from a given local port (0: ephemeral); for tests of simultaneous open.
    func connect(to address: IPv4Address, port: UInt16, from source: IPv4Address?, localPort: UInt16,
                 now: Instant) throws(TCPConnectError) -> TCPConnection {
        tcp.clock = now
        guard port != 0, address.isUnicastHost else { throw .invalidDestination }
        let plan: OutputPlan
        do throws(SendError) {
            plan = try planOutput(to: address, from: source)
        } catch {
            switch error {
            case .interfaceDown: throw .interfaceDown
            default: throw .noRoute
            }
        }
        guard !plan.source.isUnspecified else { throw .noSourceAddress }
        let range = TCPTables.ephemeralPorts
        let size = Int(range.upperBound) - Int(range.lowerBound) + 1
        var chosen: TCPFourTuple? = nil
        if localPort != 0 {
            let tuple = TCPFourTuple(localAddress: plan.source, localPort: localPort, remoteAddress: address, remotePort: port)
            guard tcp.connections[tuple] == nil else { throw .noEphemeralPort }
            chosen = tuple
        }
        for step in 0..<size where chosen == nil {
            let candidate = UInt16(Int(range.lowerBound) + (Int(tcp.nextEphemeral) - Int(range.lowerBound) + step) % size)
            let tuple = TCPFourTuple(localAddress: plan.source, localPort: candidate,
                                     remoteAddress: address, remotePort: port)
            if tcp.connections[tuple] == nil && tcp.listeners[candidate] == nil {
                chosen = tuple
                tcp.nextEphemeral = candidate == range.upperBound ? range.lowerBound : candidate + 1
                break
            }
        }
        guard let tuple = chosen else { throw .noEphemeralPort }
        let iss = TCPInitialSequence.isn(for: tuple, secret: configuration.tcpSecret, now: now)
        let block = TCPControlBlock(tuple: tuple, passive: false, iss: iss,
                                    localMSS: plan.interface.mtu - 40, configuration: configuration, now: now)
        block.state = .synSent
        tcp.connections[tuple] = block
        statistics.tcpActiveOpens += 1
        block.sendSYN(stack: self, now: now)
        return TCPConnection(stack: self, block: block)
    }

    /// The connections the stack holds (every state but LISTEN), for diagnostics.
    public var tcpConnectionCount: Int { tcp.connections.count }
}
