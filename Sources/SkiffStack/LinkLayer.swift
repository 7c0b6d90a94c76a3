import SkiffPlatform
import SkiffWire

// Ethernet in and out, ARP (RFC 826) and the transmit backlog.

extension MACAddress {
    /// Compares the octets without building arrays (`==` allocates).
    @inline(__always)
    func isSame(as other: MACAddress) -> Bool {
        octets.0 == other.octets.0 && octets.1 == other.octets.1 && octets.2 == other.octets.2
            && octets.3 == other.octets.3 && octets.4 == other.octets.4 && octets.5 == other.octets.5
    }
}

extension IPv4Address {
    /// Could be a single host's address: not 0.0.0.0, broadcast, multicast, loopback or class E
    /// (RFC 1122 §3.2.1.3, RFC 1112 §4).
    var isUnicastHost: Bool {
        !isUnspecified && !isLimitedBroadcast && !isMulticast && !isLoopback && value >> 28 != 0xf
    }
}

extension NetworkStack {
    // MARK: Input

    func handleFrame(_ frame: UnsafeRawBufferPointer, on interface: Interface, now: Instant) {
        statistics.framesReceived += 1
        statistics.bytesReceived += frame.count
        guard let ethernet = EthernetView(frame) else {
            statistics.framesDroppedMalformed += 1
            return
        }
        let destination = ethernet.destination
        let linkBroadcast = destination.isSame(as: .broadcast)
        guard linkBroadcast || destination.isSame(as: interface.macAddress) else {
            statistics.framesDroppedNotForUs += 1
            return
        }
        guard ethernet.tagCount == 0 else {
            statistics.framesDroppedUnsupported += 1
            return
        }
        switch ethernet.etherType {
        case EtherType.arp:
            handleARP(ethernet.payload, on: interface, now: now)
        case EtherType.ipv4:
            handleIPv4(ethernet.payload, on: interface, linkBroadcast: linkBroadcast, now: now)
        default:
            statistics.framesDroppedUnsupported += 1
        }
    }

    /// RFC 826 "Packet Reception", with RFC 5227's conflict detection.
    func handleARP(_ bytes: UnsafeRawBufferPointer, on interface: Interface, now: Instant) {
        guard let arp = ARPView(bytes) else {
            statistics.arpDroppedMalformed += 1
            return
        }
        switch arp.operation {
        case .request: statistics.arpRequestsReceived += 1
        case .reply: statistics.arpRepliesReceived += 1
        }
        let senderIP = arp.senderIP
        let senderMAC = arp.senderMAC
        let targetIsOurs = interface.hasAddress(arp.targetIP)
        interface.dhcpPort?.observeARP(operation: arp.operation, senderMAC: senderMAC, senderIP: senderIP,
                                       targetIP: arp.targetIP, ourMAC: interface.macAddress)

        if interface.hasAddress(senderIP) {
            // Someone else uses one of our addresses (RFC 5227 §2.4): never learn it, report it.
            if !senderMAC.isSame(as: interface.macAddress) {
                statistics.arpAddressConflicts += 1
                emit("arp: address conflict: \(senderIP) is also claimed by \(senderMAC) on \(interface.name)")
            }
            return
        }
        // A probe (sender 0.0.0.0, RFC 5227 §2.1.1) or a bogus sender teaches nothing.
        if senderIP.isUnicastHost && !senderMAC.isMulticast && !interface.isSubnetBroadcast(senderIP) {
            let before = interface.arp.lookup(senderIP, now: now)
            // The merge step: refresh an entry we have; make one only if the packet is for us.
            let released = interface.arp.learn(senderIP, at: senderMAC, now: now, createIfAbsent: targetIsOurs)
            if let after = interface.arp.lookup(senderIP, now: now), before.map({ !$0.isSame(as: after) }) ?? true {
                emit("arp: \(senderIP) is-at \(after) on \(interface.name)")
            }
            for datagram in released {
                transmitDatagram(datagram, to: senderMAC, on: interface, now: now)
            }
        }
        if targetIsOurs && arp.operation == .request {
            let reply = ARPPacket(operation: .reply, senderMAC: interface.macAddress,
                                  senderIP: arp.targetIP, targetMAC: senderMAC, targetIP: senderIP)
            transmitARP(reply, to: senderMAC, on: interface, now: now)
            statistics.arpRepliesSent += 1
        }
    }

    // MARK: Output

    /// Broadcasts a request for `address`, from the interface's address in the same subnet (or
    /// 0.0.0.0 when it has none, as an RFC 5227 probe).
    func sendARPRequest(for address: IPv4Address, on interface: Interface, now: Instant) {
        let request = ARPPacket(operation: .request, senderMAC: interface.macAddress,
                                senderIP: interface.sourceAddress(toward: address) ?? .any,
                                targetMAC: .zero, targetIP: address)
        transmitARP(request, to: .broadcast, on: interface, now: now)
        statistics.arpRequestsSent += 1
    }

