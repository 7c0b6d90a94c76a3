// TCP segment format, RFC 9293 §3.1, in the view + value pattern of UDP.swift:
// - `TCPView`: a zero-copy view over a received segment, data offset checked once in `init?`;
// - `TCPHeader`: the validated value with its options (TCPOptions.swift), `parse` and `emit(into:)`.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// |          Source Port          |       Destination Port        |
// |                        Sequence Number                        |
// |                    Acknowledgment Number                      |
// |  Data |Rsrvd|A|C|E|U|A|P|R|S|F|                               |
// | Offset|     |E|W|C|R|C|S|S|Y|I|            Window             |
// |           Checksum            |         Urgent Pointer        |
// |                    Options (data offset - 5 words)            |

public enum TCPParseError: Error, Equatable, Sendable {
    /// Fewer than 20 bytes.
    case truncated
    /// The data offset is below 5 words or runs past the bytes available.
    case badDataOffset
    /// An option has a length byte below 2, runs past the option area, or has the wrong length
    /// for its kind.
    case badOption
    /// The checksum is wrong for the pseudo-header given.
    case badChecksum
}

/// The control bits (RFC 9293 §3.1), with the bit next to them that RFC 3540 called NS and
/// Accurate ECN calls AE. The raw value is the low 9 bits of the 16-bit word at offset 12.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    /// ECN-Echo (RFC 3168 §6.1).
    public static let ece = TCPFlags(rawValue: 0x040)
    /// Congestion Window Reduced (RFC 3168 §6.1).
    public static let cwr = TCPFlags(rawValue: 0x080)
    /// Accurate ECN (formerly the RFC 3540 nonce sum bit).
    public static let ae = TCPFlags(rawValue: 0x100)
    /// The same bit under its RFC 3540 name.
    public static let ns = TCPFlags.ae

    /// All nine bits.
    public static let mask: UInt16 = 0x1ff

    public var description: String {
        let names: [(TCPFlags, String)] = [(.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"),
                                           (.ack, "ACK"), (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR"),
                                           (.ae, "AE")]
        var out = ""
        for (flag, name) in names where contains(flag) {
            if !out.isEmpty { out += "," }
            out += name
        }
        return out.isEmpty ? "none" : out
    }
}

public struct TCPView {
    public enum Field {
        public static let sourcePort = 0..<2
        public static let destinationPort = 2..<4
        public static let sequenceNumber = 4..<8
        public static let acknowledgmentNumber = 8..<12
        /// Data offset (4 bits), reserved (3 bits), then the nine flag bits.
        public static let dataOffsetAndFlags = 12..<14
        public static let window = 14..<16
        public static let checksum = 16..<18
        public static let urgentPointer = 18..<20
        public static let options = 20
    }
    /// The fixed header, without options.
    public static let minimumHeaderLength = 20
    /// A data offset of 15 words.
    public static let maximumHeaderLength = 60

    /// The whole segment: header, options and payload. TCP has no length field, so this is the IP
    /// payload exactly as the caller passed it (its length goes into the checksum's pseudo-header).
    public let bytes: UnsafeRawBufferPointer

    /// Views `bytes` (an IP payload) as a TCP segment: a fixed header, and a data offset of at
    /// least 5 words that fits in the bytes.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= TCPView.minimumHeaderLength else { return nil }
        let offset = Int(bytes.getUInt8(at: Field.dataOffsetAndFlags.lowerBound) >> 4) * 4
        guard offset >= TCPView.minimumHeaderLength, offset <= bytes.count else { return nil }
        self.bytes = bytes
    }

    public var sourcePort: UInt16 { bytes.getUInt16(at: Field.sourcePort.lowerBound) }
    public var destinationPort: UInt16 { bytes.getUInt16(at: Field.destinationPort.lowerBound) }
    public var sequenceNumber: UInt32 { bytes.getUInt32(at: Field.sequenceNumber.lowerBound) }
    public var acknowledgmentNumber: UInt32 { bytes.getUInt32(at: Field.acknowledgmentNumber.lowerBound) }
    /// The data offset in 32-bit words (5...15).
    public var dataOffset: Int { Int(bytes.getUInt8(at: Field.dataOffsetAndFlags.lowerBound) >> 4) }
    /// The header length in bytes, options included (20...60).
    public var headerLength: Int { dataOffset * 4 }
    /// The three reserved bits (RFC 9293 §3.1: zero when sent, ignored when received).
    public var reservedBits: UInt8 {
        (bytes.getUInt8(at: Field.dataOffsetAndFlags.lowerBound) >> 1) & 0x7
    }
    public var flags: TCPFlags {
        TCPFlags(rawValue: bytes.getUInt16(at: Field.dataOffsetAndFlags.lowerBound) & TCPFlags.mask)
    }
    public var window: UInt16 { bytes.getUInt16(at: Field.window.lowerBound) }
    public var checksum: UInt16 { bytes.getUInt16(at: Field.checksum.lowerBound) }
    public var urgentPointer: UInt16 { bytes.getUInt16(at: Field.urgentPointer.lowerBound) }
    /// The raw option area, not parsed (see `TCPOptionReader`).
    public var options: UnsafeRawBufferPointer { bytes.slice(Field.options..<headerLength) }
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: headerLength) }

    /// True if the checksum is correct for the IPv4 pseudo-header (RFC 9293 §3.1): source,
    /// destination, zero, protocol 6 and the TCP length (header plus payload).
    public func verifyChecksum(source: IPv4Address, destination: IPv4Address) -> Bool {
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.tcp,
                            length: bytes.count)
        sum.add(bytes)
        return sum.isValid
    }
}

