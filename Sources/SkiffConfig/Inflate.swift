// DEFLATE (RFC 1951) decompression and the gzip container (RFC 1952), written from the RFCs.
// The output is bounded by a limit the caller gives, so a small "bomb" that would expand to
// gigabytes is an error after `limit` bytes; every read of the input is bounds-checked, so
// truncated or hostile data is an error, never a trap.

/// Why compressed data could not be decompressed.
public enum InflateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended inside a block or the gzip trailer.
    case truncated
    /// Block type 3 (RFC 1951 §3.2.3: reserved).
    case reservedBlockType
    /// A stored block whose LEN and NLEN are not complements (§3.2.4).
    case storedLengthMismatch
    /// Code lengths that do not form a usable prefix code (§3.2.2, §3.2.7).
    case badCodeLengths
    /// A code that decodes to no symbol, or a length/distance symbol outside the tables.
    case badSymbol
    /// A distance further back than the output so far.
    case distanceTooFar
    /// The output would exceed the caller's limit.
    case outputTooLarge(limit: Int)
    /// Not a gzip member: wrong magic (1F 8B) or a compression method other than 8.
    case notGzip
    /// gzip flags with reserved bits set (RFC 1952 §2.3.1).
    case reservedFlags
    /// The header's CRC16 does not match.
    case headerChecksumMismatch
    /// The trailer's CRC-32 does not match the data.
    case checksumMismatch
    /// The trailer's ISIZE does not match the data's length modulo 2^32.
    case sizeMismatch

    public var description: String {
        switch self {
        case .truncated: return "gzip: the compressed data is truncated"
        case .reservedBlockType: return "gzip: deflate block type 3 (reserved)"
        case .storedLengthMismatch: return "gzip: stored block LEN/NLEN mismatch"
        case .badCodeLengths: return "gzip: bad Huffman code lengths"
        case .badSymbol: return "gzip: bad Huffman code"
        case .distanceTooFar: return "gzip: back-reference before the start of the data"
        case .outputTooLarge(let limit): return "gzip: decompresses to more than \(limit) bytes"
        case .notGzip: return "gzip: not a gzip member (1F 8B 08)"
        case .reservedFlags: return "gzip: reserved header flags set"
        case .headerChecksumMismatch: return "gzip: header CRC16 mismatch"
        case .checksumMismatch: return "gzip: CRC-32 mismatch"
        case .sizeMismatch: return "gzip: ISIZE mismatch"
        }
    }
}

/// CRC-32 as gzip uses it (RFC 1952 §8: polynomial 0xEDB88320, reflected, inverted).
public enum CRC32 {
    public static func checksum<C: Collection>(_ bytes: C, startingWith start: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var table = [UInt32](repeating: 0, count: 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 != 0 ? 0xedb8_8320 ^ (value >> 1) : value >> 1 }
            table[index] = value
        }
        var crc = ~start
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }
}

