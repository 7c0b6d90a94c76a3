// UDP, RFC 768. The exemplar of the view + value pattern every protocol in SkiffWire follows:
// - `UDPView`: a zero-copy view over received bytes, length checked once in `init?`, then
//   accessors that cannot trap;
// - `UDPHeader`: the validated value, with `parse` (typed throws) and `emit(into:)`.

public enum UDPParseError: Error, Equatable, Sendable {
    /// Fewer than 8 bytes.
    case truncated
    /// The length field is below 8 or beyond the bytes available.
    case badLength
    /// The checksum is present and wrong.
    case badChecksum
}

public struct UDPView {
    public enum Field {
        public static let sourcePort = 0..<2
        public static let destinationPort = 2..<4
        public static let length = 4..<6
        public static let checksum = 6..<8
    }
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer

    /// Views `bytes` as a UDP datagram: at least a header, and a length field that fits.
    /// Trailing bytes beyond the length field (link padding) are excluded from `bytes`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= UDPView.headerLength else { return nil }
        let length = Int(bytes.getUInt16(at: Field.length.lowerBound))
        guard length >= UDPView.headerLength, length <= bytes.count else { return nil }
        self.bytes = bytes.slice(0..<length)
    }

    public var sourcePort: UInt16 { bytes.getUInt16(at: Field.sourcePort.lowerBound) }
    public var destinationPort: UInt16 { bytes.getUInt16(at: Field.destinationPort.lowerBound) }
    public var length: Int { bytes.count }
    public var checksum: UInt16 { bytes.getUInt16(at: Field.checksum.lowerBound) }
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: UDPView.headerLength) }

    /// True if the checksum is absent (zero; RFC 768) or correct for this pseudo-header.
    public func verifyChecksum(source: IPv4Address, destination: IPv4Address) -> Bool {
        guard checksum != 0 else { return true }
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp,
                            length: bytes.count)
        sum.add(bytes)
        return sum.isValid
    }
}

public struct UDPHeader: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Header plus payload, in bytes.
    public var length: Int
    public var checksum: UInt16

    public init(sourcePort: UInt16, destinationPort: UInt16, length: Int, checksum: UInt16 = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.checksum = checksum
    }

    public static let encodedLength = UDPView.headerLength

    /// Parses a datagram's header. With addresses given, a non-zero checksum is verified.
    public static func parse(_ bytes: UnsafeRawBufferPointer,
                             pseudoHeader: (source: IPv4Address, destination: IPv4Address)? = nil)
        throws(UDPParseError) -> UDPHeader
    {
        guard bytes.count >= UDPView.headerLength else { throw .truncated }
        guard let view = UDPView(bytes) else { throw .badLength }
        if let pseudo = pseudoHeader,
           !view.verifyChecksum(source: pseudo.source, destination: pseudo.destination) {
            throw .badChecksum
        }
        return UDPHeader(sourcePort: view.sourcePort, destinationPort: view.destinationPort,
                         length: view.length, checksum: view.checksum)
    }

    /// Writes the 8-byte header at the start of `out` as it is (checksum field included).
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= UDPView.headerLength, "UDP emit buffer too small")
        out.setUInt16(sourcePort, at: UDPView.Field.sourcePort.lowerBound)
        out.setUInt16(destinationPort, at: UDPView.Field.destinationPort.lowerBound)
        out.setUInt16(UInt16(truncatingIfNeeded: length), at: UDPView.Field.length.lowerBound)
        out.setUInt16(checksum, at: UDPView.Field.checksum.lowerBound)
    }

    /// Prepends this header to the payload in `packet`, setting the length from the payload and
    /// computing the checksum over the pseudo-header, header and payload (0 is sent as 0xffff).
    public func prepend(to packet: inout PacketBuffer, source: IPv4Address, destination: IPv4Address) {
        var header = self
        header.length = packet.count + UDPView.headerLength
        header.checksum = 0
        packet.prepend(UDPView.headerLength)
        packet.withUnsafeMutableReadableBytes { bytes in
            header.emit(into: bytes)
            var sum = InternetChecksum()
            sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp,
                                length: bytes.count)
            sum.add(UnsafeRawBufferPointer(bytes))
            let value = sum.checksum
            bytes.setUInt16(value == 0 ? 0xffff : value, at: UDPView.Field.checksum.lowerBound)
        }
    }
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
public enum IPProtocol {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
}
