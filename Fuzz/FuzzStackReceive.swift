// Fuzz target for the stack's receive paths (Ethernet, ARP, IPv4 with reassembly, ICMP, UDP) and
// its timers. The input is a little program: each step either delivers a frame (raw, or built
// with valid Ethernet/IPv4 headers and checksums so the fuzzer reaches the upper layers), moves
// the clock, or sends from an application socket. After every step the stack's bounds are checked;
// a violation is a finding. Compiled as one module with the SkiffWire, SkiffPlatform and
// SkiffStack sources, their `import Skiff…` lines removed:
//
//   mkdir -p /tmp/stack-fuzz-src && for f in Sources/SkiffPlatform/*.swift Sources/SkiffStack/*.swift; do
//       grep -v '^import Skiff' "$f" > /tmp/stack-fuzz-src/$(basename "$f"); done
//   swiftc -sanitize=fuzzer,address -parse-as-library -O Sources/SkiffWire/*.swift /tmp/stack-fuzz-src/*.swift \
//       Fuzz/StackReceive.swift -o /tmp/stack-receive-fuzz && /tmp/stack-receive-fuzz -max_total_time=60

final class FuzzDevice: NetworkDevice {
    let name = "fuzz0"
    let macAddress = MACAddress(0x02, 0, 0, 0, 0, 0x02)
    let mtu = 576
    var isLinkUp = true
    var pending: [[UInt8]] = []
    var transmitted = 0

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let count = Swift.min(budget, pending.count)
        let frames = Array(pending.prefix(count))
        pending.removeFirst(count)
        for frame in frames { frame.withUnsafeBytes { body($0) } }
        return count
    }

    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard length <= mtu + 14 else { fatalError("stack transmitted a frame longer than the MTU") }
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { fill($0) }
        transmitted += 1
        return transmitted % 7 == 0 ? .again : .ok
    }
}

