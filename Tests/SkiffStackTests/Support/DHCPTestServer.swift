import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// What the simulated server saw: one DHCP message from the client, with its headers.
struct SeenDHCP {
    var time: Instant
    var message: DHCPMessage
    var ethernetDestination: MACAddress
    var source: IPv4Address
    var destination: IPv4Address
    var sourcePort: UInt16
    var destinationPort: UInt16
}

/// A DHCP server (RFC 2131 §4.3) simulated at the frame level on the far end of a `MemoryLink`: it
/// reads what the client transmits, answers DISCOVER with an OFFER and REQUEST with an ACK (or a
/// NAK), answers ARP requests for its own address, and can play a host that already uses the
/// offered address. Switches let a test take it down, make it NAK, or rewrite its replies.
final class DHCPTestServer {
    let device: MemoryDevice
    let mac: MACAddress
    var address = IPv4Address(198, 18, 0, 1)
    var offeredAddress = IPv4Address(198, 18, 0, 50)
    var subnetMask: IPv4Address? = IPv4Address(255, 255, 255, 0)
    var leaseTime: UInt32 = 3600
    var renewalTime: UInt32? = nil
    var rebindingTime: UInt32? = nil
    /// False: the DHCP service is down (the host still answers ARP for its address).
    var answering = true
    /// False: DISCOVERs are answered, REQUESTs are not.
    var answerRequests = true
    /// Answer only broadcast REQUESTs (a server that can be reached only while REBINDING).
    var answerOnlyBroadcastRequests = false
    /// Answer REQUESTs with a DHCPNAK.
    var nakRequests = false
    /// Replies go to yiaddr at the client's MAC (RFC 2131 §4.1, BROADCAST bit clear); false:
    /// 255.255.255.255 at the broadcast MAC.
    var unicastReplies = true
    /// Options added to every OFFER and ACK.
    var decorate: ((inout DHCPMessage) -> Void)? = nil
    /// Replaces the encoding of an ACK (RFC 3396 split options, option overload by hand).
    var encodeAck: ((DHCPMessage) -> [UInt8])? = nil
    /// A host that already uses `offeredAddress`: it answers ARP requests and probes for it.
    var conflictingHost: MACAddress? = nil

    private(set) var seen: [SeenDHCP] = []
    private(set) var arpSeen: [(time: Instant, packet: ARPPacket)] = []

    init(device: MemoryDevice) {
        self.device = device
        self.mac = device.macAddress
    }

    func messages(_ type: DHCPMessageType) -> [SeenDHCP] {
        seen.filter { $0.message.messageType == type }
    }

    var probes: [(time: Instant, packet: ARPPacket)] {
        arpSeen.filter { $0.packet.operation == .request && $0.packet.senderIP.isUnspecified }
    }

    /// Handles every frame the client sent since the last call. Returns true when it answered.
    @discardableResult
    func process(now: Instant) -> Bool {
        let frames = device.receiveQueue
        device.receiveQueue = []
        var answered = false
        for frame in frames {
            guard let decoded = DecodedFrame(frame) else { continue }
            if let arp = decoded.arp {
                arpSeen.append((now, arp))
                answered = handleARP(arp) || answered
                continue
            }
            guard let ip = decoded.ip, let udp = decoded.udp, udp.destinationPort == 67,
                  decoded.ipPayload.count > 8 else { continue }
            let payload = Array(decoded.ipPayload[8...])
            guard let message = payload.withUnsafeBytes({ try? DHCPMessage.parse($0) }) else { continue }
            seen.append(SeenDHCP(time: now, message: message, ethernetDestination: decoded.ethernet.destination,
                                 source: ip.source, destination: ip.destination,
                                 sourcePort: udp.sourcePort, destinationPort: udp.destinationPort))
            guard answering else { continue }
            switch message.messageType {
            case .discover?:
                send(reply(to: message, type: .offer))
                answered = true
            case .request?:
                if !answerRequests { continue }
                if answerOnlyBroadcastRequests && !ip.destination.isLimitedBroadcast { continue }
                // A REQUEST in SELECTING names a server; one for another server is not ours.
                if let server = message.serverIdentifier, server != address { continue }
                send(reply(to: message, type: nakRequests ? .nak : .ack))
                answered = true
            default:
                break
            }
        }
        return answered
    }

    private func handleARP(_ arp: ARPPacket) -> Bool {
        guard arp.operation == .request else { return false }
        if let other = conflictingHost, arp.targetIP == offeredAddress {
            injectARP(ARPPacket(operation: .reply, senderMAC: other, senderIP: offeredAddress,
                                targetMAC: arp.senderMAC, targetIP: arp.senderIP), from: other)
            return true
        }
        guard arp.targetIP == address else { return false }
        injectARP(ARPPacket(operation: .reply, senderMAC: mac, senderIP: address,
                            targetMAC: arp.senderMAC, targetIP: arp.senderIP), from: mac)
        return true
    }

