// DNS messages, RFC 1035 §4: a 12-byte header, then the question, answer, authority and
// additional sections. Following the view + value pattern:
// - `DNSHeaderView`: a zero-copy view over the header of received bytes;
// - `DNSHeader`: the header value (flags and counts);
// - `DNSMessage`: the whole message as a value, with `parse`, `emit(into:)` and `encodedLength`.
//
// Records of types A and AAAA (class IN), and CNAME, PTR, NS, MX and SOA (any class) get typed data;
// every other type keeps its data as raw bytes. The typed set includes every RFC 1035 type whose
// data holds a name that senders compress in practice (RFC 3597 §4 forbids compression in the data
// of later types), so raw data never carries a compression pointer from a conforming sender.
// The obsolete MD, MF, MB, MG, MR and MINFO are the exception: their raw data keeps any pointer
// as it was, meaningful only relative to the original message.
//
// `emit` compresses names (RFC 1035 §4.1.4): owner and question names, and the names inside the
// typed data, point to the longest suffix written before with the same exact bytes.

public enum DNSParseError: Error, Equatable, Sendable {
    /// Fewer bytes than the header, a question or a record needs; also when a count in the
    /// header promises more entries than the message holds.
    case truncated
    /// A name is malformed or its compression is unsafe.
    case badName(DNSNameParseError)
    /// A record's data does not fit its type: an A record not of 4 bytes, AAAA not of 16, a name
    /// or fixed fields not filling the data exactly.
    case badRecordData
    /// Bytes remain after the last record the counts announce.
    case trailingBytes
}

// MARK: - Header

public struct DNSHeaderView {
    public enum Field {
        public static let id = 0..<2
        public static let flags = 2..<4
        public static let questionCount = 4..<6
        public static let answerCount = 6..<8
        public static let authorityCount = 8..<10
        public static let additionalCount = 10..<12
    }

    /// Bits of the flags word, RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2.
    public enum Flag {
        public static let response: UInt16 = 0x8000
        public static let opcodeShift: UInt16 = 11
        public static let opcodeMask: UInt16 = 0x7800
        public static let authoritative: UInt16 = 0x0400
        public static let truncated: UInt16 = 0x0200
        public static let recursionDesired: UInt16 = 0x0100
        public static let recursionAvailable: UInt16 = 0x0080
        public static let z: UInt16 = 0x0040
        public static let authenticData: UInt16 = 0x0020
        public static let checkingDisabled: UInt16 = 0x0010
        public static let rcodeMask: UInt16 = 0x000f
    }

    public static let headerLength = 12

    /// The whole message; the header is its first 12 bytes.
    public let bytes: UnsafeRawBufferPointer

    /// Views `bytes` as a DNS message: at least a header.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= DNSHeaderView.headerLength else { return nil }
        self.bytes = bytes
    }

    public var id: UInt16 { bytes.getUInt16(at: Field.id.lowerBound) }
    public var flags: UInt16 { bytes.getUInt16(at: Field.flags.lowerBound) }
    public var isResponse: Bool { flags & Flag.response != 0 }
    public var opcode: DNSOpcode {
        DNSOpcode(rawValue: UInt8(truncatingIfNeeded: (flags & Flag.opcodeMask) >> Flag.opcodeShift))
    }
    public var isAuthoritative: Bool { flags & Flag.authoritative != 0 }
    public var isTruncated: Bool { flags & Flag.truncated != 0 }
    public var recursionDesired: Bool { flags & Flag.recursionDesired != 0 }
    public var recursionAvailable: Bool { flags & Flag.recursionAvailable != 0 }
    public var z: Bool { flags & Flag.z != 0 }
    public var authenticData: Bool { flags & Flag.authenticData != 0 }
    public var checkingDisabled: Bool { flags & Flag.checkingDisabled != 0 }
    public var rcode: DNSResponseCode {
        DNSResponseCode(rawValue: UInt8(truncatingIfNeeded: flags & Flag.rcodeMask))
    }
    public var questionCount: UInt16 { bytes.getUInt16(at: Field.questionCount.lowerBound) }
    public var answerCount: UInt16 { bytes.getUInt16(at: Field.answerCount.lowerBound) }
    public var authorityCount: UInt16 { bytes.getUInt16(at: Field.authorityCount.lowerBound) }
    public var additionalCount: UInt16 { bytes.getUInt16(at: Field.additionalCount.lowerBound) }
}

