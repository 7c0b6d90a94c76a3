// Fuzz target for TCP (TCP.swift, TCPOptions.swift). Compiled as one module with
// Sources/SkiffWire/*.swift by Scripts/fuzz.sh (fuzz files are named Fuzz<Name>.swift so they never
// clash with a source file of the module).
//
// Properties: parsing never traps; a parsed header emits to the same header bytes (except padding
// after the first EOL, which is emitted as zeros) and re-parses to an equal value; a prepended
// segment verifies against its pseudo-header.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands us `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)

    // The option walker on its own, over arbitrary bytes (at most 40 in a real header, any here).
    var reader = TCPOptionReader(input)
    var steps = 0
    while let _ = try? reader.next() {
        steps += 1
        if steps > size { fatalError("TCPOptionReader did not advance") }
    }

    guard let header = try? TCPHeader.parse(input) else { return 0 }
    guard let view = TCPView(input) else { fatalError("parse succeeded but the view failed") }
    let length = view.headerLength
    if header.headerLength != length { fatalError("header length differs from the data offset") }

    var emitted = [UInt8](repeating: 0xa5, count: length)
    emitted.withUnsafeMutableBytes { header.emit(into: $0) }

    // Expected bytes: the input's header, with the padding after the first EOL zeroed.
    var expected = Array(input[0..<length])
    var position = TCPView.Field.options
    for option in header.options {
        position += option.encodedLength
        if option == .endOfList {
            for i in position..<length { expected[i] = 0 }
            break
        }
    }
    if emitted != expected { fatalError("emit does not reproduce the parsed header bytes") }

    let again: TCPHeader
    do {
        again = try emitted.withUnsafeBytes { (b) throws(TCPParseError) in try TCPHeader.parse(b) }
    } catch {
        fatalError("emitted header does not parse")
    }
    if again != header { fatalError("round trip changed the header") }

    // Prepend over the payload and verify the checksum against a pseudo-header from the input.
    let source = IPv4Address(header.sequenceNumber)
    let destination = IPv4Address(header.acknowledgmentNumber)
    var packet = PacketBuffer(copying: view.payload)
    header.prepend(to: &packet, source: source, destination: destination)
    let verified = packet.withUnsafeReadableBytes { bytes -> Bool in
        guard let segment = TCPView(bytes) else { return false }
        return segment.verifyChecksum(source: source, destination: destination)
    }
    if !verified { fatalError("prepended segment fails its checksum") }
    return 0
}
