// libFuzzer target for DNS messages and names (DNS.swift, DNSName.swift), compiled as one module
// with Sources/SkiffWire/*.swift by Scripts/fuzz.sh.
// A message that parses must emit, re-parse to an equal value, and re-emit the same bytes; the
// bytes as a DHCP domain-search list (RFC 3397) likewise.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)

    if let message = try? DNSMessage.parse(input) {
        let length = message.encodedLength
        var first = [UInt8](repeating: 0, count: length)
        let written = first.withUnsafeMutableBytes { message.emit(into: $0) }
        if written != length { fatalError("DNS emit wrote a length other than encodedLength") }
        guard let again = try? first.withUnsafeBytes({ try DNSMessage.parse($0) }) else {
            fatalError("DNS emitted message does not parse")
        }
        if again != message { fatalError("DNS round trip changed the message") }
        var second = [UInt8](repeating: 0, count: again.encodedLength)
        _ = second.withUnsafeMutableBytes { again.emit(into: $0) }
        if second != first { fatalError("DNS re-emit is not a fixed point") }
    }

    if let names = try? DNSName.parseSequence(input) {
        for compress in [true, false] {
            let encoded = DNSName.encodeSequence(names, compress: compress)
            guard let again = try? encoded.withUnsafeBytes({ try DNSName.parseSequence($0) }) else {
                fatalError("DNS name sequence does not re-parse")
            }
            if again != names { fatalError("DNS name sequence round trip changed the names") }
            for (a, b) in zip(again, names) where a.wireBytes != b.wireBytes {
                fatalError("DNS name sequence round trip changed a name's bytes")
            }
        }
    }

    // Names at every offset: never trap; a name's text form parses back to it.
    var offset = 0
    while offset < size && offset < 512 {
        if let (name, _) = try? DNSName.parse(input, at: offset) {
            guard let back = DNSName(name.description), back.wireBytes == name.wireBytes else {
                fatalError("DNS name text form does not parse back")
            }
        }
        offset += 1
    }
    return 0
}
