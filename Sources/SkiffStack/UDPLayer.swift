import SkiffPlatform
import SkiffWire

// UDP input and output (RFC 768, RFC 1122 §4.1).

extension NetworkStack {
    func handleUDP(_ ip: IPv4View, on interface: Interface, linkBroadcast: Bool, now: Instant) {
        statistics.udpReceived += 1
        guard let udp = UDPView(ip.payload) else {
            statistics.udpDroppedMalformed += 1
            return
        }
        guard udp.verifyChecksum(source: ip.source, destination: ip.destination) else {
            statistics.udpDroppedBadChecksum += 1
            return
        }
        // A DHCP client on the receiving interface takes what arrives for port 68 there.
        if udp.destinationPort == DHCPPort.clientPort, let port = interface.dhcpPort {
            port.deliver(DHCPPort.Received(payload: Array(udp.payload), source: ip.source,
                                           destination: ip.destination))
            statistics.udpDelivered += 1
            return
        }
        guard let endpoint = udpSockets.lookup(port: udp.destinationPort, address: ip.destination) else {
            statistics.udpNoPort += 1
            // RFC 1122 §4.1.3.1: port unreachable (suppressed for broadcasts by the error rules).
            sendICMPError(.destinationUnreachable(code: ICMPv4UnreachableCode.port, nextHopMTU: 0),
                          quoting: ip.bytes, linkBroadcast: linkBroadcast, now: now)
            return
        }
        let datagram = UDPDatagram(payload: Array(udp.payload), source: ip.source, sourcePort: udp.sourcePort,
                                   destination: ip.destination, destinationPort: udp.destinationPort)
        if endpoint.deliver(datagram) {
            statistics.udpDelivered += 1
        } else {
            statistics.udpReceiveQueueOverflows += 1
        }
    }

    func sendUDP(_ payload: UnsafeRawBufferPointer, from localAddress: IPv4Address, port localPort: UInt16,
                 to address: IPv4Address, port remotePort: UInt16, dontFragment: Bool, now: Instant) throws(SendError) {
        guard payload.count <= ReassemblyBuffer.maximumDatagramLength - IPv4View.minimumHeaderLength
            - UDPView.headerLength else {
            statistics.ipOutputTooLong += 1
            throw .messageTooLong
        }
        let plan = try planOutput(to: address, from: localAddress)
        var packet = PacketBuffer(copying: payload)
        UDPHeader(sourcePort: localPort, destinationPort: remotePort, length: 0)
            .prepend(to: &packet, source: plan.source, destination: address)
        try output(&packet, protocolNumber: IPProtocol.udp, plan: plan, dontFragment: dontFragment, now: now)
        statistics.udpSent += 1
    }

    /// RFC 2131 §4.1: a server may send its reply to the address it offers (`yiaddr`) at the
    /// client's hardware address before the client has configured that address. Such a datagram
    /// (UDP to port 68, not a fragment) is accepted on an interface that runs a DHCP client.
    func isForDHCPClient(_ ip: IPv4View, on interface: Interface) -> Bool {
        guard interface.dhcpPort != nil, ip.protocolNumber == IPProtocol.udp, !ip.isFragment,
              let udp = UDPView(ip.payload) else { return false }
        return udp.destinationPort == DHCPPort.clientPort
    }

    /// Sends a UDP datagram out of `interface` from exactly `source`, which may be 0.0.0.0 (a host
    /// that has no address yet, RFC 2131 §4.1, RFC 1122 §3.2.1.3). 255.255.255.255 leaves as a
    /// link broadcast; another destination goes to the next hop of its route when that route uses
    /// this interface, else straight to the destination on the link.
    func sendUDP(_ payload: [UInt8], on interface: Interface, from source: IPv4Address, port sourcePort: UInt16,
                 to destination: IPv4Address, port destinationPort: UInt16, now: Instant) throws(SendError) {
        guard payload.count <= interface.mtu - IPv4View.minimumHeaderLength - UDPView.headerLength else {
            statistics.ipOutputTooLong += 1
            throw .messageTooLong
        }
        guard !destination.isUnspecified else {
            statistics.ipOutputNoRoute += 1
            throw .noRoute
        }
        guard interface.isUp else {
            statistics.ipOutputInterfaceDown += 1
            throw .interfaceDown
        }
        let link: OutputPlan.LinkDestination
        if destination.isLimitedBroadcast || interface.isSubnetBroadcast(destination) {
            link = .fixed(.broadcast)
        } else if let route = routingTable.lookup(destination), route.interfaceName == interface.name {
            link = .resolve(route.nextHop(for: destination))
        } else {
            link = .resolve(destination)
        }
        let plan = OutputPlan(interface: interface, link: link, source: source, destination: destination)
        var packet = PacketBuffer(payload)
        UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, length: 0)
            .prepend(to: &packet, source: source, destination: destination)
        try output(&packet, protocolNumber: IPProtocol.udp, plan: plan, dontFragment: false, now: now)
        statistics.udpSent += 1
    }
}
