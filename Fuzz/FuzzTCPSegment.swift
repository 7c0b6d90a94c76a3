// fuzz-modules: SkiffWire SkiffPlatform SkiffStack
//
// Fuzz target for TCP's receive path and state machine. The input is a little program run against
// a stack (198.18.0.2) that listens on port 80 and holds connections established with a peer
// (198.18.0.1): each step delivers a segment (raw bytes as the TCP header and payload, or one built
// from fuzzed fields near the connection's sequence numbers), moves the clock, or makes the
// application write, read, shut down or abort. IPv4 and TCP checksums are always made valid so the
// bytes reach the state machine. After every step the configured bounds are checked; a trap or a
// broken bound is a finding. Run by Scripts/fuzz.sh (FuzzTCPSegment).

final class FuzzTCPDevice: NetworkDevice {
    let name = "fuzz0"
    let macAddress = MACAddress(0x02, 0, 0, 0, 0, 0x02)
    let mtu = 1500
    var isLinkUp = true
    var pending: [[UInt8]] = []

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
        return .ok
    }
}

let tcpFuzzPeer = IPv4Address(198, 18, 0, 1)
let tcpFuzzLocal = IPv4Address(198, 18, 0, 2)

func tcpFuzzFrame(_ segment: [UInt8]) -> [UInt8] {
    var bytes = segment
    if bytes.count >= 18 {
        bytes[16] = 0
        bytes[17] = 0
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: tcpFuzzPeer, destination: tcpFuzzLocal, protocol: IPProtocol.tcp, length: bytes.count)
        sum.add(bytes)
        bytes[16] = UInt8(sum.checksum >> 8)
        bytes[17] = UInt8(sum.checksum & 0xff)
    }
    var packet = PacketBuffer(bytes)
    IPv4Header(source: tcpFuzzPeer, destination: tcpFuzzLocal, protocolNumber: IPProtocol.tcp).prepend(to: &packet)
    EthernetHeader(destination: MACAddress(0x02, 0, 0, 0, 0, 0x02), source: MACAddress(0x02, 0, 0, 0, 0, 0x01),
                   etherType: EtherType.ipv4).prepend(to: &packet)
    return packet.bytes
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands us `size` readable bytes at `data`.
    var input = ByteCursor(UnsafeRawBufferPointer(start: data, count: size))
    var configuration = StackConfiguration()
    configuration.tcpReceiveBufferSize = 4096
    configuration.tcpSendBufferSize = 4096
    configuration.tcpSYNQueueLength = 3
    configuration.tcpOutOfOrderRanges = 4
    configuration.tcpMaximumSegmentLifetime = .seconds(2)
    let stack = NetworkStack(configuration: configuration)
    let device = FuzzTCPDevice()
    let interface = stack.addInterface(device)
    var now = Instant(nanoseconds: 1_000_000_000)
    stack.addAddress(IPv4CIDR(address: tcpFuzzLocal, prefixLength: 24), to: interface, now: now)
    stack.addStaticARPEntry(tcpFuzzPeer, mac: MACAddress(0x02, 0, 0, 0, 0, 0x01), on: interface, now: now)
    guard let listener = try? stack.listen(port: 80, backlog: 2) else { return 0 }
    var connections: [TCPConnection] = []
    if let active = try? stack.connect(to: tcpFuzzPeer, port: 9, now: now) { connections.append(active) }

    // Bounded: every step consumes at least one byte.
    while let op = input.readUInt8() {
        switch op % 6 {
        case 0:
            // Raw bytes as a TCP segment.
            guard let length = input.readUInt8(), let body = input.readBytes(Swift.min(Int(length), input.readableBytes)) else { break }
            device.pending.append(tcpFuzzFrame(Array(body)))
        case 1, 2:
            // A well-formed segment with fuzzed fields, near the sequence numbers in use.
            guard let which = input.readUInt8(), let flags = input.readUInt16(), let seqDelta = input.readUInt16(),
                  let ackDelta = input.readUInt16(), let window = input.readUInt16(), let optionByte = input.readUInt8(),
                  let length = input.readUInt8() else { break }
            let blocks = Array(stack.tcp.connections.values)
            let block = blocks.isEmpty ? nil : blocks[Int(which) % blocks.count]
            let sourcePort = block?.tuple.remotePort ?? UInt16(40000 + Int(which & 3))
            let destinationPort = block?.tuple.localPort ?? (which & 0x80 != 0 ? 80 : 81)
            let seqBase = block?.rcvNxt.rawValue ?? 1000
            let ackBase = block?.sndUna.rawValue ?? 0
            var options: [TCPOption] = []
            if optionByte & 1 != 0 { options.append(.maximumSegmentSize(UInt16(optionByte) << 4)) }
            if optionByte & 2 != 0 { options.append(.sackPermitted) }
            if optionByte & 4 != 0 { options.append(.timestamps(value: UInt32(seqDelta) << 8, echoReply: UInt32(ackDelta))) }
            if optionByte & 8 != 0 { options.append(.windowScale(optionByte >> 4)) }
            if optionByte & 16 != 0 {
                options.append(.sack([TCPSACKBlock(left: ackBase &+ UInt32(ackDelta), right: ackBase &+ UInt32(seqDelta))]))
            }
            var payload = PacketBuffer([UInt8](repeating: op, count: Int(length) * 4))
            TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort,
                      sequenceNumber: seqBase &+ UInt32(seqDelta) &- 0x100, acknowledgmentNumber: ackBase &+ UInt32(ackDelta) &- 0x100,
                      flags: TCPFlags(rawValue: flags & TCPFlags.mask), window: window, options: options)
                .prepend(to: &payload, source: tcpFuzzPeer, destination: tcpFuzzLocal)
            device.pending.append(tcpFuzzFrame(payload.bytes))
        case 3:
            guard let step = input.readUInt8() else { break }
            now = now + .milliseconds(Int64(step) * 20)
        case 4:
            guard let which = input.readUInt8(), let amount = input.readUInt16() else { break }
            if let accepted = listener.acceptConnection() { connections.append(accepted) }
            guard !connections.isEmpty else { break }
            let connection = connections[Int(which) % connections.count]
            switch which % 5 {
            case 0: _ = connection.write([UInt8](repeating: which, count: Int(amount % 6000)))
            case 1: _ = connection.read { $0.count / 2 }
            case 2: connection.shutdownWrite()
            case 3: connection.isNagleEnabled.toggle()
            default: connection.isKeepAliveEnabled.toggle()
            }
        default:
            guard let which = input.readUInt8() else { break }
            guard !connections.isEmpty else { break }
            let connection = connections[Int(which) % connections.count]
            if which & 1 == 0 { connection.close() } else { connection.abort() }
        }
        _ = stack.poll(now: now)
        tcpCheckBounds(stack, configuration, listener)
    }
    // Every connection ends: the timers run out (TIME-WAIT, retransmission limits, FIN-WAIT-2).
    for connection in connections { connection.abort() }
    for step in 1...40 { _ = stack.poll(now: now + .seconds(Int64(step) * 60)) }
    tcpCheckBounds(stack, configuration, listener)
    return 0
}

func tcpCheckBounds(_ stack: NetworkStack, _ configuration: StackConfiguration, _ listener: TCPListener) {
    if listener.synQueueCount > configuration.tcpSYNQueueLength || listener.synQueueCount < 0 {
        fatalError("SYN queue out of bounds")
    }
    if listener.pendingCount > 2 { fatalError("backlog over its bound") }
    for block in stack.tcp.connections.values {
        if block.receiveBuffer.count > configuration.tcpReceiveBufferSize { fatalError("receive buffer over its bound") }
        if block.sendBuffer.count > configuration.tcpSendBufferSize { fatalError("send buffer over its bound") }
        if block.reassembly.ranges.count > configuration.tcpOutOfOrderRanges { fatalError("out-of-order ranges over their bound") }
        if block.sndUna > block.sndMax { fatalError("SND.UNA beyond SND.MAX") }
        if block.state == .closed { fatalError("a closed connection stayed in the table") }
    }
}