public struct TCPHeader: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    /// The three reserved bits as received; keep 0 when sending (RFC 9293 §3.1).
    public var reservedBits: UInt8
    public var window: UInt16
    public var checksum: UInt16
    public var urgentPointer: UInt16
    /// In wire order, NOP and EOL included (see `TCPOption.parseList`).
    public var options: [TCPOption]

    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32,
                acknowledgmentNumber: UInt32, flags: TCPFlags, window: UInt16,
                checksum: UInt16 = 0, urgentPointer: UInt16 = 0, options: [TCPOption] = [],
                reservedBits: UInt8 = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.reservedBits = reservedBits
        self.window = window
        self.checksum = checksum
        self.urgentPointer = urgentPointer
        self.options = options
    }

    /// The bytes `options` take on the wire, before padding.
    public static func encodedOptionsLength(_ options: [TCPOption]) -> Int {
        var length = 0
        for option in options { length += option.encodedLength }
        return length
    }

    /// The header length `emit` writes: 20 bytes plus the options padded to a multiple of 4.
    /// More than 40 bytes of options is a broken invariant that `emit` traps on.
    public var headerLength: Int {
        let optionsLength = TCPHeader.encodedOptionsLength(options)
        return TCPView.minimumHeaderLength + (optionsLength + 3) / 4 * 4
    }

    /// Parses a segment's header. With addresses given, the checksum is verified first. The payload
    /// starts at `headerLength`, which equals the received data offset (every byte of the option
    /// area is accounted for by `options`).
    public static func parse(_ bytes: UnsafeRawBufferPointer,
                             pseudoHeader: (source: IPv4Address, destination: IPv4Address)? = nil)
        throws(TCPParseError) -> TCPHeader
    {
        guard bytes.count >= TCPView.minimumHeaderLength else { throw .truncated }
        guard let view = TCPView(bytes) else { throw .badDataOffset }
        if let pseudo = pseudoHeader,
           !view.verifyChecksum(source: pseudo.source, destination: pseudo.destination) {
            throw .badChecksum
        }
        return TCPHeader(sourcePort: view.sourcePort, destinationPort: view.destinationPort,
                         sequenceNumber: view.sequenceNumber,
                         acknowledgmentNumber: view.acknowledgmentNumber, flags: view.flags,
                         window: view.window, checksum: view.checksum,
                         urgentPointer: view.urgentPointer,
                         options: try TCPOption.parseList(view.options),
                         reservedBits: view.reservedBits)
    }

    /// Writes the header, options and padding at the start of `out` as they are (checksum field
    /// included). Options that do not end on a 4-byte boundary are padded with EOL bytes (zeros),
    /// RFC 9293 §3.1; parsing such a header back yields the options plus one `.endOfList` per pad.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        let length = headerLength
        precondition(length <= TCPView.maximumHeaderLength, "TCP options exceed 40 bytes")
        precondition(out.count >= length, "TCP emit buffer too small")
        precondition(reservedBits <= 0x7, "TCP reserved bits exceed 3 bits")
        precondition(flags.rawValue <= TCPFlags.mask, "TCP flags exceed 9 bits")
        var writer = ByteWriter(out.slice(0..<length))
        writer.writeUInt16(sourcePort)
        writer.writeUInt16(destinationPort)
        writer.writeUInt32(sequenceNumber)
        writer.writeUInt32(acknowledgmentNumber)
        writer.writeUInt16(UInt16(length / 4) << 12 | UInt16(reservedBits) << 9 | flags.rawValue)
        writer.writeUInt16(window)
        writer.writeUInt16(checksum)
        writer.writeUInt16(urgentPointer)
        for option in options { option.emit(into: &writer) }
        writer.writeZeros(writer.writableBytes)
    }

    /// Prepends this header to the payload in `packet` and computes the checksum over the IPv4
    /// pseudo-header, header and payload (RFC 9293 §3.1). Unlike UDP, a computed 0 is sent as 0.
    public func prepend(to packet: inout PacketBuffer, source: IPv4Address, destination: IPv4Address) {
        var header = self
        header.checksum = 0
        let length = header.headerLength
        packet.prepend(length)
        packet.withUnsafeMutableReadableBytes { bytes in
            header.emit(into: bytes)
            var sum = InternetChecksum()
            sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.tcp,
                                length: bytes.count)
            sum.add(UnsafeRawBufferPointer(bytes))
            bytes.setUInt16(sum.checksum, at: TCPView.Field.checksum.lowerBound)
        }
    }
}
