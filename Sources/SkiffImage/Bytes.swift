// Fixed-offset byte fields for on-disk structures. Little-endian unless named otherwise; ISO 9660
// "both-byte orders" fields (ECMA-119 §7.2.3, §7.3.3) are little-endian then big-endian.

extension Array where Element == UInt8 {
    /// Writes `value`'s low `count` bytes, least significant first. The caller keeps `offset` in bounds.
    mutating func setLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int, count: Int = MemoryLayout<T>.size) {
        precondition(offset >= 0 && offset + count <= self.count, "little-endian field out of bounds")
        for index in 0..<count { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    mutating func setBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int, count: Int = MemoryLayout<T>.size) {
        precondition(offset >= 0 && offset + count <= self.count, "big-endian field out of bounds")
        for index in 0..<count { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - index))) }
    }

    /// ECMA-119 §7.2.3 (16-bit) and §7.3.3 (32-bit): the value little-endian, then big-endian.
    mutating func setBothEndian(_ value: UInt16, at offset: Int) {
        setLittleEndian(value, at: offset)
        setBigEndian(value, at: offset + 2)
    }

    mutating func setBothEndian(_ value: UInt32, at offset: Int) {
        setLittleEndian(value, at: offset)
        setBigEndian(value, at: offset + 4)
    }

    /// `text`'s bytes in a field of `length` bytes, the rest filled with `pad` (ECMA-119 uses
    /// spaces for a- and d-character fields).
    mutating func setText(_ text: String, at offset: Int, length: Int, pad: UInt8 = 0x20) {
        let bytes = Array(text.utf8.prefix(length))
        precondition(offset >= 0 && offset + length <= count, "text field out of bounds")
        for index in 0..<length { self[offset + index] = index < bytes.count ? bytes[index] : pad }
    }

    func littleEndian32(at offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= count else { return 0 }
        return UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    func littleEndian16(at offset: Int) -> UInt16 {
        guard offset >= 0, offset + 2 <= count else { return 0 }
        return UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }
}

/// `value` rounded up to a multiple of `alignment` (a power of two or any positive number).
func roundUp(_ value: Int, to alignment: Int) -> Int {
    (value + alignment - 1) / alignment * alignment
}
