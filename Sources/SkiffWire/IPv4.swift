// IPv4, RFC 791. Options are not interpreted: they are kept verbatim between the fixed header and
// the payload (a forwarder copies them; a host ignores the ones it does not know, RFC 1122 §3.2.1.8).
//
//   0      1      2      3
//   ver|ihl dscp|ecn  totalLength
//   identification    flags|fragmentOffset/8
//   ttl    protocol   headerChecksum
//   source
//   destination
//   options (ihl*4 - 20 bytes)

public enum IPv4ParseError: Error, Equatable, Sendable {
    /// Fewer bytes than the fixed header, the IHL or the total length claims.
    case truncated
    /// Version field is not 4.
    case badVersion
    /// IHL below 5 (20 bytes).
    case badHeaderLength
    /// Total length below the header length.
    case badTotalLength
    /// The header checksum does not verify (RFC 1122 §3.2.1.2: silently discard).
    case badChecksum
}

public struct IPv4View {
    public enum Field {
        public static let versionAndIHL = 0..<1
        public static let dscpAndECN = 1..<2
        public static let totalLength = 2..<4
        public static let identification = 4..<6
        public static let flagsAndFragmentOffset = 6..<8
        public static let ttl = 8..<9
        public static let protocolNumber = 9..<10
        public static let headerChecksum = 10..<12
        public static let source = 12..<16
        public static let destination = 16..<20
    }
    public enum Flag {
        /// RFC 791 bit 0, "reserved, must be zero".
        public static let reserved: UInt16 = 0x8000
        public static let dontFragment: UInt16 = 0x4000
        public static let moreFragments: UInt16 = 0x2000
        public static let offsetMask: UInt16 = 0x1fff
    }
    public static let minimumHeaderLength = 20
    public static let maximumHeaderLength = 60

    /// The datagram, trimmed to its total length.
    public let bytes: UnsafeRawBufferPointer

    /// Views `bytes` as an IPv4 datagram: version 4, IHL >= 5, IHL*4 <= total length <= count.
    /// Trailing bytes beyond the total length (link padding) are excluded from `bytes`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard (try? IPv4View.validate(bytes)) != nil else { return nil }
        self.bytes = bytes.slice(0..<Int(bytes.getUInt16(at: Field.totalLength.lowerBound)))
    }

    /// The checks of `init?`, with the reason for a rejection.
    static func validate(_ bytes: UnsafeRawBufferPointer) throws(IPv4ParseError) {
        guard bytes.count >= minimumHeaderLength else { throw .truncated }
        let first = bytes.getUInt8(at: 0)
        guard first >> 4 == 4 else { throw .badVersion }
        let headerLength = Int(first & 0x0f) * 4
        guard headerLength >= minimumHeaderLength else { throw .badHeaderLength }
        guard headerLength <= bytes.count else { throw .truncated }
        let totalLength = Int(bytes.getUInt16(at: Field.totalLength.lowerBound))
        guard totalLength >= headerLength else { throw .badTotalLength }
        guard totalLength <= bytes.count else { throw .truncated }
    }

    public var headerLength: Int { Int(bytes.getUInt8(at: 0) & 0x0f) * 4 }
    /// Differentiated services code point (RFC 2474), 6 bits.
    public var dscp: UInt8 { bytes.getUInt8(at: Field.dscpAndECN.lowerBound) >> 2 }
    /// Explicit congestion notification (RFC 3168), 2 bits.
    public var ecn: UInt8 { bytes.getUInt8(at: Field.dscpAndECN.lowerBound) & 0x3 }
    public var totalLength: Int { bytes.count }
    public var identification: UInt16 { bytes.getUInt16(at: Field.identification.lowerBound) }
    private var flagsAndOffset: UInt16 { bytes.getUInt16(at: Field.flagsAndFragmentOffset.lowerBound) }
    public var reservedFlag: Bool { flagsAndOffset & Flag.reserved != 0 }
    public var dontFragment: Bool { flagsAndOffset & Flag.dontFragment != 0 }
    public var moreFragments: Bool { flagsAndOffset & Flag.moreFragments != 0 }
    /// Offset of this fragment's data in the original datagram, in bytes (the field counts
    /// 8-byte units).
    public var fragmentOffset: Int { Int(flagsAndOffset & Flag.offsetMask) * 8 }
    public var ttl: UInt8 { bytes.getUInt8(at: Field.ttl.lowerBound) }
    public var protocolNumber: UInt8 { bytes.getUInt8(at: Field.protocolNumber.lowerBound) }
    public var headerChecksum: UInt16 { bytes.getUInt16(at: Field.headerChecksum.lowerBound) }
    public var source: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.source.lowerBound)) }
    public var destination: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.destination.lowerBound)) }
    /// The header bytes (fixed part and options).
    public var header: UnsafeRawBufferPointer { bytes.slice(0..<headerLength) }
    /// The options, verbatim (empty without options).
    public var options: UnsafeRawBufferPointer { bytes.slice(IPv4View.minimumHeaderLength..<headerLength) }
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: headerLength) }

    /// True when the header checksum verifies (RFC 791, RFC 1071).
    public var isChecksumValid: Bool {
        var sum = InternetChecksum()
        sum.add(header)
        return sum.isValid
    }

    /// True for a fragment of a larger datagram: more fragments follow, or it is not the first.
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
}

