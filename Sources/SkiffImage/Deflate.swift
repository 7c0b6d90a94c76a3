/// A DEFLATE compressor (RFC 1951): LZ77 matches against a 32 KiB window (one candidate per
/// 3-byte hash, plus a distance-1 run check), coded with the fixed Huffman codes (§3.2.6).
/// Framed as zlib (RFC 1950) for VMDK streamOptimized grains and as gzip (RFC 1952) for the GCE
/// tarball. Correctness first: no dynamic Huffman tables.
public enum Deflate {
    /// §3.2.5: lengths 3…258 as codes 257…285 with extra bits.
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
                                    115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    /// §3.2.5: distances 1…32768 as codes 0…29 with extra bits.
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                                      1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                                       12, 12, 13, 13]

    /// §3.2.6 fixed literal/length codes, bit-reversed (DEFLATE sends Huffman codes MSB first
    /// into an LSB-first bit stream), with their lengths.
    static let fixedLiteral: [(code: UInt32, length: Int)] = (0..<288).map { symbol in
        let (code, length): (Int, Int)
        switch symbol {
        case 0...143: (code, length) = (0x30 + symbol, 8)
        case 144...255: (code, length) = (0x190 + symbol - 144, 9)
        case 256...279: (code, length) = (symbol - 256, 7)
        default: (code, length) = (0xC0 + symbol - 280, 8)
        }
        return (reverse(UInt32(code), bits: length), length)
    }
    static let fixedDistance: [UInt32] = (0..<30).map { reverse(UInt32($0), bits: 5) }

    /// For lengths 3…258, the code index (0…28); for distances 1…32768 via `distanceCode`.
    static let lengthCode: [UInt8] = (0...258).map { length in
        guard length >= 3 else { return 0 }
        var code = 0
        while code + 1 < lengthBase.count && lengthBase[code + 1] <= length { code += 1 }
        return UInt8(code)
    }

    static func distanceCode(_ distance: Int) -> Int {
        var code = 0
        while code + 1 < distanceBase.count && distanceBase[code + 1] <= distance { code += 1 }
        return code
    }

    static func reverse(_ value: UInt32, bits: Int) -> UInt32 {
        var result: UInt32 = 0
        for bit in 0..<bits where value & (1 << bit) != 0 { result |= 1 << (bits - 1 - bit) }
        return result
    }

    static let minMatch = 3, maxMatch = 258, window = 32768, hashBits = 15

    /// Appends one fixed-Huffman block holding `input` to `writer` (BFINAL as given).
    static func fixedBlock(_ input: UnsafeBufferPointer<UInt8>, final: Bool, into writer: inout BitWriter) {
        writer.write(final ? 1 : 0, bits: 1)
        writer.write(1, bits: 2)  // BTYPE 01: fixed Huffman codes
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        let count = input.count
        var position = 0
        func literal(_ byte: UInt8, _ writer: inout BitWriter) {
            let entry = fixedLiteral[Int(byte)]
            writer.write(entry.code, bits: entry.length)
        }
        while position < count {
            var bestLength = 0, bestDistance = 0
            if position + minMatch <= count {
                let limit = min(maxMatch, count - position)
                // In bounds: position + 2 < count was checked above.
                let hash = (Int(input[position]) << 10 ^ Int(input[position + 1]) << 5 ^ Int(input[position + 2])) & ((1 << hashBits) - 1)
                let previous = Int(head[hash])
                head[hash] = Int32(position)
                // A run first (distance 1), then the hash chain's one candidate.
                for candidate in 0..<2 {
                    let start = candidate == 0 ? position - 1 : previous
                    guard start >= 0, start < position, position - start <= window, bestLength < limit else { continue }
                    var length = 0
                    // In bounds: start < position and position + length < count.
                    while length < limit && input[start + length] == input[position + length] { length += 1 }
                    if length > bestLength { (bestLength, bestDistance) = (length, position - start) }
                }
            }
            if bestLength >= minMatch {
                let code = Int(lengthCode[bestLength])
                let symbol = fixedLiteral[257 + code]
                writer.write(symbol.code, bits: symbol.length)
                writer.write(UInt32(bestLength - lengthBase[code]), bits: lengthExtra[code])
                let distanceCode = distanceCode(bestDistance)
                writer.write(fixedDistance[distanceCode], bits: 5)
                writer.write(UInt32(bestDistance - distanceBase[distanceCode]), bits: distanceExtra[distanceCode])
                // Index the match's later positions sparsely (every 4th byte) to stay fast.
                var index = position + 1
                while index < position + bestLength && index + 2 < count {
                    let hash = (Int(input[index]) << 10 ^ Int(input[index + 1]) << 5 ^ Int(input[index + 2])) & ((1 << hashBits) - 1)
                    head[hash] = Int32(index)
                    index += 4
                }
                position += bestLength
            } else {
                literal(input[position], &writer)
                position += 1
            }
        }
        let end = fixedLiteral[256]
        writer.write(end.code, bits: end.length)
    }

    /// A raw DEFLATE stream: one final fixed-Huffman block.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        input.withUnsafeBufferPointer { fixedBlock($0, final: true, into: &writer) }
        writer.alignToByte()
        return writer.bytes
    }

    /// RFC 1950: CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (FCHECK: 0x7801 % 31 == 0, no
    /// dictionary, level 0), the DEFLATE stream, then the Adler-32 of the input, big-endian.
    public static func zlib(_ input: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x78, 0x01] + compress(input)
        let adler = Adler32.checksum(input)
        for shift in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: adler >> UInt32(shift))) }
        return bytes
    }
}