public struct DNSHeader: Equatable, Sendable {
    public var id: UInt16
    /// QR: a response (true) or a query.
    public var isResponse: Bool
    public var opcode: DNSOpcode
    /// AA: the responding server is an authority for the question's name.
    public var isAuthoritative: Bool
    /// TC: the message was truncated to fit the transport.
    public var isTruncated: Bool
    /// RD: the query asks for recursion (copied into the response).
    public var recursionDesired: Bool
    /// RA: the server offers recursion.
    public var recursionAvailable: Bool
    /// The reserved Z bit (must be zero, RFC 1035 §4.1.1); kept so a round trip is exact.
    public var z: Bool
    /// AD, RFC 4035 §3.2.3.
    public var authenticData: Bool
    /// CD, RFC 4035 §3.2.2.
    public var checkingDisabled: Bool
    public var rcode: DNSResponseCode
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    public init(id: UInt16, isResponse: Bool = false, opcode: DNSOpcode = .query,
                isAuthoritative: Bool = false, isTruncated: Bool = false,
                recursionDesired: Bool = false, recursionAvailable: Bool = false, z: Bool = false,
                authenticData: Bool = false, checkingDisabled: Bool = false,
                rcode: DNSResponseCode = .noError, questionCount: UInt16 = 0,
                answerCount: UInt16 = 0, authorityCount: UInt16 = 0, additionalCount: UInt16 = 0) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.z = z
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
        self.rcode = rcode
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    public init(_ view: DNSHeaderView) {
        self.init(id: view.id, isResponse: view.isResponse, opcode: view.opcode,
                  isAuthoritative: view.isAuthoritative, isTruncated: view.isTruncated,
                  recursionDesired: view.recursionDesired,
                  recursionAvailable: view.recursionAvailable, z: view.z,
                  authenticData: view.authenticData, checkingDisabled: view.checkingDisabled,
                  rcode: view.rcode, questionCount: view.questionCount,
                  answerCount: view.answerCount, authorityCount: view.authorityCount,
                  additionalCount: view.additionalCount)
    }

    public static let encodedLength = DNSHeaderView.headerLength

    /// Parses the header at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> DNSHeader {
        guard let view = DNSHeaderView(bytes) else { throw .truncated }
        return DNSHeader(view)
    }

    /// The flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and RCODE.
    public var flags: UInt16 {
        precondition(opcode.rawValue < 16, "DNS opcode out of range")
        precondition(rcode.rawValue < 16, "DNS header rcode out of range")
        typealias Flag = DNSHeaderView.Flag
        var flags = UInt16(opcode.rawValue) << Flag.opcodeShift | UInt16(rcode.rawValue)
        if isResponse { flags |= Flag.response }
        if isAuthoritative { flags |= Flag.authoritative }
        if isTruncated { flags |= Flag.truncated }
        if recursionDesired { flags |= Flag.recursionDesired }
        if recursionAvailable { flags |= Flag.recursionAvailable }
        if z { flags |= Flag.z }
        if authenticData { flags |= Flag.authenticData }
        if checkingDisabled { flags |= Flag.checkingDisabled }
        return flags
    }

    /// Writes the 12-byte header at the start of `out`.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= DNSHeaderView.headerLength, "DNS header emit buffer too small")
        typealias Field = DNSHeaderView.Field
        out.setUInt16(id, at: Field.id.lowerBound)
        out.setUInt16(flags, at: Field.flags.lowerBound)
        out.setUInt16(questionCount, at: Field.questionCount.lowerBound)
        out.setUInt16(answerCount, at: Field.answerCount.lowerBound)
        out.setUInt16(authorityCount, at: Field.authorityCount.lowerBound)
        out.setUInt16(additionalCount, at: Field.additionalCount.lowerBound)
    }
}

// MARK: - Codes

/// OPCODE, RFC 1035 §4.1.1 (4 bits).
public struct DNSOpcode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let query = DNSOpcode(rawValue: 0)
    public static let status = DNSOpcode(rawValue: 2)
    public static let notify = DNSOpcode(rawValue: 4)  // RFC 1996
    public static let update = DNSOpcode(rawValue: 5)  // RFC 2136
}

/// RCODE, RFC 1035 §4.1.1 (the header's 4 bits).
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        default: return "RCODE\(rawValue)"
        }
    }
}