public struct IPv4Header: Equatable, Sendable {
    public var dscp: UInt8
    public var ecn: UInt8
    /// Header plus payload, in bytes.
    public var totalLength: Int
    public var identification: UInt16
    /// RFC 791's reserved flag bit; kept so a parsed header re-emits byte for byte.
    public var reservedFlag: Bool
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In bytes; a multiple of 8, at most 8191 * 8.
    public var fragmentOffset: Int
    public var ttl: UInt8
    public var protocolNumber: UInt8
    public var headerChecksum: UInt16
    public var source: IPv4Address
    public var destination: IPv4Address
    /// Options preserved verbatim: a multiple of 4 bytes, at most 40.
    public var options: [UInt8]

    public static let defaultTTL: UInt8 = 64

    public init(source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8,
                ttl: UInt8 = IPv4Header.defaultTTL, identification: UInt16 = 0,
                dontFragment: Bool = false, moreFragments: Bool = false, fragmentOffset: Int = 0,
                dscp: UInt8 = 0, ecn: UInt8 = 0, options: [UInt8] = [],
                totalLength: Int? = nil, headerChecksum: UInt16 = 0, reservedFlag: Bool = false) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.ttl = ttl
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.dscp = dscp
        self.ecn = ecn
        self.options = options
        self.totalLength = totalLength ?? IPv4View.minimumHeaderLength + options.count
        self.headerChecksum = headerChecksum
        self.reservedFlag = reservedFlag
    }

    public init(_ view: IPv4View) {
        var options: [UInt8] = []
        options.append(contentsOf: view.options)
        self.init(source: view.source, destination: view.destination,
                  protocolNumber: view.protocolNumber, ttl: view.ttl,
                  identification: view.identification, dontFragment: view.dontFragment,
                  moreFragments: view.moreFragments, fragmentOffset: view.fragmentOffset,
                  dscp: view.dscp, ecn: view.ecn, options: options, totalLength: view.totalLength,
                  headerChecksum: view.headerChecksum, reservedFlag: view.reservedFlag)
    }

    /// The header length in bytes, 20 plus the options.
    public var headerLength: Int { IPv4View.minimumHeaderLength + options.count }

    /// Parses and validates a header, verifying its checksum.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(IPv4ParseError) -> IPv4Header {
        try IPv4View.validate(bytes)
        guard let view = IPv4View(bytes) else { throw .truncated }  // unreachable after validate
        guard view.isChecksumValid else { throw .badChecksum }
        return IPv4Header(view)
    }

    /// Writes the header at the start of `out` as it is, checksum field included.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(options.count % 4 == 0 && options.count <= 40, "IPv4 options not a multiple of 4 up to 40")
        precondition(fragmentOffset >= 0 && fragmentOffset % 8 == 0 && fragmentOffset <= 8191 * 8,
                     "IPv4 fragment offset not a multiple of 8 in range")
        precondition(totalLength >= 0 && totalLength <= 0xffff, "IPv4 total length out of range")
        precondition(out.count >= headerLength, "IPv4 emit buffer too small")
        var writer = ByteWriter(out)
        writer.writeUInt8(0x40 | UInt8(headerLength / 4))
        writer.writeUInt8((dscp & 0x3f) << 2 | (ecn & 0x3))
        writer.writeUInt16(UInt16(totalLength))
        writer.writeUInt16(identification)
        var flags = UInt16(fragmentOffset / 8)
        if reservedFlag { flags |= IPv4View.Flag.reserved }
        if dontFragment { flags |= IPv4View.Flag.dontFragment }
        if moreFragments { flags |= IPv4View.Flag.moreFragments }
        writer.writeUInt16(flags)
        writer.writeUInt8(ttl)
        writer.writeUInt8(protocolNumber)
        writer.writeUInt16(headerChecksum)
        writer.writeUInt32(source.value)
        writer.writeUInt32(destination.value)
        writer.writeBytes(options)
    }

    /// Prepends this header to the payload in `packet`, setting the total length from the payload
    /// and computing the header checksum.
    public func prepend(to packet: inout PacketBuffer) {
        var header = self
        header.totalLength = headerLength + packet.count
        precondition(header.totalLength <= 0xffff, "IPv4 datagram longer than 65535 bytes")
        header.headerChecksum = 0
        let length = headerLength
        packet.prepend(length)
        packet.withUnsafeMutableReadableBytes { bytes in
            header.emit(into: bytes)
            let sum = InternetChecksum.compute(UnsafeRawBufferPointer(bytes.slice(0..<length)))
            bytes.setUInt16(sum, at: IPv4View.Field.headerChecksum.lowerBound)
        }
    }

    /// Decrements the TTL of the header at the start of `header` in place and updates the checksum
    /// incrementally (RFC 1624 eqn. 3, on the 16-bit word TTL|protocol; RFC 1812 §5.3.1). Returns
    /// false, changing nothing, when the TTL is 0 or 1: the datagram must not be forwarded and
    /// the router sends ICMP time exceeded instead.
    public static func decrementTTL(in header: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(header.count >= IPv4View.minimumHeaderLength, "decrementTTL on a short header")
        let ttlOffset = IPv4View.Field.ttl.lowerBound
        let checksumOffset = IPv4View.Field.headerChecksum.lowerBound
        let ttl = header[ttlOffset]
        guard ttl > 1 else { return false }
        let proto = header[ttlOffset + 1]
        let old = UInt16(ttl) << 8 | UInt16(proto)
        let new = UInt16(ttl - 1) << 8 | UInt16(proto)
        let checksum = UInt16(header[checksumOffset]) << 8 | UInt16(header[checksumOffset + 1])
        header.setUInt8(ttl - 1, at: ttlOffset)
        header.setUInt16(InternetChecksum.update(checksum, old: old, new: new), at: checksumOffset)
        return true
    }
}

