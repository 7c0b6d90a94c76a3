// ICMP for IPv4, RFC 792: an 8-byte header (type, code, checksum, 4 type-specific bytes) and a
// body. Echo request/reply carry an identifier and a sequence number and echo the data; errors
// (destination unreachable, time exceeded, parameter problem) quote the offending datagram's
// header and the start of its payload.

/// ICMP types (IANA "ICMP Type Numbers").
public struct ICMPv4Type {
    public static let echoReply: UInt8 = 0
    public static let destinationUnreachable: UInt8 = 3
    public static let sourceQuench: UInt8 = 4
    public static let redirect: UInt8 = 5
    public static let echoRequest: UInt8 = 8
    public static let timeExceeded: UInt8 = 11
    public static let parameterProblem: UInt8 = 12

    /// True for the error messages that quote a datagram (RFC 1122 §3.2.2).
    public static func isError(_ type: UInt8) -> Bool {
        type == destinationUnreachable || type == sourceQuench || type == redirect
            || type == timeExceeded || type == parameterProblem
    }
}

/// Destination unreachable codes (RFC 792, RFC 1812 §5.2.7.1).
public struct ICMPv4UnreachableCode {
    public static let network: UInt8 = 0
    public static let host: UInt8 = 1
    public static let protocolUnreachable: UInt8 = 2
    public static let port: UInt8 = 3
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4).
    public static let fragmentationNeeded: UInt8 = 4
    public static let sourceRouteFailed: UInt8 = 5
    public static let networkUnknown: UInt8 = 6
    public static let hostUnknown: UInt8 = 7
    public static let sourceHostIsolated: UInt8 = 8
    public static let networkProhibited: UInt8 = 9
    public static let hostProhibited: UInt8 = 10
    public static let networkForTOS: UInt8 = 11
    public static let hostForTOS: UInt8 = 12
    public static let communicationProhibited: UInt8 = 13
    public static let hostPrecedenceViolation: UInt8 = 14
    public static let precedenceCutoff: UInt8 = 15
}

/// Time exceeded codes (RFC 792).
public struct ICMPv4TimeExceededCode {
    public static let ttlExceeded: UInt8 = 0
    public static let reassemblyTimeExceeded: UInt8 = 1
}

/// An ICMP message's type, code and the 4 type-specific bytes, decoded. Parsing is canonical:
/// a known type whose bytes do not fit its case exactly (a non-zero code on an echo, non-zero
/// unused bytes) decodes as `.other`, so every message re-emits byte for byte.
public enum ICMPv4Message: Equatable, Sendable {
    case echoRequest(identifier: UInt16, sequence: UInt16)
    case echoReply(identifier: UInt16, sequence: UInt16)
    /// `nextHopMTU` is the low 16 bits of the rest of the header: the MTU with code 4 (RFC 1191
    /// §4), zero (unused) with the other codes.
    case destinationUnreachable(code: UInt8, nextHopMTU: UInt16)
    case timeExceeded(code: UInt8)
    case other(type: UInt8, code: UInt8, rest: UInt32)

    /// Decodes the first 8 header bytes' fields.
    public init(type: UInt8, code: UInt8, rest: UInt32) {
        let high = UInt16(truncatingIfNeeded: rest >> 16)
        let low = UInt16(truncatingIfNeeded: rest)
        switch type {
        case ICMPv4Type.echoRequest where code == 0:
            self = .echoRequest(identifier: high, sequence: low)
        case ICMPv4Type.echoReply where code == 0:
            self = .echoReply(identifier: high, sequence: low)
        // RFC 1191 §4: the high 16 bits are unused (zero); RFC 4884 may put a length there,
        // which we keep in `.other`.
        case ICMPv4Type.destinationUnreachable where high == 0:
            self = .destinationUnreachable(code: code, nextHopMTU: low)
        case ICMPv4Type.timeExceeded where rest == 0:
            self = .timeExceeded(code: code)
        default:
            self = .other(type: type, code: code, rest: rest)
        }
    }

    public var type: UInt8 {
        switch self {
        case .echoRequest: return ICMPv4Type.echoRequest
        case .echoReply: return ICMPv4Type.echoReply
        case .destinationUnreachable: return ICMPv4Type.destinationUnreachable
        case .timeExceeded: return ICMPv4Type.timeExceeded
        case .other(let type, _, _): return type
        }
    }

    public var code: UInt8 {
        switch self {
        case .echoRequest, .echoReply: return 0
        case .destinationUnreachable(let code, _): return code
        case .timeExceeded(let code): return code
        case .other(_, let code, _): return code
        }
    }

    /// The 4 type-specific bytes ("rest of header").
    public var restOfHeader: UInt32 {
        switch self {
        case .echoRequest(let identifier, let sequence), .echoReply(let identifier, let sequence):
            return UInt32(identifier) << 16 | UInt32(sequence)
        case .destinationUnreachable(_, let nextHopMTU): return UInt32(nextHopMTU)
        case .timeExceeded: return 0
        case .other(_, _, let rest): return rest
        }
    }