public enum Inflate {
    /// True when `bytes` starts with the gzip magic 1F 8B.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Decompresses a gzip file (RFC 1952): one member, or several concatenated (their data
    /// joined), checking each member's CRC-32 and ISIZE. At most `limit` bytes come out.
    public static func gunzip(_ bytes: [UInt8], limit: Int) throws(InflateError) -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        repeat {
            offset = try member(bytes, at: offset, into: &output, limit: limit)
            // Trailing zero padding (as tape-blocked files have) ends the file.
            while offset < bytes.count && bytes[offset] == 0 { offset += 1 }
        } while offset < bytes.count
        return output
    }

    /// One gzip member at `offset`, appended to `output`; returns the offset after it.
    static func member(_ bytes: [UInt8], at start: Int, into output: inout [UInt8], limit: Int) throws(InflateError) -> Int {
        // RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) XFL OS, then the optional fields FLG announces.
        guard bytes.count - start >= 10 else { throw bytes.count - start >= 2 ? .truncated : .notGzip }
        guard bytes[start] == 0x1f, bytes[start + 1] == 0x8b, bytes[start + 2] == 8 else { throw .notGzip }
        let flags = bytes[start + 3]
        guard flags & 0xe0 == 0 else { throw .reservedFlags }
        var offset = start + 10
        if flags & 0x04 != 0 {   // FEXTRA: XLEN, then XLEN bytes
            guard bytes.count - offset >= 2 else { throw .truncated }
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            guard bytes.count - offset - 2 >= length else { throw .truncated }
            offset += 2 + length
        }
        for flag in [UInt8(0x08), 0x10] where flags & flag != 0 {   // FNAME, FCOMMENT: zero-terminated
            while offset < bytes.count && bytes[offset] != 0 { offset += 1 }
            guard offset < bytes.count else { throw .truncated }
            offset += 1
        }
        if flags & 0x02 != 0 {   // FHCRC: the low 16 bits of the CRC-32 of the header so far
            guard bytes.count - offset >= 2 else { throw .truncated }
            let stored = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            guard CRC32.checksum(bytes[start..<offset]) & 0xffff == stored else { throw .headerChecksumMismatch }
            offset += 2
        }
        let dataStart = output.count
        var reader = BitReader(bytes: bytes, offset: offset)
        try inflate(&reader, into: &output, limit: limit)
        offset = reader.byteOffsetAfterAlignment
        // §2.3.1: CRC32 and ISIZE, little-endian.
        guard bytes.count - offset >= 8 else { throw .truncated }
        func le32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        guard CRC32.checksum(output[dataStart...]) == le32(offset) else { throw .checksumMismatch }
        guard UInt32(truncatingIfNeeded: output.count - dataStart) == le32(offset + 4) else { throw .sizeMismatch }
        return offset + 8
    }

    /// Decompresses raw DEFLATE data (RFC 1951), at most `limit` bytes.
    public static func inflate(_ bytes: [UInt8], limit: Int) throws(InflateError) -> [UInt8] {
        var reader = BitReader(bytes: bytes, offset: 0)
        var output: [UInt8] = []
        try inflate(&reader, into: &output, limit: limit)
        return output
    }

    static func inflate(_ reader: inout BitReader, into output: inout [UInt8], limit: Int) throws(InflateError) {
        let base = output.count
        var final = false
        while !final {
            final = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0: try stored(&reader, into: &output, base: base, limit: limit)
            case 1:
                try codes(&reader, literals: HuffmanTable.fixedLiterals, distances: HuffmanTable.fixedDistances,
                          into: &output, base: base, limit: limit)
            case 2:
                let (literals, distances) = try dynamicTables(&reader)
                try codes(&reader, literals: literals, distances: distances, into: &output, base: base, limit: limit)
            default: throw .reservedBlockType
            }
        }
    }

    /// §3.2.4: skip to a byte boundary, LEN, NLEN, then LEN bytes.
    static func stored(_ reader: inout BitReader, into output: inout [UInt8], base: Int, limit: Int) throws(InflateError) {
        reader.alignToByte()
        let length = try reader.bits(16)
        let complement = try reader.bits(16)
        guard length == ~complement & 0xffff else { throw .storedLengthMismatch }
        guard output.count - base + length <= limit else { throw .outputTooLarge(limit: limit) }
        try reader.copyBytes(length, into: &output)
    }

    // §3.2.5: base lengths and extra bits for length codes 257...285, and for distance codes 0...29.
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                     3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                      257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                       7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// Literal/length and distance codes until end-of-block (256).
    static func codes(_ reader: inout BitReader, literals: HuffmanTable, distances: HuffmanTable,
                      into output: inout [UInt8], base: Int, limit: Int) throws(InflateError) {
        while true {
            let symbol = try literals.decode(&reader)
            if symbol < 256 {
                guard output.count - base < limit else { throw .outputTooLarge(limit: limit) }
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < lengthBase.count else { throw .badSymbol }
            let length = lengthBase[lengthIndex] + (try reader.bits(lengthExtra[lengthIndex]))
            let distanceSymbol = try distances.decode(&reader)
            guard distanceSymbol < distanceBase.count else { throw .badSymbol }
            let distance = distanceBase[distanceSymbol] + (try reader.bits(distanceExtra[distanceSymbol]))
            guard distance <= output.count - base else { throw .distanceTooFar }
            guard output.count - base + length <= limit else { throw .outputTooLarge(limit: limit) }
            // Byte by byte: the copy may overlap what it writes (distance < length repeats).
            var from = output.count - distance
            for _ in 0..<length {
                output.append(output[from])   // in bounds: from < output.count, checked above
                from += 1
            }
        }
    }

    /// §3.2.7: HLIT, HDIST, HCLEN, the code length code, then the two tables' code lengths.
    static func dynamicTables(_ reader: inout BitReader) throws(InflateError) -> (HuffmanTable, HuffmanTable) {
        let literalCount = try reader.bits(5) + 257
        let distanceCount = try reader.bits(5) + 1
        let lengthCodeCount = try reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .badCodeLengths }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var lengthCodeLengths = [Int](repeating: 0, count: 19)
        for index in 0..<lengthCodeCount { lengthCodeLengths[order[index]] = try reader.bits(3) }
        let lengthCode = try HuffmanTable(lengths: lengthCodeLengths)
        var lengths: [Int] = []
        let total = literalCount + distanceCount
        while lengths.count < total {
            let symbol = try lengthCode.decode(&reader)
            switch symbol {
            case 0...15:
                lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw .badCodeLengths }
                let repeatCount = 3 + (try reader.bits(2))
                guard lengths.count + repeatCount <= total else { throw .badCodeLengths }
                for _ in 0..<repeatCount { lengths.append(previous) }
            case 17, 18:
                let repeatCount = symbol == 17 ? 3 + (try reader.bits(3)) : 11 + (try reader.bits(7))
                guard lengths.count + repeatCount <= total else { throw .badCodeLengths }
                for _ in 0..<repeatCount { lengths.append(0) }
            default:
                throw .badSymbol
            }
        }
        // End-of-block must be codable, or the block could never end.
        guard lengths[256] != 0 else { throw .badCodeLengths }
        let literals = try HuffmanTable(lengths: Array(lengths[0..<literalCount]))
        let distances = try HuffmanTable(lengths: Array(lengths[literalCount...]), allowIncomplete: true)
        return (literals, distances)
    }
}

