import SkiffPlatform
import SkiffWire

// IPv4 input (validation, local delivery, reassembly) and output (routing, source selection,
// Don't Fragment, loopback). This stack is a host: datagrams for other addresses are dropped.

/// Where a datagram the stack originates goes, decided before the transport checksum (which
/// covers the source address) is computed.
struct OutputPlan {
    enum LinkDestination {
        /// Resolve this next hop with ARP.
        case resolve(IPv4Address)
        /// A broadcast or multicast hardware address, no resolution.
        case fixed(MACAddress)
        /// One of our own addresses: through the loopback queue, received on this interface.
        case loopback
    }
    var interface: Interface
    var link: LinkDestination
    var source: IPv4Address
    var destination: IPv4Address
}

extension NetworkStack {
    // MARK: Output

    /// Chooses the interface, next hop and source address for a datagram to `destination`.
    /// `source` nil (or 0.0.0.0) lets the stack choose the interface's address.
    func planOutput(to destination: IPv4Address, from source: IPv4Address?) throws(SendError) -> OutputPlan {
        let fixedSource = (source?.isUnspecified ?? true) ? nil : source
        guard !destination.isUnspecified else {
            statistics.ipOutputNoRoute += 1
            throw .noRoute
        }
        if let owner = interfaces.first(where: { $0.hasAddress(destination) }) {
            return OutputPlan(interface: owner, link: .loopback, source: fixedSource ?? destination,
                              destination: destination)
        }
        let interface: Interface
        let link: OutputPlan.LinkDestination
        if destination.isLimitedBroadcast {
            // RFC 1122 §3.3.6: never forwarded; leave by the interface of the source address,
            // else the first interface with an address, else the first interface.
            guard let chosen = interfaces.first(where: { candidate in fixedSource.map { candidate.hasAddress($0) } ?? false })
                ?? interfaces.first(where: { !$0.addresses.isEmpty }) ?? interfaces.first else {
                statistics.ipOutputNoRoute += 1
                throw .noRoute
            }
            interface = chosen
            link = .fixed(.broadcast)
        } else {
            guard let route = routingTable.lookup(destination), let chosen = self.interface(named: route.interfaceName) else {
                statistics.ipOutputNoRoute += 1
                throw .noRoute
            }
            interface = chosen
            if destination.isMulticast {
                link = .fixed(Self.multicastMAC(destination))
            } else if route.gateway == nil && chosen.isSubnetBroadcast(destination) {
                link = .fixed(.broadcast)
            } else {
                link = .resolve(route.nextHop(for: destination))
            }
        }
        guard interface.isUp else {
            statistics.ipOutputInterfaceDown += 1
            throw .interfaceDown
        }
        var hop = destination
        if case .resolve(let nextHop) = link { hop = nextHop }
        let chosenSource = fixedSource ?? interface.sourceAddress(toward: hop) ?? .any
        return OutputPlan(interface: interface, link: link, source: chosenSource, destination: destination)
    }

    /// RFC 1112 §6.4: 01:00:5e followed by the low 23 bits of the group address.
    static func multicastMAC(_ group: IPv4Address) -> MACAddress {
        MACAddress(0x01, 0x00, 0x5e, UInt8(truncatingIfNeeded: group.value >> 16) & 0x7f,
                   UInt8(truncatingIfNeeded: group.value >> 8), UInt8(truncatingIfNeeded: group.value))
    }

    /// Prepends the IPv4 header to the transport message in `packet` and sends it as `plan` says.
    func output(_ packet: inout PacketBuffer, protocolNumber: UInt8, plan: OutputPlan,
                dontFragment: Bool, now: Instant) throws(SendError) {
        let totalLength = IPv4View.minimumHeaderLength + packet.count
        let isLoopback: Bool
        if case .loopback = plan.link { isLoopback = true } else { isLoopback = false }
        guard totalLength <= ReassemblyBuffer.maximumDatagramLength,
              isLoopback || !dontFragment || totalLength <= plan.interface.mtu else {
            statistics.ipOutputTooLong += 1
            throw .messageTooLong
        }
        let header = IPv4Header(source: plan.source, destination: plan.destination,
                                protocolNumber: protocolNumber, ttl: configuration.defaultTTL,
                                identification: nextIdentification, dontFragment: dontFragment)
        nextIdentification &+= 1
        header.prepend(to: &packet)
        switch plan.link {
        case .loopback:
            guard loopbackQueue.count < NetworkStack.loopbackQueueLimit else {
                statistics.loopbackDrops += 1
                return
            }
            loopbackQueue.append((packet.bytes, plan.interface.index))
            statistics.loopbackPackets += 1
        case .fixed(let mac):
            transmitDatagram(packet, to: mac, on: plan.interface, now: now)
        case .resolve(let nextHop):
            linkOutput(packet, nextHop: nextHop, linkBroadcast: false, on: plan.interface, now: now)
        }
    }

    // MARK: Input

