// TCP options: RFC 9293 §3.1 and §3.2 (EOL, NOP, MSS), RFC 7323 §2 and §3 (window scale,
// timestamps), RFC 2018 §2 and §3 (SACK-permitted, SACK).
//
// Options are kept in wire order, NOP and EOL included, so a parsed option list emits back to the
// same bytes. Parsing walks untrusted bytes with `ByteCursor` and never traps; every malformed
// option is `TCPParseError.badOption` (RFC 9293 §3.2 asks a receiver to be prepared for illegal
// lengths such as zero).

/// One SACK block (RFC 2018 §3): the first sequence number of a received block and the sequence
/// number just after its last byte.
public struct TCPSACKBlock: Hashable, Sendable {
    public var left: UInt32
    public var right: UInt32

    public init(left: UInt32, right: UInt32) {
        self.left = left
        self.right = right
    }
}

public enum TCPOption: Equatable, Sendable {
    /// Kind 0: ends the option list. Bytes after it in the header are padding (RFC 9293 §3.1).
    case endOfList
    /// Kind 1: one byte, used to align later options.
    case noOperation
    /// Kind 2, length 4 (RFC 9293 §3.7.1). Only meaningful on a SYN.
    case maximumSegmentSize(UInt16)
    /// Kind 3, length 3 (RFC 7323 §2.2): the shift count as sent; a receiver treats values above
    /// 14 as 14 (RFC 7323 §2.3), which is the connection's business, not the parser's.
    case windowScale(UInt8)
    /// Kind 4, length 2 (RFC 2018 §2).
    case sackPermitted
    /// Kind 5, length 2 + 8n for 1...4 blocks (RFC 2018 §3).
    case sack([TCPSACKBlock])
    /// Kind 8, length 10 (RFC 7323 §3.2): TSval and TSecr.
    case timestamps(value: UInt32, echoReply: UInt32)
    /// Any other kind, its data (length byte excluded) kept and re-emitted verbatim.
    case unknown(kind: UInt8, data: [UInt8])

    /// Option kinds (IANA "TCP Option Kind Numbers").
    public enum Kind {
        public static let endOfList: UInt8 = 0
        public static let noOperation: UInt8 = 1
        public static let maximumSegmentSize: UInt8 = 2
        public static let windowScale: UInt8 = 3
        public static let sackPermitted: UInt8 = 4
        public static let sack: UInt8 = 5
        public static let timestamps: UInt8 = 8
    }

    /// The largest option area: a data offset of 15 words less the 20-byte fixed header.
    public static let maximumAreaLength = 40
    /// At most four SACK blocks fit in 40 bytes (RFC 2018 §3).
    public static let maximumSACKBlocks = 4

    /// The kind byte on the wire.
    public var kind: UInt8 {
        switch self {
        case .endOfList: return Kind.endOfList
        case .noOperation: return Kind.noOperation
        case .maximumSegmentSize: return Kind.maximumSegmentSize
        case .windowScale: return Kind.windowScale
        case .sackPermitted: return Kind.sackPermitted
        case .sack: return Kind.sack
        case .timestamps: return Kind.timestamps
        case .unknown(let kind, _): return kind
        }
    }

    /// The number of bytes this option takes on the wire, kind and length bytes included.
    public var encodedLength: Int {
        switch self {
        case .endOfList, .noOperation: return 1
        case .maximumSegmentSize: return 4
        case .windowScale: return 3
        case .sackPermitted: return 2
        case .sack(let blocks): return 2 + 8 * blocks.count
        case .timestamps: return 10
        case .unknown(_, let data): return 2 + data.count
        }
    }

    /// True for the kinds this file gives their own case; `.unknown` must not use them.
    public static func isKnownKind(_ kind: UInt8) -> Bool {
        switch kind {
        case Kind.endOfList, Kind.noOperation, Kind.maximumSegmentSize, Kind.windowScale,
             Kind.sackPermitted, Kind.sack, Kind.timestamps:
            return true
        default:
            return false
        }
    }

