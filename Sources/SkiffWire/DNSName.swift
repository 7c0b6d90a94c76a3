// DNS domain names: RFC 1035 §3.1 (labels), §2.3.4 (size limits), §4.1.4 (message compression),
// §5.1 (text form). The same encoding is reused by DHCP's domain-search option (RFC 3397 §2),
// for which `parseSequence`/`encodeSequence` exist.
//
// Compression pointers on parse follow one rule, which rules out every loop by construction:
// a pointer must target an offset strictly before the start of the run of labels that contains it
// — the name's own start for the first pointer, the previous pointer's target for each later one.
// The limit therefore strictly decreases at every jump. Every legitimate encoder satisfies it,
// since a name can only be compressed against a name written before it. The number of jumps is
// also bounded (`maxPointerJumps`).

public enum DNSNameParseError: Error, Equatable, Sendable {
    /// The name runs past the end of the bytes.
    case truncated
    /// A label type 0b01 (EDNS extended label, deprecated by RFC 6891 §5) or 0b10 (reserved).
    case reservedLabelType
    /// A compression pointer that does not point strictly backwards (see the rule above):
    /// forwards, at itself, or into the run of labels it ends.
    case badPointer
    /// More than `DNSName.maxPointerJumps` compression pointers in one name.
    case tooManyJumps
    /// More than 255 bytes in uncompressed wire form (RFC 1035 §2.3.4).
    case nameTooLong
}