let fuzzPeers = [IPv4Address(198, 18, 0, 1), IPv4Address(198, 18, 0, 2), IPv4Address(198, 18, 0, 255),
                 IPv4Address.broadcast, IPv4Address(0), IPv4Address(198, 19, 0, 7), IPv4Address(224, 0, 0, 1),
                 IPv4Address(198, 18, 0, 3)]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands us `size` readable bytes at `data`.
    var input = ByteCursor(UnsafeRawBufferPointer(start: data, count: size))
    var configuration = StackConfiguration()
    configuration.reassemblyMemoryLimit = 8 * 1024
    configuration.reassemblyTimeout = .seconds(3)
    configuration.arpPendingPacketsPerAddress = 2
    configuration.udpReceiveQueueLength = 4
    let stack = NetworkStack(configuration: configuration)
    let device = FuzzDevice()
    let interface = stack.addInterface(device)
    var now = Instant(nanoseconds: 1_000_000_000)
    stack.addAddress(IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24), to: interface, now: now)
    stack.addRoute(IPv4CIDR(address: IPv4Address(0), prefixLength: 0), via: IPv4Address(198, 18, 0, 1), interface: interface)
    let socket = try? stack.udpBind(port: 7)

    // Bounded: every step consumes at least one byte.
    while let op = input.readUInt8() {
        switch op % 5 {
        case 0:
            // A raw frame.
            guard let length = input.readUInt8(), let frame = input.readBytes(Swift.min(Int(length) * 4, input.readableBytes)) else { break }
            device.pending.append(Array(frame))
        case 1:
            // An IPv4 datagram or fragment with valid headers; the transport checksum is fixed up.
            guard let a = input.readUInt8(), let b = input.readUInt8(), let proto = input.readUInt8(),
                  let flags = input.readUInt16(), let length = input.readUInt8(),
                  let body = input.readBytes(Swift.min(Int(length) * 4, input.readableBytes)) else { break }
            let source = fuzzPeers[Int(a) % fuzzPeers.count]
            let destination = fuzzPeers[Int(b) % fuzzPeers.count]
            let protocolNumber: UInt8 = [IPProtocol.icmp, IPProtocol.udp, proto][Int(proto) % 3]
            var payload = Array(body)
            let offset = Int(flags & 0x1fff) * 8
            if offset == 0 && flags & 0x2000 == 0 { fixChecksum(&payload, protocolNumber, source, destination) }
            var packet = PacketBuffer(payload)
            IPv4Header(source: source, destination: destination, protocolNumber: protocolNumber,
                       identification: UInt16(a & 3), moreFragments: flags & 0x2000 != 0,
                       fragmentOffset: offset).prepend(to: &packet)
            EthernetHeader(destination: op & 0x80 != 0 ? .broadcast : device.macAddress,
                           source: MACAddress(0x02, 0, 0, 0, 0, 1), etherType: EtherType.ipv4).prepend(to: &packet)
            device.pending.append(packet.bytes)
        case 2:
            // An ARP packet about the peers.
            guard let a = input.readUInt8(), let b = input.readUInt8() else { break }
            var packet = PacketBuffer(capacity: 28)
            ARPPacket(operation: a & 1 == 0 ? .request : .reply, senderMAC: MACAddress(0x02, 0, 0, 0, 0, a),
                      senderIP: fuzzPeers[Int(a >> 1) % fuzzPeers.count], targetMAC: .zero,
                      targetIP: fuzzPeers[Int(b) % fuzzPeers.count]).prepend(to: &packet)
            EthernetHeader(destination: .broadcast, source: MACAddress(0x02, 0, 0, 0, 0, a), etherType: EtherType.arp)
                .prepend(to: &packet)
            device.pending.append(packet.bytes)
        case 3:
            guard let step = input.readUInt8() else { break }
            now = now + .milliseconds(Int64(step) * 50)
        default:
            guard let target = input.readUInt8(), let length = input.readUInt16() else { break }
            let payload = [UInt8](repeating: target, count: Int(length % 2048))
            _ = try? socket?.send(payload, to: fuzzPeers[Int(target) % fuzzPeers.count], port: 9, now: now)
            if target & 0x80 != 0 {
                _ = try? stack.sendEchoRequest(to: fuzzPeers[Int(target) % fuzzPeers.count], identifier: 1,
                                               sequence: length, payload: payload, now: now)
            }
        }
        _ = stack.poll(now: now)
        _ = socket?.receive()
        _ = stack.takeEchoReplies()
        checkBounds(stack, configuration)
    }
    _ = stack.poll(now: now + .seconds(100))
    _ = stack.poll(now: now + .seconds(200))
    checkBounds(stack, configuration)
    if stack.reassembly.count != 0 { fatalError("partial datagrams outlived the reassembly timeout") }
    return 0
}

func checkBounds(_ stack: NetworkStack, _ configuration: StackConfiguration) {
    if stack.reassembly.memoryUsed > configuration.reassemblyMemoryLimit || stack.reassembly.memoryUsed < 0 {
        fatalError("reassembly memory out of bounds")
    }
    for interface in stack.interfaces {
        if interface.arp.count > configuration.arpCacheMaxEntries { fatalError("ARP cache over its bound") }
        if interface.transmitBacklog.count > configuration.transmitBacklogLength { fatalError("backlog over its bound") }
        for entry in interface.arp.entries.values {
            if case .pending(let pending) = entry, pending.packets.count > configuration.arpPendingPacketsPerAddress {
                fatalError("ARP queue over its bound")
            }
        }
    }
}

/// Puts a correct UDP or ICMP checksum into `payload` when it is long enough to hold one.
func fixChecksum(_ payload: inout [UInt8], _ protocolNumber: UInt8, _ source: IPv4Address, _ destination: IPv4Address) {
    if protocolNumber == IPProtocol.udp && payload.count >= 8 {
        payload[4] = UInt8(truncatingIfNeeded: payload.count >> 8)
        payload[5] = UInt8(truncatingIfNeeded: payload.count)
        payload[6] = 0; payload[7] = 0
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp, length: payload.count)
        sum.add(payload)
        payload[6] = UInt8(sum.checksum >> 8); payload[7] = UInt8(sum.checksum & 0xff)
    } else if protocolNumber == IPProtocol.icmp && payload.count >= 8 {
        payload[2] = 0; payload[3] = 0
        let checksum = payload.withUnsafeBytes { InternetChecksum.compute($0) }
        payload[2] = UInt8(checksum >> 8); payload[3] = UInt8(checksum & 0xff)
    }
}