    func isOurAddress(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.hasAddress(address) }
    }

    func isSubnetBroadcastOfAny(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.isSubnetBroadcast(address) }
    }

    /// RFC 1122 §3.2.1: validate, accept only what is addressed to us, reassemble, deliver.
    func handleIPv4(_ bytes: UnsafeRawBufferPointer, on interface: Interface, linkBroadcast: Bool, now: Instant) {
        statistics.ipPacketsReceived += 1
        guard let ip = IPv4View(bytes) else {
            statistics.ipDroppedMalformed += 1
            return
        }
        guard ip.isChecksumValid else {
            statistics.ipDroppedBadChecksum += 1
            return
        }
        let source = ip.source
        // RFC 1122 §3.2.1.3: a source that is not one host is discarded; 0.0.0.0 is allowed
        // (a host learning its address, e.g. DHCP).
        guard source.isUnspecified || (source.isUnicastHost && !interface.isSubnetBroadcast(source)) else {
            statistics.ipDroppedMartianSource += 1
            return
        }
        let destination = ip.destination
        // The weak host model (RFC 1122 §3.3.4.2): any of our addresses, on any interface.
        let isBroadcast = destination.isLimitedBroadcast || interface.isSubnetBroadcast(destination)
        guard isBroadcast || isOurAddress(destination) || isForDHCPClient(ip, on: interface) else {
            statistics.ipDroppedNotForUs += 1
            return
        }
        if ip.isFragment {
            reassemble(ip, on: interface, isBroadcast: isBroadcast, linkBroadcast: linkBroadcast, now: now)
            return
        }
        deliver(ip, on: interface, isBroadcast: isBroadcast, linkBroadcast: linkBroadcast, now: now)
    }

    private func reassemble(_ ip: IPv4View, on interface: Interface, isBroadcast: Bool, linkBroadcast: Bool, now: Instant) {
        statistics.ipFragmentsReceived += 1
        let key = ReassemblyKey(source: ip.source, destination: ip.destination,
                                protocolNumber: ip.protocolNumber, identification: ip.identification)
        let evictionsBefore = reassembly.evictions
        let outcome = reassembly.insert(key: key, offset: ip.fragmentOffset, moreFragments: ip.moreFragments,
                                        header: ip.header, payload: ip.payload, now: now)
        statistics.reassemblyMemoryDrops += reassembly.evictions - evictionsBefore
        switch outcome {
        case .incomplete:
            return
        case .duplicate:
            statistics.reassemblyDuplicates += 1
        case .dropped(.overlap):
            statistics.reassemblyOverlaps += 1
            emit("ip: overlapping fragments of datagram \(key.identification) from \(key.source), dropped")
        case .dropped(.malformed):
            statistics.reassemblyMalformed += 1
        case .dropped(.memoryLimit):
            statistics.reassemblyMemoryDrops += 1
        case .complete(let header, let payload):
            let totalLength = header.count + payload.count
            guard totalLength <= ReassemblyBuffer.maximumDatagramLength,
                  header.count >= IPv4View.minimumHeaderLength else {
                statistics.reassemblyMalformed += 1
                return
            }
            var datagram = header
            datagram.append(contentsOf: payload)
            datagram.withUnsafeMutableBytes { bytes in
                // The whole datagram: offset 0, no More Fragments, the full length, new checksum.
                let flags = UnsafeRawBufferPointer(bytes).getUInt16(at: IPv4View.Field.flagsAndFragmentOffset.lowerBound)
                    & (IPv4View.Flag.reserved | IPv4View.Flag.dontFragment)
                bytes.setUInt16(flags, at: IPv4View.Field.flagsAndFragmentOffset.lowerBound)
                bytes.setUInt16(UInt16(totalLength), at: IPv4View.Field.totalLength.lowerBound)
                bytes.setUInt16(0, at: IPv4View.Field.headerChecksum.lowerBound)
                let checksum = InternetChecksum.compute(UnsafeRawBufferPointer(bytes.slice(0..<header.count)))
                bytes.setUInt16(checksum, at: IPv4View.Field.headerChecksum.lowerBound)
            }
            statistics.ipDatagramsReassembled += 1
            datagram.withUnsafeBytes { bytes in
                guard let whole = IPv4View(bytes) else {
                    statistics.reassemblyMalformed += 1
                    return
                }
                deliver(whole, on: interface, isBroadcast: isBroadcast, linkBroadcast: linkBroadcast, now: now)
            }
        }
    }

    private func deliver(_ ip: IPv4View, on interface: Interface, isBroadcast: Bool, linkBroadcast: Bool, now: Instant) {
        statistics.ipPacketsDelivered += 1
        switch ip.protocolNumber {
        case IPProtocol.icmp:
            handleICMP(ip, isBroadcast: isBroadcast, now: now)
        case IPProtocol.udp:
            handleUDP(ip, on: interface, linkBroadcast: linkBroadcast, now: now)
        case IPProtocol.tcp:
            handleTCP(ip, on: interface, isBroadcast: isBroadcast || linkBroadcast, now: now)
        default:
            statistics.ipDroppedUnknownProtocol += 1
            // RFC 1122 §3.2.2.1: protocol unreachable for a transport we do not implement.
            sendICMPError(.destinationUnreachable(code: ICMPv4UnreachableCode.protocolUnreachable, nextHopMTU: 0),
                          quoting: ip.bytes, linkBroadcast: linkBroadcast, now: now)
        }
    }
}
