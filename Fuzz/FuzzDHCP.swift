// libFuzzer target for DHCPMessage (and the option 119/121 decoders), compiled as one module with
// Sources/SkiffWire/*.swift by Scripts/fuzz.sh.
// Findings: a trap anywhere, or a parse -> emit -> parse round trip that changes the message.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)

    // The option decoders also run on the raw input, as if it were option data.
    let raw = Array(input)
    if let names = DHCPDomainSearch.decode(raw), let again = DHCPDomainSearch.encode(names),
       let reparsed = DHCPDomainSearch.decode(again), reparsed != names {
        // Names with dots inside labels cannot be re-encoded faithfully; encode returns nil for
        // empty labels, so a mismatch here means a real codec bug only when no label has a dot.
        var dotted = false
        for name in names where name.utf8.contains(UInt8(ascii: ".")) { dotted = true }
        if !dotted { fatalError("domain search re-encode changed the names") }
    }
    if let routes = DHCPClasslessRoute.decode(raw), DHCPClasslessRoute.encode(routes) != raw {
        fatalError("classless routes re-encode changed the bytes")
    }

    guard let message = try? DHCPMessage.parse(input) else { return 0 }
    _ = message.messageType; _ = message.routers; _ = message.domainSearch
    _ = message.classlessStaticRoutes; _ = message.hostName; _ = message.clientMAC

    var bytes = [UInt8](repeating: 0, count: message.encodedLength)
    bytes.withUnsafeMutableBytes { message.emit(into: $0) }
    guard var again = try? bytes.withUnsafeBytes({ try DHCPMessage.parse($0) }) else {
        fatalError("emitted DHCP message does not parse")
    }
    // Padding may grow by the END a truncated input lacked; everything else must be unchanged.
    guard again.minimumLength == bytes.count, bytes.count >= message.minimumLength else {
        fatalError("emitted DHCP message has the wrong length")
    }
    again.minimumLength = message.minimumLength
    if again != message { fatalError("DHCP round trip changed the message") }
    again.minimumLength = bytes.count
    var third = [UInt8](repeating: 0, count: again.encodedLength)
    third.withUnsafeMutableBytes { again.emit(into: $0) }
    if third != bytes { fatalError("DHCP re-emit is not a fixed point") }
    return 0
}
