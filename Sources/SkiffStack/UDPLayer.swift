import SkiffPlatform
import SkiffWire

// UDP input and output (RFC 768, RFC 1122 §4.1).

extension NetworkStack {
    func handleUDP(_ ip: IPv4View, linkBroadcast: Bool, now: Instant) {
        statistics.udpReceived += 1
        guard let udp = UDPView(ip.payload) else {
            statistics.udpDroppedMalformed += 1
            return
        }
        guard udp.verifyChecksum(source: ip.source, destination: ip.destination) else {
            statistics.udpDroppedBadChecksum += 1
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
}
