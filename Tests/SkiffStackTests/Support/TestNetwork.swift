import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Two stacks joined by a `MemoryLink` in 198.18.0.0/24, with a manual clock.
final class TwoStacks {
    static let addressA = IPv4Address(198, 18, 0, 1)
    static let addressB = IPv4Address(198, 18, 0, 2)
    static let subnet = 24

    let link: MemoryLink
    let a: NetworkStack
    let b: NetworkStack
    let interfaceA: Interface
    let interfaceB: Interface
    var now = Instant(nanoseconds: 1_000_000_000)
    var logA: [String] = []
    var logB: [String] = []

    init(configuration: StackConfiguration = StackConfiguration(), mtu: Int = 1500, seed: UInt64 = 1) {
        link = MemoryLink(mtu: mtu, seed: seed)
        a = NetworkStack(configuration: configuration)
        b = NetworkStack(configuration: configuration)
        interfaceA = a.addInterface(link.a)
        interfaceB = b.addInterface(link.b)
        a.log = { [unowned self] in self.logA.append($0) }
        b.log = { [unowned self] in self.logB.append($0) }
        a.addAddress(IPv4CIDR(address: Self.addressA, prefixLength: Self.subnet), to: interfaceA, now: now)
        b.addAddress(IPv4CIDR(address: Self.addressB, prefixLength: Self.subnet), to: interfaceB, now: now)
        settle()
        // Start the tests with nothing in flight and nothing recorded.
        _ = link.a.takeTransmitted()
        _ = link.b.takeTransmitted()
    }

    /// Polls both stacks until no frame is waiting on the link (bounded).
    func settle(file: StaticString = #filePath, line: UInt = #line) {
        for _ in 0..<1000 {
            _ = a.poll(now: now)
            _ = b.poll(now: now)
            if link.a.receiveQueue.isEmpty && link.b.receiveQueue.isEmpty
                && a.loopbackQueue.isEmpty && b.loopbackQueue.isEmpty { return }
        }
        XCTFail("link did not settle", file: file, line: line)
    }

    /// Moves the clock by `interval` and settles.
    func advance(_ interval: Interval) {
        now = now + interval
        settle()
    }
}

/// A decoded frame, for assertions.
struct DecodedFrame {
    var ethernet: EthernetHeader
    var arp: ARPPacket?
    var ip: IPv4Header?
    /// The IPv4 payload.
    var ipPayload: [UInt8] = []
    var icmp: ICMPv4Header?
    var udp: UDPHeader?

    init?(_ frame: [UInt8]) {
        guard let parsed = frame.withUnsafeBytes({ try? EthernetHeader.parse($0) }) else { return nil }
        ethernet = parsed
        let payload = Array(frame[parsed.encodedLength...])
        switch parsed.etherType {
        case EtherType.arp:
            arp = payload.withUnsafeBytes { try? ARPPacket.parse($0) }
        case EtherType.ipv4:
            payload.withUnsafeBytes { bytes in
                guard let view = IPv4View(bytes) else { return }
                ip = try? IPv4Header.parse(bytes)
                ipPayload = Array(view.payload)
                if view.fragmentOffset == 0 && view.protocolNumber == IPProtocol.icmp && !view.moreFragments {
                    icmp = try? ICMPv4Header.parse(view.payload)
                }
                if view.fragmentOffset == 0 && view.protocolNumber == IPProtocol.udp {
                    udp = try? UDPHeader.parse(view.payload)
                }
            }
        default:
            break
        }
    }
}

func decode(_ frames: [[UInt8]]) -> [DecodedFrame] { frames.compactMap(DecodedFrame.init) }

/// Builds an Ethernet frame holding an IPv4 datagram (or fragment) with the given payload.
func ipv4Frame(from source: IPv4Address, to destination: IPv4Address, protocolNumber: UInt8,
               payload: [UInt8], identification: UInt16 = 0x1234, fragmentOffset: Int = 0,
               moreFragments: Bool = false, dontFragment: Bool = false, ttl: UInt8 = 64,
               sourceMAC: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0a),
               destinationMAC: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0b)) -> [UInt8] {
    var packet = PacketBuffer(payload)
    IPv4Header(source: source, destination: destination, protocolNumber: protocolNumber, ttl: ttl,
               identification: identification, dontFragment: dontFragment, moreFragments: moreFragments,
               fragmentOffset: fragmentOffset).prepend(to: &packet)
    EthernetHeader(destination: destinationMAC, source: sourceMAC, etherType: EtherType.ipv4).prepend(to: &packet)
    return packet.bytes
}

/// A UDP datagram (header and payload) with a correct checksum.
func udpMessage(from source: IPv4Address, port sourcePort: UInt16, to destination: IPv4Address,
                port destinationPort: UInt16, payload: [UInt8]) -> [UInt8] {
    var packet = PacketBuffer(payload)
    UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, length: 0)
        .prepend(to: &packet, source: source, destination: destination)
    return packet.bytes
}

/// An ICMP message with a correct checksum.
func icmpMessage(_ message: ICMPv4Message, body: [UInt8]) -> [UInt8] {
    var packet = PacketBuffer(body)
    ICMPv4Header(message: message).prepend(to: &packet)
    return packet.bytes
}

func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
}