/// Reads DEFLATE's bit stream: least significant bit first within each byte (RFC 1951 §3.1.1).
struct BitReader {
    let bytes: [UInt8]
    var offset: Int
    var buffer: UInt64 = 0
    var count = 0

    init(bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
    }

    /// The next `n` (0...16) bits as a number, the first bit read the least significant.
    mutating func bits(_ n: Int) throws(InflateError) -> Int {
        while count < n {
            guard offset < bytes.count else { throw .truncated }
            buffer |= UInt64(bytes[offset]) << UInt64(count)
            offset += 1
            count += 8
        }
        let value = Int(buffer & ((1 << UInt64(n)) - 1))
        buffer >>= UInt64(n)
        count -= n
        return value
    }

    mutating func alignToByte() {
        let drop = count % 8
        buffer >>= UInt64(drop)
        count -= drop
    }

    /// The offset of the first byte not (even partly) consumed.
    var byteOffsetAfterAlignment: Int { offset - count / 8 }

    /// `n` whole bytes, after `alignToByte`.
    mutating func copyBytes(_ n: Int, into output: inout [UInt8]) throws(InflateError) {
        var left = n
        while left > 0 && count >= 8 {
            output.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
            left -= 1
        }
        guard bytes.count - offset >= left else { throw .truncated }
        output.append(contentsOf: bytes[offset..<(offset + left)])
        offset += left
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2), decoded bit by bit: per length, how many codes
/// there are, and the symbols in code order.
struct HuffmanTable {
    var counts: [Int]   // counts[n]: codes of n bits
    var symbols: [Int]  // symbols sorted by code

    init(lengths: [Int], allowIncomplete: Bool = false) throws(InflateError) {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths {
            guard length >= 0 && length <= 15 else { throw .badCodeLengths }
            counts[length] += 1
        }
        counts[0] = 0
        // Over-subscribed codes are never valid; incomplete ones only when at most one code is used
        // (a lone distance code, §3.2.7) or explicitly allowed.
        var left = 1
        for length in 1...15 {
            left = left * 2 - counts[length]
            guard left >= 0 else { throw .badCodeLengths }
        }
        let used = counts.reduce(0, +)
        if left > 0 && !allowIncomplete && used > 1 { throw .badCodeLengths }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
        var symbols = [Int](repeating: 0, count: used)
        for (symbol, length) in lengths.enumerated() where length != 0 {
            symbols[offsets[length]] = symbol   // in bounds: offsets[length] < used by construction
            offsets[length] += 1
        }
        self.counts = counts
        self.symbols = symbols
    }

    /// Reads one code; codes are packed most significant bit first (§3.1.1).
    func decode(_ reader: inout BitReader) throws(InflateError) -> Int {
        var code = 0, first = 0, index = 0
        for length in 1...15 {
            code |= try reader.bits(1)
            let count = counts[length]
            if code - first < count { return symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw .badSymbol
    }

    static let fixedLiterals: HuffmanTable = {
        var lengths = [Int](repeating: 8, count: 288)
        for symbol in 144..<256 { lengths[symbol] = 9 }
        for symbol in 256..<280 { lengths[symbol] = 7 }
        // Built from constant lengths that form a complete code: cannot fail.
        return (try? HuffmanTable(lengths: lengths)) ?? HuffmanTable.empty
    }()

    static let fixedDistances: HuffmanTable = {
        (try? HuffmanTable(lengths: [Int](repeating: 5, count: 30), allowIncomplete: true)) ?? HuffmanTable.empty
    }()

    static var empty: HuffmanTable { HuffmanTable(counts: [Int](repeating: 0, count: 16), symbols: []) }

    init(counts: [Int], symbols: [Int]) {
        self.counts = counts
        self.symbols = symbols
    }
}