/// A domain name as a list of labels, compared case-insensitively for ASCII letters
/// (RFC 4343 §3) while keeping the case it was given (so an emitted name has the original bytes).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The longest name in uncompressed wire form, root byte included (RFC 1035 §2.3.4).
    public static let maxLength = 255
    /// The longest label (RFC 1035 §2.3.4): the length byte has six bits.
    public static let maxLabelLength = 63
    /// At most this many compression pointers are followed in one name.
    public static let maxPointerJumps = 128

    /// The uncompressed wire form: each label as a length byte and its bytes, then a zero byte.
    /// Invariant: labels of 1...63 bytes, at most 255 bytes in all.
    public private(set) var wireBytes: [UInt8]

    /// The root name `.`.
    public static let root = DNSName(validatedWire: [0])

    init(validatedWire: [UInt8]) {
        wireBytes = validatedWire
    }

    /// A name from its labels; nil if a label is empty or longer than 63 bytes, or the name
    /// would exceed 255 bytes.
    public init?(labels: [[UInt8]]) {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty, label.count <= DNSName.maxLabelLength,
                  wire.count + 1 + label.count + 1 <= DNSName.maxLength else { return nil }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        wireBytes = wire
    }

    /// Parses the text form `www.example.test` (a trailing dot is allowed; `.` is the root).
    /// `\.`, `\\` and `\DDD` escapes are understood (RFC 1035 §5.1). Nil if malformed: an empty
    /// label, a label over 63 bytes, a name over 255 bytes, or a bad escape.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        if utf8 == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        guard !utf8.isEmpty else { return nil }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var i = 0
        var endsWithDot = false
        while i < utf8.count {
            let byte = utf8[i]
            endsWithDot = false
            if byte == UInt8(ascii: ".") {
                guard !label.isEmpty else { return nil }
                labels.append(label)
                label = []
                endsWithDot = true
                i += 1
            } else if byte == UInt8(ascii: "\\") {
                guard i + 1 < utf8.count else { return nil }
                let next = utf8[i + 1]
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    guard i + 3 < utf8.count else { return nil }
                    var value = 0
                    for j in 1...3 {
                        let digit = utf8[i + j]
                        guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
                        value = value * 10 + Int(digit - UInt8(ascii: "0"))
                    }
                    guard value <= 255 else { return nil }
                    label.append(UInt8(value))
                    i += 4
                } else {
                    label.append(next)
                    i += 2
                }
            } else {
                label.append(byte)
                i += 1
            }
            guard label.count <= DNSName.maxLabelLength else { return nil }
        }
        if !endsWithDot {
            guard !label.isEmpty else { return nil }
            labels.append(label)
        }
        self.init(labels: labels)
    }

    /// The labels, most specific first; empty for the root.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var i = 0
        while i < wireBytes.count, wireBytes[i] != 0 {
            let length = Int(wireBytes[i])
            result.append(Array(wireBytes[(i + 1)..<(i + 1 + length)]))
            i += 1 + length
        }
        return result
    }

    public var labelCount: Int {
        var count = 0
        var i = 0
        while i < wireBytes.count, wireBytes[i] != 0 {
            count += 1
            i += 1 + Int(wireBytes[i])
        }
        return count
    }

    public var isRoot: Bool { wireBytes.count == 1 }

    /// The uncompressed encoded length, root byte included.
    public var encodedLength: Int { wireBytes.count }

    /// True if `self` equals `other` or lies below it (`a.example.test` is under `example.test`).
    public func isSubdomain(of other: DNSName) -> Bool {
        let extra = wireBytes.count - other.wireBytes.count
        guard extra >= 0 else { return false }
        // The suffix must start on a label boundary of self.
        var i = 0
        while i < extra { i += 1 + Int(wireBytes[i]) }
        guard i == extra else { return false }
        for j in 0..<other.wireBytes.count where
            asciiLowercased(wireBytes[extra + j]) != asciiLowercased(other.wireBytes[j]) {
            return false
        }
        return true
    }

    // RFC 4343 §3: ASCII letters compare case-insensitively. Length bytes are 0...63 and so are
    // unaffected by the folding, which lets the wire forms be compared byte by byte.
    public static func == (l: DNSName, r: DNSName) -> Bool {
        guard l.wireBytes.count == r.wireBytes.count else { return false }
        for i in 0..<l.wireBytes.count where
            asciiLowercased(l.wireBytes[i]) != asciiLowercased(r.wireBytes[i]) {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for byte in wireBytes { hasher.combine(asciiLowercased(byte)) }
    }

    /// The text form without a trailing dot (`.` for the root); `.`, `\` and bytes outside
    /// printable ASCII are escaped (RFC 1035 §5.1), so `DNSName(name.description) == name`.
    public var description: String {
        guard !isRoot else { return "." }
        var out: [UInt8] = []
        var i = 0
        while i < wireBytes.count, wireBytes[i] != 0 {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            let length = Int(wireBytes[i])
            for byte in wireBytes[(i + 1)..<(i + 1 + length)] {
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") {
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                } else if byte > 0x20 && byte < 0x7f {
                    out.append(byte)
                } else {
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "0") + byte / 100)
                    out.append(UInt8(ascii: "0") + byte / 10 % 10)
                    out.append(UInt8(ascii: "0") + byte % 10)
                }
            }
            i += 1 + length
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses the possibly compressed name at `offset` in `message` (pointers are offsets into
    /// `message`, RFC 1035 §4.1.4). Returns the name and the offset just after it where it was
    /// found: after its terminating zero byte, or after its first pointer.
    public static func parse(_ message: UnsafeRawBufferPointer, at offset: Int)
        throws(DNSNameParseError) -> (name: DNSName, end: Int)
    {
        var cursor = ByteCursor(message)
        guard offset >= 0, cursor.moveReaderIndex(to: offset) else { throw .truncated }
        var wire: [UInt8] = []
        var limit = offset     // the next pointer must target an offset below this
        var end: Int? = nil    // where the name ends in place: after its first pointer
        var jumps = 0
        // Bounded: every label consumes bytes and the name is capped at 255 bytes; every jump
        // strictly lowers `limit` and is counted.
        while true {
            guard let length = cursor.readUInt8() else { throw .truncated }
            switch length >> 6 {
            case 0b00:
                if length == 0 {
                    wire.append(0)
                    return (DNSName(validatedWire: wire), end ?? cursor.readerIndex)
                }
                // The label, its length byte and the root byte still to come must fit in 255.
                guard wire.count + 1 + Int(length) + 1 <= DNSName.maxLength else { throw .nameTooLong }
                guard let label = cursor.readBytes(Int(length)) else { throw .truncated }
                wire.append(length)
                wire.append(contentsOf: label)
            case 0b11:
                guard let low = cursor.readUInt8() else { throw .truncated }
                let target = Int(length & 0x3f) << 8 | Int(low)
                guard target < limit else { throw .badPointer }
                jumps += 1
                guard jumps <= DNSName.maxPointerJumps else { throw .tooManyJumps }
                if end == nil { end = cursor.readerIndex }
                limit = target
                guard cursor.moveReaderIndex(to: target) else { throw .truncated }
            default:
                throw .reservedLabelType
            }
        }
    }

    /// Parses the names packed back to back in `bytes`, as in DHCP option 119 (RFC 3397 §2, where
    /// pointers are offsets into the concatenated option data).
    public static func parseSequence(_ bytes: UnsafeRawBufferPointer)
        throws(DNSNameParseError) -> [DNSName]
    {
        var names: [DNSName] = []
        var offset = 0
        // Bounded: every name consumes at least one byte.
        while offset < bytes.count {
            let (name, end) = try parse(bytes, at: offset)
            names.append(name)
            offset = end
        }
        return names
    }

    /// Writes the name uncompressed at the start of `out`; returns the bytes written.
    @discardableResult
    public func emit(into out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= wireBytes.count, "DNSName emit buffer too small")
        wireBytes.withUnsafeBytes { out.setBytes($0, at: 0) }
        return wireBytes.count
    }

    /// Encodes `names` back to back, compressing suffixes against the earlier names when
    /// `compress` is set (RFC 3397 §2 allows it in DHCP option 119).
    public static func encodeSequence(_ names: [DNSName], compress: Bool = true) -> [UInt8] {
        var measure = DNSEncoder(out: nil, compress: compress)
        for name in names { measure.writeName(name) }
        var bytes = [UInt8](repeating: 0, count: measure.index)
        bytes.withUnsafeMutableBytes { out in
            var encoder = DNSEncoder(out: out, compress: compress)
            for name in names { encoder.writeName(name) }
            precondition(encoder.index == out.count, "DNS name sequence length changed")
        }
        return bytes
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

/// Writes DNS wire data, or with no buffer only counts it, so `encodedLength` and `emit` share one
/// code path and cannot disagree. Compresses names against those written before (RFC 1035 §4.1.4).
struct DNSEncoder {
    let out: UnsafeMutableRawBufferPointer?
    let compress: Bool
    private(set) var index = 0
    /// Offsets of the name suffixes written so far, keyed by their exact uncompressed bytes. Exact
    /// (not case-folded) so a compressed name still decodes to the bytes it was given.
    private var suffixOffsets: [[UInt8]: Int] = [:]

    /// A pointer holds 14 bits of offset.
    static let maxPointerTarget = 0x3fff

    init(out: UnsafeMutableRawBufferPointer?, compress: Bool = true) {
        self.out = out
        self.compress = compress
    }

    mutating func writeUInt8(_ value: UInt8) {
        out?.setUInt8(value, at: index)
        index += 1
    }

    mutating func writeUInt16(_ value: UInt16) {
        out?.setUInt16(value, at: index)
        index += 2
    }

    mutating func writeUInt32(_ value: UInt32) {
        out?.setUInt32(value, at: index)
        index += 4
    }

    mutating func writeBytes(_ bytes: [UInt8]) {
        if let out = out {
            bytes.withUnsafeBytes { out.setBytes($0, at: index) }
        }
        index += bytes.count
    }

    mutating func setUInt16(_ value: UInt16, at offset: Int) {
        out?.setUInt16(value, at: offset)
    }

    /// Writes `name`: its labels up to the longest suffix already written, then a pointer to that
    /// suffix; records the offsets of the suffixes it wrote out in full.
    mutating func writeName(_ name: DNSName) {
        let wire = name.wireBytes
        let start = index
        var split = 0           // offset in `wire` where the pointer replaces the rest
        var target: Int? = nil
        if compress {
            while wire[split] != 0 {
                if let found = suffixOffsets[Array(wire[split...])] {
                    target = found
                    break
                }
                split += 1 + Int(wire[split])
            }
        } else {
            split = wire.count - 1
        }
        var i = 0
        while i < split {
            if compress, start + i <= DNSEncoder.maxPointerTarget {
                let suffix = Array(wire[i...])
                if suffixOffsets[suffix] == nil { suffixOffsets[suffix] = start + i }
            }
            i += 1 + Int(wire[i])
        }
        writeBytes(Array(wire[0..<split]))
        if let target = target {
            writeUInt16(0xc000 | UInt16(target))
        } else {
            writeUInt8(0)
        }
    }
}
