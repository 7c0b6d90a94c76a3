/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
/// words. Accumulate with `add`, then read `checksum`.
public struct InternetChecksum {
    /// The running sum, folded lazily; 64 bits cannot overflow for any packet size we handle.
    public private(set) var sum: UInt64 = 0
    /// True when an odd byte is waiting for its partner.
    private var oddByte: UInt8? = nil

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        if let pending = oddByte, count > 0 {
            sum &+= UInt64(pending) << 8 | UInt64(bytes[0])
            oddByte = nil
            index = 1
        }
        // Four bytes at a time; the bounds are checked by the loop condition.
        while index + 4 <= count {
            sum &+= UInt64(bytes.getUInt32(at: index))
            index += 4
        }
        while index + 2 <= count {
            sum &+= UInt64(bytes.getUInt16(at: index))
            index += 2
        }
        if index < count { oddByte = bytes[index] }
    }

    public mutating func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    public mutating func add(_ value: UInt16) {
        precondition(oddByte == nil, "16-bit add after an odd number of bytes")
        sum &+= UInt64(value)
    }

    public mutating func add(_ value: UInt32) {
        precondition(oddByte == nil, "32-bit add after an odd number of bytes")
        sum &+= UInt64(value)
    }

    /// Adds the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source, destination, zero, protocol,
    /// and the upper-layer length.
    public mutating func addPseudoHeader(source: IPv4Address, destination: IPv4Address,
                                         protocol proto: UInt8, length: Int) {
        add(source.value)
        add(destination.value)
        add(UInt16(proto))
        add(UInt16(truncatingIfNeeded: length))
    }

    /// The folded ones' complement sum, not complemented.
    public var folded: UInt16 {
        var s = sum
        if let pending = oddByte { s &+= UInt64(pending) << 8 }
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return UInt16(s)
    }

    /// The checksum to store in a header.
    public var checksum: UInt16 { ~folded }

    /// True when the data summed included a correct checksum field (the sum folds to 0xffff).
    public var isValid: Bool { folded == 0xffff }

    /// One-shot checksum of `bytes`.
    public static func compute(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var c = InternetChecksum()
        c.add(bytes)
        return c.checksum
    }

    /// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from `old` to `new`,
    /// `HC' = ~(~HC + ~m + m')`, which never yields the 0x0000/0xffff ambiguity of eqn. 2.
    public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var s = UInt32(~checksum) + UInt32(~old) + UInt32(new)
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return ~UInt16(s)
    }

    /// RFC 1624 for a 32-bit field (an address, a sequence number): two 16-bit updates.
    public static func update32(_ checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        let high = update(checksum, old: UInt16(old >> 16), new: UInt16(new >> 16))
        return update(high, old: UInt16(truncatingIfNeeded: old), new: UInt16(truncatingIfNeeded: new))
    }
}
