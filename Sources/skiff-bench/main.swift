// skiff-bench: the workloads that `Scripts/bench.sh` runs under `valgrind --tool=callgrind`.
// Each mode repeats one operation N times; the script runs two counts and divides the difference
// in instructions by the difference in N, so start-up cost cancels out.
import SkiffPlatform
import SkiffStack
import SkiffWire

#if canImport(Glibc)
import Glibc
#endif

/// A device that hands the stack the same received frame over and over and discards what it sends.
final class LoopbackBenchDevice: NetworkDevice {
    let name = "bench0"
    let macAddress = MACAddress(0x02, 0, 0, 0, 0, 0x02)
    let mtu = 1500
    let isLinkUp = true
    var pending: [[UInt8]] = []
    var transmitted = 0

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        while handed < budget, !pending.isEmpty {
            let frame = pending.removeFirst()
            frame.withUnsafeBytes { body($0) }
            handed += 1
        }
        return handed
    }

    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { fill($0) }
        transmitted += 1
        return .ok
    }
}

let stackMAC = MACAddress(0x02, 0, 0, 0, 0, 0x02)
let peerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let stackIP = IPv4Address(198, 18, 0, 2)
let peerIP = IPv4Address(198, 18, 0, 1)

func frame(_ etherType: UInt16, _ packet: PacketBuffer) -> [UInt8] {
    var p = packet
    EthernetHeader(destination: stackMAC, source: peerMAC, etherType: etherType).prepend(to: &p)
    return p.bytes
}

func tcpFrame() -> [UInt8] {
    var p = PacketBuffer([UInt8](repeating: 0x61, count: 64))
    TCPHeader(sourcePort: 40000, destinationPort: 80, sequenceNumber: 1, acknowledgmentNumber: 1,
              flags: [.ack, .psh], window: 502,
              options: [.noOperation, .noOperation, .timestamps(value: 1, echoReply: 2)])
        .prepend(to: &p, source: peerIP, destination: stackIP)
    IPv4Header(source: peerIP, destination: stackIP, protocolNumber: IPProtocol.tcp).prepend(to: &p)
    return frame(EtherType.ipv4, p)
}

func echoRequestFrame(sequence: UInt16) -> [UInt8] {
    var p = PacketBuffer([UInt8](repeating: 0x55, count: 56))
    ICMPv4Header(message: .echoRequest(identifier: 7, sequence: sequence), checksum: 0).prepend(to: &p)
    IPv4Header(source: peerIP, destination: stackIP, protocolNumber: IPProtocol.icmp).prepend(to: &p)
    return frame(EtherType.ipv4, p)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count >= 0 else {
    print("usage: skiff-bench parse|parse-view|echo COUNT")
    exit(2)
}

switch arguments[1] {
case "parse":
    // Ethernet + IPv4 + TCP: validate and read every header field a receive path needs.
    let bytes = tcpFrame()
    var checksum: UInt64 = 0
    bytes.withUnsafeBytes { raw in
        for _ in 0..<count {
            guard let ethernet = EthernetView(raw), let ip = IPv4View(ethernet.payload), ip.isChecksumValid,
                  let tcp = try? TCPHeader.parse(ip.payload, pseudoHeader: (ip.source, ip.destination))
            else { fatalError("bench frame did not parse") }
            checksum &+= UInt64(tcp.sequenceNumber) &+ UInt64(tcp.options.count)
        }
    }
    print("parsed \(count) frames (\(checksum))")
case "parse-view":
    // The same frame through the zero-copy views only, as a receive path reads it: no allocation.
    let bytes = tcpFrame()
    var checksum: UInt64 = 0
    bytes.withUnsafeBytes { raw in
        for _ in 0..<count {
            guard let ethernet = EthernetView(raw), let ip = IPv4View(ethernet.payload), ip.isChecksumValid,
                  let tcp = TCPView(ip.payload), tcp.verifyChecksum(source: ip.source, destination: ip.destination)
            else { fatalError("bench frame did not parse") }
            var reader = TCPOptionReader(tcp.options)
            var options = 0
            while let option = try? reader.next() {
                if case .timestamps = option { options += 1 }
            }
            checksum &+= UInt64(tcp.sequenceNumber) &+ UInt64(options)
        }
    }
    print("parsed \(count) frames (\(checksum))")
case "echo":
    let device = LoopbackBenchDevice()
    let stack = NetworkStack()
    let interface = stack.addInterface(device)
    var now = Instant(nanoseconds: 1_000_000)
    stack.addAddress(IPv4CIDR(address: stackIP, prefixLength: 24), to: interface, now: now)
    // Let the stack learn the peer's MAC from its ARP request, as on a real link.
    var arp = PacketBuffer(capacity: ARPPacket.encodedLength)
    arp.appendZeros(ARPPacket.encodedLength)
    arp.withUnsafeMutableReadableBytes {
        ARPPacket(operation: .request, senderMAC: peerMAC, senderIP: peerIP, targetMAC: .zero, targetIP: stackIP)
            .emit(into: $0)
    }
    device.pending.append(frame(EtherType.arp, arp))
    _ = stack.poll(now: now)
    let sentBefore = device.transmitted
    let request = echoRequestFrame(sequence: 1)
    for _ in 0..<count {
        device.pending.append(request)
        now = now + .microseconds(10)
        _ = stack.poll(now: now)
    }
    guard device.transmitted - sentBefore == count else {
        fatalError("expected \(count) echo replies, got \(device.transmitted - sentBefore)")
    }
    print("echoed \(count) pings")
default:
    print("usage: skiff-bench parse|parse-view|echo COUNT")
    exit(2)
}
