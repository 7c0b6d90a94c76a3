// Fuzz target for the IP-layer wire formats (named EthernetFrame.swift because swiftc rejects two
// files named Ethernet.swift in one module): an Ethernet frame, then ARP or IPv4 by EtherType,
// then ICMPv4 by protocol number. Each value that parses is emitted and re-parsed; a difference is
// a finding. Compiled as one module with Sources/SkiffWire/*.swift (no `import SkiffWire`):
//
//   swiftc -sanitize=fuzzer,address -parse-as-library -O Sources/SkiffWire/*.swift Fuzz/EthernetFrame.swift \
//       -o /tmp/ethernet-fuzz && /tmp/ethernet-fuzz -max_total_time=60

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands us `size` readable bytes at `data`.
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    fuzzEthernet(bytes)
    // Also try the inner parsers directly, so they see inputs without a valid Ethernet header.
    fuzzIPv4(bytes)
    fuzzARP(bytes)
    fuzzICMPv4(bytes)
    return 0
}

/// Emits with `body` into a fresh array of `count` bytes.
func emitted(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { body($0) }
    return out
}

func fuzzEthernet(_ bytes: UnsafeRawBufferPointer) {
    guard let view = EthernetView(bytes) else {
        if (try? EthernetHeader.parse(bytes)) != nil { fatalError("Ethernet parse succeeded without a view") }
        return
    }
    let header = EthernetHeader(view)
    guard header.encodedLength == view.headerLength, view.vlanTags.count == view.tagCount,
          view.payload.count == bytes.count - view.headerLength else {
        fatalError("Ethernet view lengths disagree")
    }
    var packet = PacketBuffer(copying: view.payload)
    header.prepend(to: &packet)
    let frame = packet.bytes
    let again = frame.withUnsafeBytes { try? EthernetHeader.parse($0) }
    guard again == header else { fatalError("Ethernet round trip differs") }
    guard frame.elementsEqual(bytes) else { fatalError("Ethernet re-emit is not byte for byte") }

    switch view.etherType {
    case EtherType.arp: fuzzARP(view.payload)
    case EtherType.ipv4: fuzzIPv4(view.payload)
    default: break
    }
}

func fuzzARP(_ bytes: UnsafeRawBufferPointer) {
    let parsed = try? ARPPacket.parse(bytes)
    guard let view = ARPView(bytes) else {
        if parsed != nil { fatalError("ARP parse succeeded without a view") }
        return
    }
    let packet = ARPPacket(view)
    guard parsed == packet else { fatalError("ARP parse and view disagree") }
    let out = emitted(ARPPacket.encodedLength) { packet.emit(into: $0) }
    guard out.elementsEqual(view.bytes) else { fatalError("ARP re-emit is not byte for byte") }
    guard out.withUnsafeBytes({ try? ARPPacket.parse($0) }) == packet else { fatalError("ARP round trip differs") }
}

func fuzzIPv4(_ bytes: UnsafeRawBufferPointer) {
    _ = IPv4QuotedView(bytes).map { ($0.sourcePort, $0.destinationPort, $0.payload.count, $0.fragmentOffset) }
    _ = ICMPv4Header.errorQuote(of: bytes).count
    let parsed = try? IPv4Header.parse(bytes)
    guard let view = IPv4View(bytes) else {
        if parsed != nil { fatalError("IPv4 parse succeeded without a view") }
        return
    }
    guard view.totalLength == view.headerLength + view.payload.count,
          view.options.count == view.headerLength - 20 else { fatalError("IPv4 view lengths disagree") }
    let header = IPv4Header(view)
    if let parsed, parsed != header { fatalError("IPv4 parse and view disagree") }
    if (parsed != nil) != view.isChecksumValid { fatalError("IPv4 parse ignores the checksum") }

    // Emit as-is: the same header bytes and, re-viewed, the same value.
    let out = emitted(view.totalLength) { out in
        header.emit(into: out)
        out.setBytes(view.payload, at: header.headerLength)
    }
    guard out.elementsEqual(view.bytes) else { fatalError("IPv4 re-emit is not byte for byte") }

    // Prepend computes a checksum that verifies and keeps every other field.
    var packet = PacketBuffer(copying: view.payload)
    header.prepend(to: &packet)
    guard let rebuilt = packet.bytes.withUnsafeBytes({ try? IPv4Header.parse($0) }) else {
        fatalError("IPv4 prepend produced an unparsable header")
    }
    var expected = header
    expected.headerChecksum = rebuilt.headerChecksum
    guard rebuilt == expected else { fatalError("IPv4 prepend round trip differs") }

    // RFC 1624: an incremental TTL decrement equals a full recompute.
    var copy = packet.bytes
    let decremented = copy.withUnsafeMutableBytes { IPv4Header.decrementTTL(in: $0) }
    if decremented != (header.ttl > 1) { fatalError("decrementTTL result wrong") }
    if decremented {
        guard let after = copy.withUnsafeBytes({ try? IPv4Header.parse($0) }), after.ttl == header.ttl - 1
        else { fatalError("decrementTTL broke the checksum") }
    }

    if view.protocolNumber == IPProtocol.icmp && !view.isFragment { fuzzICMPv4(view.payload) }
}

func fuzzICMPv4(_ bytes: UnsafeRawBufferPointer) {
    let parsed = try? ICMPv4Header.parse(bytes)
    guard let view = ICMPv4View(bytes) else {
        if parsed != nil { fatalError("ICMPv4 parse succeeded without a view") }
        return
    }
    let header = ICMPv4Header(view)
    if let parsed, parsed != header { fatalError("ICMPv4 parse and view disagree") }
    let message = view.message
    guard message.type == view.type, message.code == view.code, message.restOfHeader == view.restOfHeader
    else { fatalError("ICMPv4 message does not re-encode its fields") }
    if let quote = view.quotedDatagram {
        _ = (quote.sourcePort, quote.destinationPort, quote.totalLength, quote.source, quote.header.count)
    }

    let out = emitted(ICMPv4Header.encodedLength) { header.emit(into: $0) }
    guard out.elementsEqual(bytes.slice(0..<ICMPv4Header.encodedLength)) else {
        fatalError("ICMPv4 re-emit is not byte for byte")
    }
    // Prepend computes a checksum that verifies over header and body, keeping the message.
    var packet = PacketBuffer(copying: view.payload)
    header.prepend(to: &packet)
    guard let rebuilt = packet.bytes.withUnsafeBytes({ try? ICMPv4Header.parse($0) }),
          rebuilt.message == header.message else {
        fatalError("ICMPv4 prepend round trip differs")
    }
    // The computed checksum equals the received one, except that a received 0xffff also verifies
    // where we compute 0x0000 (both are ones' complement zero, RFC 1071 §1).
    if parsed != nil, rebuilt.checksum != header.checksum,
       !(rebuilt.checksum == 0 && header.checksum == 0xffff) {
        fatalError("ICMPv4 checksum not reproduced")
    }
}