/// TYPE and QTYPE, RFC 1035 §3.2.2–3.2.3.
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)  // RFC 3596
    public static let srv = DNSType(rawValue: 33)   // RFC 2782
    public static let opt = DNSType(rawValue: 41)   // RFC 6891
    public static let any = DNSType(rawValue: 255)

    /// The mnemonic, or `TYPEn` (RFC 3597 §5) for the others.
    public var description: String {
        switch rawValue {
        case 1: return "A"
        case 2: return "NS"
        case 5: return "CNAME"
        case 6: return "SOA"
        case 12: return "PTR"
        case 15: return "MX"
        case 16: return "TXT"
        case 28: return "AAAA"
        case 33: return "SRV"
        case 41: return "OPT"
        case 255: return "ANY"
        default: return "TYPE\(rawValue)"
        }
    }
}

/// CLASS and QCLASS, RFC 1035 §3.2.4–3.2.5. In an OPT record it carries the UDP payload size.
public struct DNSClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = DNSClass(rawValue: 1)
    public static let ch = DNSClass(rawValue: 3)
    public static let any = DNSClass(rawValue: 255)

    public var description: String {
        switch rawValue {
        case 1: return "IN"
        case 3: return "CH"
        case 255: return "ANY"
        default: return "CLASS\(rawValue)"
        }
    }
}

// MARK: - Questions and records

/// A question, RFC 1035 §4.1.2.
public struct DNSQuestion: Equatable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var recordClass: DNSClass

    public init(name: DNSName, type: DNSType, recordClass: DNSClass = .in) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// The fixed fields of an SOA record, RFC 1035 §3.3.13.