    /// RFC 5227 §2.1.1: an ARP probe for `address` — a broadcast request with sender IP 0.0.0.0
    /// and target hardware address zero — asking whether another host uses it.
    func sendARPProbe(for address: IPv4Address, on interface: Interface, now: Instant) {
        let probe = ARPPacket(operation: .request, senderMAC: interface.macAddress, senderIP: .any,
                              targetMAC: .zero, targetIP: address)
        transmitARP(probe, to: .broadcast, on: interface, now: now)
        statistics.arpRequestsSent += 1
    }

    func transmitARP(_ packet: ARPPacket, to destination: MACAddress, on interface: Interface, now: Instant) {
        var buffer = PacketBuffer(capacity: ARPPacket.encodedLength)
        packet.prepend(to: &buffer)
        EthernetHeader(destination: destination, source: interface.macAddress, etherType: EtherType.arp)
            .prepend(to: &buffer)
        transmitFrame(buffer, on: interface)
    }

    /// Sends `datagram` to the next hop `nextHop` on `interface`: now if its hardware address is
    /// known (or it is a broadcast), otherwise behind an ARP resolution.
    func linkOutput(_ datagram: PacketBuffer, nextHop: IPv4Address, linkBroadcast: Bool,
                    on interface: Interface, now: Instant) {
        if linkBroadcast {
            transmitDatagram(datagram, to: .broadcast, on: interface, now: now)
            return
        }
        if let mac = interface.arp.lookup(nextHop, now: now) {
            transmitDatagram(datagram, to: mac, on: interface, now: now)
            return
        }
        let outcome = interface.arp.enqueue(datagram, for: nextHop, now: now)
        statistics.arpPacketsQueued += 1
        statistics.arpQueueOverflows += outcome.dropped
        if outcome.sendRequest { sendARPRequest(for: nextHop, on: interface, now: now) }
    }

    /// Frames `datagram` for `destination`, fragmenting it first if it exceeds the MTU.
    func transmitDatagram(_ datagram: PacketBuffer, to destination: MACAddress, on interface: Interface, now: Instant) {
        let header = EthernetHeader(destination: destination, source: interface.macAddress, etherType: EtherType.ipv4)
        if datagram.count <= interface.mtu {
            var frame = datagram
            header.prepend(to: &frame)
            transmitFrame(frame, on: interface)
            statistics.ipPacketsSent += 1
            return
        }
        let fragments = datagram.withUnsafeReadableBytes { Fragmentation.fragment($0, mtu: interface.mtu) }
        guard let fragments else {
            // Don't Fragment on a datagram that waited while the MTU shrank, or a tiny MTU.
            statistics.ipOutputTooLong += 1
            return
        }
        statistics.ipFragmentsCreated += fragments.count
        for var fragment in fragments {
            header.prepend(to: &fragment)
            transmitFrame(fragment, on: interface)
        }
        statistics.ipPacketsSent += 1
    }

    /// Hands a whole frame to the device, or to the backlog when its ring is full.
    func transmitFrame(_ frame: PacketBuffer, on interface: Interface) {
        if !interface.transmitBacklog.isEmpty { flushTransmitBacklog(interface) }
        if interface.transmitBacklog.isEmpty {
            let result = frame.withUnsafeReadableBytes { bytes in
                interface.device.transmit(length: bytes.count) { out in
                    // In bounds: the device hands a buffer of at least `length` bytes; checked.
                    guard out.count >= bytes.count else { return }
                    out.setBytes(bytes, at: 0)
                }
            }
            switch result {
            case .ok:
                statistics.framesSent += 1
                statistics.bytesSent += frame.count
                return
            case .again:
                break
            case .invalid, .failed:
                statistics.transmitErrors += 1
                return
            }
        }
        guard interface.transmitBacklog.count < configuration.transmitBacklogLength else {
            statistics.transmitBacklogDrops += 1
            return
        }
        interface.transmitBacklog.append(frame.bytes)
    }

    /// Retries the frames the device refused, in order, until it refuses again.
    func flushTransmitBacklog(_ interface: Interface) {
        var sent = 0
        // Bounded by the backlog length.
        while sent < interface.transmitBacklog.count {
            let frame = interface.transmitBacklog[sent]
            let result = frame.withUnsafeBytes { bytes in
                interface.device.transmit(length: bytes.count) { out in
                    // In bounds: the device hands a buffer of at least `length` bytes; checked.
                    guard out.count >= bytes.count else { return }
                    out.setBytes(bytes, at: 0)
                }
            }
            if result == .again { break }
            if result == .ok {
                statistics.framesSent += 1
                statistics.bytesSent += frame.count
            } else {
                statistics.transmitErrors += 1
            }
            sent += 1
        }
        if sent > 0 { interface.transmitBacklog.removeFirst(sent) }
    }
}