/// DEFLATE's bit order (RFC 1951 §3.1.1): data elements packed starting with the least significant bit.
struct BitWriter {
    var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    mutating func write(_ value: UInt32, bits: Int) {
        guard bits > 0 else { return }
        buffer |= UInt64(value & UInt32(truncatingIfNeeded: (UInt64(1) << bits) - 1)) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: buffer))
            buffer >>= 8
            count -= 8
        }
    }

    mutating func alignToByte() {
        if count > 0 { write(0, bits: 8 - count) }
    }

    /// §3.2.4: an empty stored block (BTYPE 00, LEN 0, NLEN 0xFFFF) ends on a byte boundary, so
    /// the bytes so far can be written out (zlib's "sync flush").
    mutating func syncFlush() {
        write(0, bits: 3)
        alignToByte()
        bytes += [0x00, 0x00, 0xFF, 0xFF]
    }
}

/// A gzip member (RFC 1952) written as the data arrives: the input is compressed in 64 KiB
/// pieces, each a fixed-Huffman block ended by a sync flush, so an all-zero piece's bytes are
/// computed once and reused (the GCE disk's zero padding runs to gigabytes).
struct GzipStream {
    static let pieceSize = 1 << 16
    private var pending: [UInt8] = []
    private var crc = CRC32()
    private var length: UInt64 = 0
    private var zeroPiece: [UInt8]?
    private let sink: ([UInt8]) throws(ImageError) -> Void

    /// `sink` receives the compressed bytes in order.
    init(mtime: UInt32, sink: @escaping ([UInt8]) throws(ImageError) -> Void) throws(ImageError) {
        self.sink = sink
        // ID1 ID2, CM 8 (deflate), FLG 0, MTIME, XFL 0, OS 3 (Unix).
        var header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        header.setLittleEndian(mtime, at: 4)
        try sink(header)
    }

    mutating func write(_ bytes: [UInt8]) throws(ImageError) {
        pending += bytes
        if pending.count >= Self.pieceSize {
            var start = 0
            while pending.count - start >= Self.pieceSize {
                try compressPiece(Array(pending[start..<start + Self.pieceSize]))
                start += Self.pieceSize
            }
            pending.removeFirst(start)
        }
    }

    /// Writes `count` zero bytes without building them all.
    mutating func writeZeros(_ count: Int) throws(ImageError) {
        var left = count
        let zeros = [UInt8](repeating: 0, count: Self.pieceSize)
        if !pending.isEmpty {
            let take = min(left, Self.pieceSize - pending.count)
            try write(Array(zeros[0..<take]))
            left -= take
        }
        while left >= Self.pieceSize {
            try compressPiece(zeros)
            left -= Self.pieceSize
        }
        if left > 0 { try write(Array(zeros[0..<left])) }
    }

    private mutating func compressPiece(_ piece: [UInt8]) throws(ImageError) {
        length &+= UInt64(piece.count)
        if isAllZero(piece) {
            crc.updateZeros(count: piece.count)
            if zeroPiece == nil { zeroPiece = Self.deflatePiece(piece) }
            try sink(zeroPiece!)
        } else {
            crc.update(piece)
            try sink(Self.deflatePiece(piece))
        }
    }

    private static func deflatePiece(_ piece: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        piece.withUnsafeBufferPointer { Deflate.fixedBlock($0, final: false, into: &writer) }
        writer.syncFlush()
        return writer.bytes
    }

    /// The rest of the input, an empty final block, then CRC32 and ISIZE (RFC 1952 §2.3.1).
    mutating func finish() throws(ImageError) {
        if !pending.isEmpty {
            let piece = pending
            pending = []
            length &+= UInt64(piece.count)
            crc.update(piece)
            try sink(Self.deflatePiece(piece))
        }
        var writer = BitWriter()
        [UInt8]().withUnsafeBufferPointer { Deflate.fixedBlock($0, final: true, into: &writer) }
        writer.alignToByte()
        var trailer = writer.bytes + [UInt8](repeating: 0, count: 8)
        trailer.setLittleEndian(crc.value, at: trailer.count - 8)
        trailer.setLittleEndian(UInt32(truncatingIfNeeded: length), at: trailer.count - 4)
        try sink(trailer)
    }
}