    /// Writes the option at the writer's position. A value that cannot be encoded (a SACK without
    /// 1...4 blocks, an `.unknown` reusing a known kind or with more than 253 data bytes) is a
    /// broken invariant of the code that built it.
    public func emit(into writer: inout ByteWriter) {
        switch self {
        case .endOfList:
            writer.writeUInt8(Kind.endOfList)
        case .noOperation:
            writer.writeUInt8(Kind.noOperation)
        case .maximumSegmentSize(let mss):
            writer.writeUInt8(Kind.maximumSegmentSize)
            writer.writeUInt8(4)
            writer.writeUInt16(mss)
        case .windowScale(let shift):
            writer.writeUInt8(Kind.windowScale)
            writer.writeUInt8(3)
            writer.writeUInt8(shift)
        case .sackPermitted:
            writer.writeUInt8(Kind.sackPermitted)
            writer.writeUInt8(2)
        case .sack(let blocks):
            precondition(blocks.count >= 1 && blocks.count <= TCPOption.maximumSACKBlocks,
                         "TCP SACK option needs 1 to 4 blocks")
            writer.writeUInt8(Kind.sack)
            writer.writeUInt8(UInt8(2 + 8 * blocks.count))
            for block in blocks {
                writer.writeUInt32(block.left)
                writer.writeUInt32(block.right)
            }
        case .timestamps(let value, let echoReply):
            writer.writeUInt8(Kind.timestamps)
            writer.writeUInt8(10)
            writer.writeUInt32(value)
            writer.writeUInt32(echoReply)
        case .unknown(let kind, let data):
            precondition(!TCPOption.isKnownKind(kind), "TCP unknown option reuses a known kind")
            precondition(data.count <= 253, "TCP unknown option data too long")
            writer.writeUInt8(kind)
            writer.writeUInt8(UInt8(2 + data.count))
            writer.writeBytes(data)
        }
    }

    /// Parses a whole option area (the bytes between the fixed header and the data offset).
    ///
    /// EOL ends the list (RFC 9293 §3.1): it is kept, and so is every byte after it, each as one
    /// more `.endOfList` (the spec requires that padding to be zeros; a non-zero padding byte is
    /// tolerated and re-emitted as zero). So the list's `encodedLength` always equals the area's
    /// length and a canonical header emits back byte for byte.
    public static func parseList(_ area: UnsafeRawBufferPointer) throws(TCPParseError) -> [TCPOption] {
        var options: [TCPOption] = []
        var reader = TCPOptionReader(area)
        // Bounded: every option consumes at least one byte of the area.
        while let option = try reader.next() {
            options.append(option)
        }
        return options
    }
}

/// A zero-allocation walk over an option area (except for the arrays a SACK or an unknown option
/// carries). After an EOL it yields one `.endOfList` per remaining byte (see `parseList`).
public struct TCPOptionReader {
    private var cursor: ByteCursor
    private var afterEndOfList = false

    public init(_ area: UnsafeRawBufferPointer) {
        cursor = ByteCursor(area)
    }

    /// The next option, nil at the end of the area, or `.badOption` for a malformed one (after
    /// which the reader stays at the malformed option).
    public mutating func next() throws(TCPParseError) -> TCPOption? {
        let start = cursor.readerIndex
        guard let kind = cursor.readUInt8() else { return nil }
        if afterEndOfList { return .endOfList }
        switch kind {
        case TCPOption.Kind.endOfList:
            afterEndOfList = true
            return .endOfList
        case TCPOption.Kind.noOperation:
            return .noOperation
        default:
            break
        }
        // Every other kind has a length byte counting the kind and length bytes themselves.
        guard let lengthByte = cursor.readUInt8(), lengthByte >= 2,
              let body = cursor.readBytes(Int(lengthByte) - 2)
        else {
            _ = cursor.moveReaderIndex(to: start)
            throw .badOption
        }
        if let option = TCPOptionReader.decode(kind: kind, body: body) {
            return option
        }
        _ = cursor.moveReaderIndex(to: start)
        throw .badOption
    }

    /// Decodes one option's body (the bytes after kind and length); nil when a known kind has the
    /// wrong length.
    private static func decode(kind: UInt8, body: UnsafeRawBufferPointer) -> TCPOption? {
        var body = ByteCursor(body)
        let option: TCPOption
        switch kind {
        case TCPOption.Kind.maximumSegmentSize:
            guard body.readableBytes == 2, let mss = body.readUInt16() else { return nil }
            option = .maximumSegmentSize(mss)
        case TCPOption.Kind.windowScale:
            guard body.readableBytes == 1, let shift = body.readUInt8() else { return nil }
            option = .windowScale(shift)
        case TCPOption.Kind.sackPermitted:
            guard body.readableBytes == 0 else { return nil }
            option = .sackPermitted
        case TCPOption.Kind.sack:
            // RFC 2018 §3: length 2 + 8n; four blocks are the most that fit.
            let count = body.readableBytes / 8
            guard body.readableBytes % 8 == 0, count >= 1, count <= TCPOption.maximumSACKBlocks
            else { return nil }
            var blocks: [TCPSACKBlock] = []
            blocks.reserveCapacity(count)
            for _ in 0..<count {
                guard let left = body.readUInt32(), let right = body.readUInt32() else { return nil }
                blocks.append(TCPSACKBlock(left: left, right: right))
            }
            option = .sack(blocks)
        case TCPOption.Kind.timestamps:
            guard body.readableBytes == 8, let value = body.readUInt32(),
                  let echoReply = body.readUInt32() else { return nil }
            option = .timestamps(value: value, echoReply: echoReply)
        default:
            var data: [UInt8] = []
            data.reserveCapacity(body.readableBytes)
            while let byte = body.readUInt8() { data.append(byte) }
            option = .unknown(kind: kind, data: data)
        }
        return option
    }
}