public struct DNSStartOfAuthority: Equatable, Sendable {
    public var primaryServer: DNSName
    /// The responsible mailbox, encoded as a name.
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308 §4).
    public var minimum: UInt32

    public init(primaryServer: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32,
                retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primaryServer = primaryServer
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// RDATA. `parse` picks the typed case from the record's type and class (see the file comment);
/// `emit` writes whichever case is held, so the record's `type` should agree with it.
public enum DNSRecordData: Equatable, Sendable {
    /// A, class IN (RFC 1035 §3.4.1).
    case a(IPv4Address)
    /// AAAA, class IN: 16 bytes in network order (RFC 3596 §2.2).
    case aaaa([UInt8])
    case cname(DNSName)
    case ptr(DNSName)
    case ns(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(DNSStartOfAuthority)
    /// Any other type, or a type above in a class where its layout is not known: the data as is.
    case other([UInt8])
}

/// A resource record, RFC 1035 §4.1.3.
public struct DNSResourceRecord: Equatable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSType, recordClass: DNSClass = .in, ttl: UInt32,
                data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

// MARK: - Message

public struct DNSMessage: Equatable, Sendable {
    /// The header with all four counts zero; `header` fills them in from the sections.
    private var headerFlags: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    /// The header. Its counts always reflect the sections; counts set through it are ignored.
    public var header: DNSHeader {
        get {
            var header = headerFlags
            header.questionCount = UInt16(clamping: questions.count)
            header.answerCount = UInt16(clamping: answers.count)
            header.authorityCount = UInt16(clamping: authorities.count)
            header.additionalCount = UInt16(clamping: additionals.count)
            return header
        }
        set {
            headerFlags = newValue
            headerFlags.questionCount = 0
            headerFlags.answerCount = 0
            headerFlags.authorityCount = 0
            headerFlags.additionalCount = 0
        }
    }

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
                authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) {
        headerFlags = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.header = header  // zeroes the stored counts
    }

    /// A stub resolver's query (RFC 1035 §4.1.1, opcode QUERY) for `name`, class IN.
    public static func query(id: UInt16, name: DNSName, type: DNSType,
                             recursionDesired: Bool = true) -> DNSMessage {
        DNSMessage(header: DNSHeader(id: id, recursionDesired: recursionDesired),
                   questions: [DNSQuestion(name: name, type: type)])
    }

    /// Parses a whole message; the bytes must end exactly after the last record. A response cut
    /// short with TC set but counts left as they were throws `.truncated`; its header is still
    /// readable with `DNSHeader.parse` (RFC 2181 §9: the client should retry over TCP).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> DNSMessage {
        guard let view = DNSHeaderView(bytes) else { throw .truncated }
        var cursor = ByteCursor(bytes, readerIndex: DNSHeaderView.headerLength)
        var message = DNSMessage(header: DNSHeader(view))
        // Each loop is bounded by its 16-bit count, and each entry consumes at least 5 bytes or
        // throws. Capacity is reserved from the bytes present, never from the counts alone.
        let questionCount = Int(view.questionCount)
        message.questions.reserveCapacity(Swift.min(questionCount, cursor.readableBytes / 5))
        for _ in 0..<questionCount {
            let name = try readName(bytes, &cursor)
            guard let type = cursor.readUInt16(), let recordClass = cursor.readUInt16() else {
                throw .truncated
            }
            message.questions.append(DNSQuestion(name: name, type: DNSType(rawValue: type),
                                                 recordClass: DNSClass(rawValue: recordClass)))
        }
        message.answers = try readRecords(bytes, &cursor, count: Int(view.answerCount))
        message.authorities = try readRecords(bytes, &cursor, count: Int(view.authorityCount))
        message.additionals = try readRecords(bytes, &cursor, count: Int(view.additionalCount))
        guard cursor.isAtEnd else { throw .trailingBytes }
        return message
    }

    /// The bytes `emit` writes, with names compressed.
    public var encodedLength: Int {
        var encoder = DNSEncoder(out: nil)
        write(to: &encoder)
        return encoder.index
    }

    /// Writes the message at the start of `out`, compressing names; returns the bytes written
    /// (`encodedLength`). The header's counts are those of the sections.
    @discardableResult
    public func emit(into out: UnsafeMutableRawBufferPointer) -> Int {
        var encoder = DNSEncoder(out: out)
        write(to: &encoder)
        return encoder.index
    }

    /// Appends the encoded message to `packet` (e.g. before prepending a UDP header).
    public func append(to packet: inout PacketBuffer) {
        let length = encodedLength
        let offset = packet.appendZeros(length)
        packet.withUnsafeMutableReadableBytes { bytes in
            let written = emit(into: bytes.slice(offset..<offset + length))
            precondition(written == length, "DNS message length changed while emitting")
        }
    }

    private func write(to encoder: inout DNSEncoder) {
        precondition(questions.count <= 0xffff && answers.count <= 0xffff
                     && authorities.count <= 0xffff && additionals.count <= 0xffff,
                     "DNS section has more than 65535 entries")
        let header = self.header
        encoder.writeUInt16(header.id)
        encoder.writeUInt16(header.flags)
        encoder.writeUInt16(header.questionCount)
        encoder.writeUInt16(header.answerCount)
        encoder.writeUInt16(header.authorityCount)
        encoder.writeUInt16(header.additionalCount)
        for question in questions {
            encoder.writeName(question.name)
            encoder.writeUInt16(question.type.rawValue)
            encoder.writeUInt16(question.recordClass.rawValue)
        }
        for section in [answers, authorities, additionals] {
            for record in section { DNSMessage.write(record, to: &encoder) }
        }
    }

    private static func write(_ record: DNSResourceRecord, to encoder: inout DNSEncoder) {
        encoder.writeName(record.name)
        encoder.writeUInt16(record.type.rawValue)
        encoder.writeUInt16(record.recordClass.rawValue)
        encoder.writeUInt32(record.ttl)
        let lengthOffset = encoder.index
        encoder.writeUInt16(0)  // RDLENGTH, filled in below once the data's size is known
        let dataStart = encoder.index
        switch record.data {
        case .a(let address):
            encoder.writeUInt32(address.value)
        case .aaaa(let address):
            precondition(address.count == 16, "AAAA data is not 16 bytes")
            encoder.writeBytes(address)
        case .cname(let name), .ptr(let name), .ns(let name):
            encoder.writeName(name)
        case .mx(let preference, let exchange):
            encoder.writeUInt16(preference)
            encoder.writeName(exchange)
        case .soa(let soa):
            encoder.writeName(soa.primaryServer)
            encoder.writeName(soa.mailbox)
            encoder.writeUInt32(soa.serial)
            encoder.writeUInt32(soa.refresh)
            encoder.writeUInt32(soa.retry)
            encoder.writeUInt32(soa.expire)
            encoder.writeUInt32(soa.minimum)
        case .other(let data):
            encoder.writeBytes(data)
        }
        let dataLength = encoder.index - dataStart
        precondition(dataLength <= 0xffff, "DNS record data longer than 65535 bytes")
        encoder.setUInt16(UInt16(dataLength), at: lengthOffset)
    }

    private static func readName(_ bytes: UnsafeRawBufferPointer, _ cursor: inout ByteCursor)
        throws(DNSParseError) -> DNSName
    {
        let parsed: (name: DNSName, end: Int)
        do {
            parsed = try DNSName.parse(bytes, at: cursor.readerIndex)
        } catch .truncated {
            throw .truncated
        } catch {
            throw .badName(error)
        }
        guard cursor.moveReaderIndex(to: parsed.end) else { throw .truncated }
        return parsed.name
    }

    private static func readRecords(_ bytes: UnsafeRawBufferPointer, _ cursor: inout ByteCursor,
                                    count: Int) throws(DNSParseError) -> [DNSResourceRecord] {
        var records: [DNSResourceRecord] = []
        // A record is at least 11 bytes: a root name and the 10 fixed bytes.
        records.reserveCapacity(Swift.min(count, cursor.readableBytes / 11))
        for _ in 0..<count {
            let name = try readName(bytes, &cursor)
            guard let type = cursor.readUInt16(), let recordClass = cursor.readUInt16(),
                  let ttl = cursor.readUInt32(), let dataLength = cursor.readUInt16() else {
                throw .truncated
            }
            let dataStart = cursor.readerIndex
            guard cursor.skip(Int(dataLength)) else { throw .truncated }
            let dataEnd = cursor.readerIndex
            let data = try readData(bytes, type: DNSType(rawValue: type),
                                    recordClass: DNSClass(rawValue: recordClass),
                                    range: dataStart..<dataEnd)
            records.append(DNSResourceRecord(name: name, type: DNSType(rawValue: type),
                                             recordClass: DNSClass(rawValue: recordClass),
                                             ttl: ttl, data: data))
        }
        return records
    }

    /// Decodes the data in `range` of `bytes` (names in it may point anywhere earlier in the
    /// message, so the whole message is passed).
    private static func readData(_ bytes: UnsafeRawBufferPointer, type: DNSType,
                                 recordClass: DNSClass, range: Range<Int>)
        throws(DNSParseError) -> DNSRecordData
    {
        // A cursor over the message up to the data's end: names may point back before the data,
        // but no field may run past its end.
        var cursor = ByteCursor(bytes.slice(0..<range.upperBound), readerIndex: range.lowerBound)
        let data: DNSRecordData
        switch type {
        case .a where recordClass == .in:
            guard let value = cursor.readUInt32() else { throw .badRecordData }
            data = .a(IPv4Address(value))
        case .aaaa where recordClass == .in:
            guard let value = cursor.readBytes(16) else { throw .badRecordData }
            data = .aaaa(Array(value))
        case .cname:
            data = .cname(try readDataName(&cursor))
        case .ptr:
            data = .ptr(try readDataName(&cursor))
        case .ns:
            data = .ns(try readDataName(&cursor))
        case .mx:
            guard let preference = cursor.readUInt16() else { throw .badRecordData }
            data = .mx(preference: preference, exchange: try readDataName(&cursor))
        case .soa:
            let primaryServer = try readDataName(&cursor)
            let mailbox = try readDataName(&cursor)
            guard let serial = cursor.readUInt32(), let refresh = cursor.readUInt32(),
                  let retry = cursor.readUInt32(), let expire = cursor.readUInt32(),
                  let minimum = cursor.readUInt32() else { throw .badRecordData }
            data = .soa(DNSStartOfAuthority(primaryServer: primaryServer, mailbox: mailbox,
                                            serial: serial, refresh: refresh, retry: retry,
                                            expire: expire, minimum: minimum))
        default:
            guard let raw = cursor.readBytes(range.count) else { throw .badRecordData }
            data = .other(Array(raw))
        }
        guard cursor.isAtEnd else { throw .badRecordData }
        return data
    }

    /// A name inside record data. `cursor` covers the message up to the data's end, so the name
    /// may point back anywhere before it but a name running past the data is `badRecordData`.
    private static func readDataName(_ cursor: inout ByteCursor) throws(DNSParseError) -> DNSName {
        let parsed: (name: DNSName, end: Int)
        do {
            parsed = try DNSName.parse(cursor.bytes, at: cursor.readerIndex)
        } catch .truncated {
            throw .badRecordData
        } catch {
            throw .badName(error)
        }
        guard cursor.moveReaderIndex(to: parsed.end) else { throw .badRecordData }
        return parsed.name
    }
}