    /// True for an error message (which quotes a datagram and must never be answered with
    /// another error, RFC 1122 §3.2.2).
    public var isError: Bool { ICMPv4Type.isError(type) }
}

public enum ICMPv4ParseError: Error, Equatable, Sendable {
    /// Fewer than 8 bytes.
    case truncated
    /// The checksum over the whole message does not verify.
    case badChecksum
}

public struct ICMPv4View {
    public enum Field {
        public static let type = 0..<1
        public static let code = 1..<2
        public static let checksum = 2..<4
        public static let restOfHeader = 4..<8
    }

    /// The whole message (ICMP has no length field: the IPv4 payload, already trimmed).
    public let bytes: UnsafeRawBufferPointer

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= ICMPv4Header.encodedLength else { return nil }
        self.bytes = bytes
    }

    public var type: UInt8 { bytes.getUInt8(at: Field.type.lowerBound) }
    public var code: UInt8 { bytes.getUInt8(at: Field.code.lowerBound) }
    public var checksum: UInt16 { bytes.getUInt16(at: Field.checksum.lowerBound) }
    public var restOfHeader: UInt32 { bytes.getUInt32(at: Field.restOfHeader.lowerBound) }
    public var message: ICMPv4Message { ICMPv4Message(type: type, code: code, rest: restOfHeader) }
    /// The echo data, or the quoted datagram of an error.
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: ICMPv4Header.encodedLength) }

    /// For an error message, the quoted IPv4 header and payload start; nil for other messages or
    /// when the quote is not a complete IPv4 header.
    public var quotedDatagram: IPv4QuotedView? {
        guard ICMPv4Type.isError(type) else { return nil }
        return IPv4QuotedView(payload)
    }

    /// True when the checksum over the whole message verifies (RFC 792).
    public var isChecksumValid: Bool {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.isValid
    }
}

public struct ICMPv4Header: Equatable, Sendable {
    public var message: ICMPv4Message
    public var checksum: UInt16

    public static let encodedLength = 8
    /// RFC 1812 §4.3.2.3: an ICMP error datagram should not exceed 576 bytes.
    public static let maximumErrorDatagramLength = 576

    public init(message: ICMPv4Message, checksum: UInt16 = 0) {
        self.message = message
        self.checksum = checksum
    }

    public init(_ view: ICMPv4View) {
        self.init(message: view.message, checksum: view.checksum)
    }

    /// Parses the header of the message in `bytes` (the whole IPv4 payload), verifying the
    /// checksum over all of it.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ICMPv4ParseError) -> ICMPv4Header {
        guard let view = ICMPv4View(bytes) else { throw .truncated }
        guard view.isChecksumValid else { throw .badChecksum }
        return ICMPv4Header(view)
    }

    /// Writes the 8-byte header at the start of `out` as it is, checksum field included.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= ICMPv4Header.encodedLength, "ICMPv4 emit buffer too small")
        var writer = ByteWriter(out)
        writer.writeUInt8(message.type)
        writer.writeUInt8(message.code)
        writer.writeUInt16(checksum)
        writer.writeUInt32(message.restOfHeader)
    }

    /// Prepends this header to the body in `packet` (echo data, or a quote from `errorQuote`)
    /// and computes the checksum over header and body.
    public func prepend(to packet: inout PacketBuffer) {
        var header = self
        header.checksum = 0
        packet.prepend(ICMPv4Header.encodedLength)
        packet.withUnsafeMutableReadableBytes { bytes in
            header.emit(into: bytes)
            let sum = InternetChecksum.compute(UnsafeRawBufferPointer(bytes))
            bytes.setUInt16(sum, at: ICMPv4View.Field.checksum.lowerBound)
        }
    }

    /// The part of `datagram` an ICMP error about it quotes: its IP header and at least the first
    /// 8 payload bytes (RFC 792), and as much more as keeps the error datagram (a 20-byte IPv4
    /// header, the 8-byte ICMP header, the quote) within `maximumErrorDatagramLength`
    /// (RFC 1812 §4.3.2.3). Link padding beyond the datagram's total length is never quoted.
    public static func errorQuote(of datagram: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let limit = maximumErrorDatagramLength - IPv4View.minimumHeaderLength - encodedLength
        var length = datagram.count
        if datagram.count >= IPv4View.minimumHeaderLength {
            let totalLength = Int(datagram.getUInt16(at: IPv4View.Field.totalLength.lowerBound))
            let headerLength = Int(datagram.getUInt8(at: 0) & 0x0f) * 4
            if totalLength >= headerLength, totalLength <= datagram.count { length = totalLength }
        }
        return datagram.slice(0..<Swift.min(length, limit))
    }
}