/// An IPv4 header quoted inside an ICMP error (RFC 792): parsed leniently, because the quote is
/// normally cut short of the datagram's total length. Requires version 4 and a complete header.
public struct IPv4QuotedView {
    /// The quoted bytes: the header and whatever part of the payload was quoted.
    public let bytes: UnsafeRawBufferPointer

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= IPv4View.minimumHeaderLength else { return nil }
        let first = bytes.getUInt8(at: 0)
        let headerLength = Int(first & 0x0f) * 4
        guard first >> 4 == 4, headerLength >= IPv4View.minimumHeaderLength,
              headerLength <= bytes.count else { return nil }
        // Never look past the original datagram's end, if the quote holds all of it and more.
        let totalLength = Int(bytes.getUInt16(at: IPv4View.Field.totalLength.lowerBound))
        self.bytes = bytes.slice(0..<Swift.max(headerLength, Swift.min(totalLength, bytes.count)))
    }

    public var headerLength: Int { Int(bytes.getUInt8(at: 0) & 0x0f) * 4 }
    /// The original datagram's total length, as claimed (usually more than was quoted).
    public var totalLength: Int { Int(bytes.getUInt16(at: IPv4View.Field.totalLength.lowerBound)) }
    public var identification: UInt16 { bytes.getUInt16(at: IPv4View.Field.identification.lowerBound) }
    private var flagsAndOffset: UInt16 { bytes.getUInt16(at: IPv4View.Field.flagsAndFragmentOffset.lowerBound) }
    public var dontFragment: Bool { flagsAndOffset & IPv4View.Flag.dontFragment != 0 }
    public var moreFragments: Bool { flagsAndOffset & IPv4View.Flag.moreFragments != 0 }
    public var fragmentOffset: Int { Int(flagsAndOffset & IPv4View.Flag.offsetMask) * 8 }
    public var ttl: UInt8 { bytes.getUInt8(at: IPv4View.Field.ttl.lowerBound) }
    public var protocolNumber: UInt8 { bytes.getUInt8(at: IPv4View.Field.protocolNumber.lowerBound) }
    public var source: IPv4Address { IPv4Address(bytes.getUInt32(at: IPv4View.Field.source.lowerBound)) }
    public var destination: IPv4Address { IPv4Address(bytes.getUInt32(at: IPv4View.Field.destination.lowerBound)) }
    public var header: UnsafeRawBufferPointer { bytes.slice(0..<headerLength) }
    /// The quoted start of the payload (RFC 792 promises 8 bytes: the UDP header, TCP ports and
    /// sequence number, or an ICMP echo header).
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: headerLength) }

    /// The quoted transport source port (UDP, TCP: the first two payload bytes), if quoted and
    /// this is the first fragment.
    public var sourcePort: UInt16? {
        guard fragmentOffset == 0, payload.count >= 4 else { return nil }
        return payload.getUInt16(at: 0)
    }

    /// The quoted transport destination port (UDP, TCP), if quoted and this is the first fragment.
    public var destinationPort: UInt16? {
        guard fragmentOffset == 0, payload.count >= 4 else { return nil }
        return payload.getUInt16(at: 2)
    }
}
