/// A 48-bit IEEE 802 MAC address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var octets: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        octets = (a, b, c, d, e, f)
    }

    /// Reads six bytes at `offset`; the caller has checked the length.
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + 6 <= bytes.count, "MACAddress out of bounds")
        octets = (bytes[offset], bytes[offset + 1], bytes[offset + 2],
                  bytes[offset + 3], bytes[offset + 4], bytes[offset + 5])
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also `-` separated); nil if malformed.
    public init?(_ text: String) {
        var values: [UInt8] = []
        var current: UInt16 = 0
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-") {
                guard digits > 0 else { return nil }
                values.append(UInt8(current))
                current = 0
                digits = 0
            } else if let nibble = hexValue(byte) {
                digits += 1
                guard digits <= 2 else { return nil }
                current = current << 4 | UInt16(nibble)
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        values.append(UInt8(current))
        guard values.count == 6 else { return nil }
        self.init(values[0], values[1], values[2], values[3], values[4], values[5])
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    public var isBroadcast: Bool { self == .broadcast }
    public var isMulticast: Bool { octets.0 & 1 == 1 }

    public func write(to bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + 6 <= bytes.count, "MACAddress write out of bounds")
        bytes[offset] = octets.0; bytes[offset + 1] = octets.1; bytes[offset + 2] = octets.2
        bytes[offset + 3] = octets.3; bytes[offset + 4] = octets.4; bytes[offset + 5] = octets.5
    }

    public var bytes: [UInt8] { [octets.0, octets.1, octets.2, octets.3, octets.4, octets.5] }

    /// The address as the low 48 bits of an integer, first octet most significant.
    public var integer: UInt64 {
        UInt64(octets.0) << 40 | UInt64(octets.1) << 32 | UInt64(octets.2) << 24
            | UInt64(octets.3) << 16 | UInt64(octets.4) << 8 | UInt64(octets.5)
    }

    public static func == (l: MACAddress, r: MACAddress) -> Bool { l.integer == r.integer }
    public func hash(into hasher: inout Hasher) { hasher.combine(integer) }

    public var description: String {
        var out = ""
        for (i, b) in bytes.enumerated() {
            if i > 0 { out += ":" }
            out += hex2(b)
        }
        return out
    }
}

/// An IPv4 address, stored in host order (`value` is 0xC6120001 for 198.18.0.1).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text strictly (four decimal parts 0...255, no leading `+`); nil if malformed.
    public init?(_ text: String) {
        var result: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 3 else { return nil }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard part <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        value = result << 8 | part
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(0xffff_ffff)

    public var isUnspecified: Bool { value == 0 }
    public var isLimitedBroadcast: Bool { value == 0xffff_ffff }
    public var isMulticast: Bool { value >> 28 == 0xe }
    public var isLoopback: Bool { value >> 24 == 127 }

    public static func < (l: IPv4Address, r: IPv4Address) -> Bool { l.value < r.value }

    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var description: String {
        let b = bytes
        return "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
    }
}

/// An IPv4 prefix (`198.18.0.0/15`) or an interface address with its prefix length
/// (`198.18.0.10/24`); `address` keeps the host bits as given.
public struct IPv4CIDR: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        precondition(prefixLength >= 0 && prefixLength <= 32, "prefix length out of range")
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n`; nil if malformed.
    public init?(_ text: String) {
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        guard let address = IPv4Address(String(text[..<slash])) else { return nil }
        let lengthText = text[text.index(after: slash)...]
        guard !lengthText.isEmpty, lengthText.utf8.count <= 2,
              lengthText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let length = Int(lengthText), length <= 32 else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The netmask for a prefix length, e.g. 24 -> 255.255.255.0.
    public static func mask(prefixLength: Int) -> IPv4Address {
        prefixLength <= 0 ? IPv4Address(0) : IPv4Address(UInt32.max << UInt32(32 - min(prefixLength, 32)))
    }

    /// The prefix length of a contiguous netmask; nil for a non-contiguous mask.
    public static func prefixLength(ofMask mask: IPv4Address) -> Int? {
        let ones = (~mask.value).leadingZeroBitCount
        return mask == IPv4CIDR.mask(prefixLength: ones) ? ones : nil
    }

    public var netmask: IPv4Address { IPv4CIDR.mask(prefixLength: prefixLength) }
    public var network: IPv4Address { IPv4Address(address.value & netmask.value) }
    public var broadcast: IPv4Address { IPv4Address(address.value | ~netmask.value) }

    public func contains(_ other: IPv4Address) -> Bool {
        other.value & netmask.value == network.value
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Two lowercase hex digits.
public func hex2(_ byte: UInt8) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]], as: UTF8.self)
}