    /// Puts an ARP packet on the link as if `source` had sent it.
    func injectARP(_ packet: ARPPacket, from source: MACAddress, to destination: MACAddress? = nil) {
        var buffer = PacketBuffer(capacity: ARPPacket.encodedLength)
        packet.prepend(to: &buffer)
        EthernetHeader(destination: destination ?? packet.targetMAC, source: source, etherType: EtherType.arp)
            .prepend(to: &buffer)
        device.link?.carry(buffer.bytes, from: device)
    }

    func reply(to request: DHCPMessage, type: DHCPMessageType) -> DHCPMessage {
        var reply = DHCPMessage(op: .bootReply, xid: request.xid, chaddr: request.chaddr)
        reply.flags = request.flags
        reply.messageType = type
        reply.serverIdentifier = address
        guard type != .nak else {
            reply.setOption(DHCPOptionCode.message, Array("address not available".utf8))
            return reply
        }
        // RENEWING/REBINDING requests carry ciaddr; the others the requested IP (or nothing).
        reply.yiaddr = request.ciaddr.isUnspecified ? offeredAddress : request.ciaddr
        if type == .ack, request.ciaddr.isUnspecified, let asked = request.requestedIPAddress {
            reply.yiaddr = asked
        }
        reply.leaseTime = leaseTime
        if let renewalTime { reply.renewalTime = renewalTime }
        if let rebindingTime { reply.rebindingTime = rebindingTime }
        reply.subnetMask = subnetMask
        decorate?(&reply)
        return reply
    }

    private func send(_ reply: DHCPMessage) {
        var payload: [UInt8]
        if reply.messageType == .ack, let encodeAck {
            payload = encodeAck(reply)
        } else {
            payload = [UInt8](repeating: 0, count: reply.encodedLength)
            payload.withUnsafeMutableBytes { reply.emit(into: $0) }
        }
        let clientMAC = reply.clientMAC ?? .broadcast
        // RFC 2131 §4.1: ciaddr set → unicast to it; else BROADCAST bit or no unicast → broadcast;
        // else unicast to yiaddr at chaddr. A NAK is always broadcast.
        let toBroadcast = reply.messageType == .nak || !unicastReplies || reply.isBroadcast
        let destination = toBroadcast ? IPv4Address.broadcast : reply.yiaddr
        let udp = udpMessage(from: address, port: 67, to: destination, port: 68, payload: payload)
        let frame = ipv4Frame(from: address, to: destination, protocolNumber: IPProtocol.udp, payload: udp,
                              sourceMAC: mac, destinationMAC: toBroadcast ? .broadcast : clientMAC)
        device.link?.carry(frame, from: device)
    }
}

/// One client stack on a `MemoryLink` with the simulated server on the other end and a manual
/// clock; `run(for:)` moves time from deadline to deadline.
final class DHCPSimulation {
    let link: MemoryLink
    let stack: NetworkStack
    let interface: Interface
    let client: DHCPClient
    let server: DHCPTestServer
    var now = Instant(nanoseconds: 1_000_000_000)
    var events: [(time: Instant, event: DHCPEvent)] = []
    var log: [String] = []

    static let clientMAC = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0a)

    init(configuration: DHCPClientConfiguration = DHCPClientConfiguration(hostName: "app1"), seed: UInt64 = 7,
         mtu: Int = 1500) {
        link = MemoryLink(mtu: mtu, seed: 1)
        stack = NetworkStack()
        interface = stack.addInterface(link.a)
        client = DHCPClient(stack: stack, interface: interface, configuration: configuration, randomSeed: seed)
        server = DHCPTestServer(device: link.b)
        stack.log = { [unowned self] in self.log.append($0) }
        client.log = { [unowned self] in self.log.append($0) }
    }

    func start(remembered: IPv4Address? = nil) {
        client.start(now: now, rememberedAddress: remembered)
        settle()
    }

    /// Polls the stack, steps the client and lets the server answer until nothing moves.
    func settle() {
        for _ in 0..<100 {
            stack.poll(now: now)
            client.step(now: now)
            for event in client.takeEvents() { events.append((now, event)) }
            let answered = server.process(now: now)
            if !answered && link.a.receiveQueue.isEmpty { return }
        }
        XCTFail("the DHCP simulation did not settle")
    }

    /// Runs until `end`, jumping from one deadline (the client's or the stack's) to the next.
    func run(until end: Instant) {
        settle()
        for _ in 0..<100_000 {
            var next = client.nextDeadline
            if let stackDeadline = stack.poll(now: now) { next = min(next ?? stackDeadline, stackDeadline) }
            guard let due = next, due <= end else { break }
            now = max(now, due)
            settle()
        }
        now = max(now, end)
        settle()
    }

    func run(for interval: Interval) { run(until: now + interval) }

    /// Runs until the client reaches `state` (at most `limit`); true if it did.
    @discardableResult
    func run(untilState state: DHCPClientState, limit: Interval = .seconds(600)) -> Bool {
        let end = now + limit
        settle()
        for _ in 0..<100_000 {
            if client.state == state { break }
            var next = client.nextDeadline
            if let stackDeadline = stack.poll(now: now) { next = min(next ?? stackDeadline, stackDeadline) }
            guard let due = next, due <= end else { break }
            now = max(now, due)
            settle()
        }
        return client.state == state
    }

}
