// Network-byte-order access to raw bytes, in swift-nio's vocabulary: `get`/`set` are random access
// at an offset and move nothing; `read`/`write` (on `ByteCursor`/`ByteWriter`) are sequential.
//
// The `get`/`set` accessors are for views that validated their length once at initialization:
// they check bounds with a precondition (a broken invariant, never untrusted input). Parsers of
// untrusted bytes that walk variable-length data use `ByteCursor`, whose reads return nil at the end.

extension UnsafeRawBufferPointer {
    @inline(__always)
    public func getUInt8(at offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count, "getUInt8 out of bounds")
        return self[offset]
    }

    @inline(__always)
    public func getUInt16(at offset: Int) -> UInt16 {
        precondition(offset >= 0 && offset + 2 <= count, "getUInt16 out of bounds")
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    public func getUInt32(at offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= count, "getUInt32 out of bounds")
        return UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16
            | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    /// The bytes in `range`, clamped to this buffer: never traps.
    @inline(__always)
    public func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        let lower = Swift.min(Swift.max(range.lowerBound, 0), count)
        let upper = Swift.min(Swift.max(range.upperBound, lower), count)
        // In bounds: 0 <= lower <= upper <= count.
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }

    /// The bytes from `offset` to the end, clamped: never traps.
    @inline(__always)
    public func suffix(from offset: Int) -> UnsafeRawBufferPointer {
        slice(offset..<count)
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    public func setUInt8(_ value: UInt8, at offset: Int) {
        precondition(offset >= 0 && offset < count, "setUInt8 out of bounds")
        self[offset] = value
    }

    @inline(__always)
    public func setUInt16(_ value: UInt16, at offset: Int) {
        precondition(offset >= 0 && offset + 2 <= count, "setUInt16 out of bounds")
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    public func setUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count, "setUInt32 out of bounds")
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Copies `bytes` to `offset`.
    @inline(__always)
    public func setBytes(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= count, "setBytes out of bounds")
        guard bytes.count > 0, let base = baseAddress, let source = bytes.baseAddress else { return }
        // In bounds: checked by the precondition above.
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    @inline(__always)
    public func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        let lower = Swift.min(Swift.max(range.lowerBound, 0), count)
        let upper = Swift.min(Swift.max(range.upperBound, lower), count)
        // In bounds: 0 <= lower <= upper <= count.
        return UnsafeMutableRawBufferPointer(rebasing: self[lower..<upper])
    }
}

/// A sequential reader over untrusted bytes. Every read returns nil (and does not move) when fewer
/// bytes remain than it needs, so a parser built on it cannot trap.
public struct ByteCursor {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var readerIndex: Int

    public init(_ bytes: UnsafeRawBufferPointer, readerIndex: Int = 0) {
        self.bytes = bytes
        self.readerIndex = Swift.min(Swift.max(readerIndex, 0), bytes.count)
    }

    @inline(__always) public var readableBytes: Int { bytes.count - readerIndex }
    @inline(__always) public var isAtEnd: Bool { readerIndex >= bytes.count }

    public mutating func readUInt8() -> UInt8? {
        guard readableBytes >= 1 else { return nil }
        defer { readerIndex += 1 }
        return bytes[readerIndex]
    }

    public mutating func readUInt16() -> UInt16? {
        guard readableBytes >= 2 else { return nil }
        defer { readerIndex += 2 }
        return bytes.getUInt16(at: readerIndex)
    }

    public mutating func readUInt32() -> UInt32? {
        guard readableBytes >= 4 else { return nil }
        defer { readerIndex += 4 }
        return bytes.getUInt32(at: readerIndex)
    }

    /// The next `count` bytes, without copying.
    public mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, readableBytes >= count else { return nil }
        defer { readerIndex += count }
        return bytes.slice(readerIndex..<readerIndex + count)
    }

    public mutating func moveReaderIndex(to index: Int) -> Bool {
        guard index >= 0, index <= bytes.count else { return false }
        readerIndex = index
        return true
    }

    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, readableBytes >= count else { return false }
        readerIndex += count
        return true
    }
}

/// A sequential writer into a caller-supplied buffer. Writing past the end is a broken invariant
/// (the caller sized the buffer from the value's `encodedLength`), so it traps with a message.
public struct ByteWriter {
    public let bytes: UnsafeMutableRawBufferPointer
    public private(set) var writerIndex: Int

    public init(_ bytes: UnsafeMutableRawBufferPointer, writerIndex: Int = 0) {
        precondition(writerIndex >= 0 && writerIndex <= bytes.count, "ByteWriter start out of bounds")
        self.bytes = bytes
        self.writerIndex = writerIndex
    }

    @inline(__always) public var writableBytes: Int { bytes.count - writerIndex }

    public mutating func writeUInt8(_ value: UInt8) {
        bytes.setUInt8(value, at: writerIndex)
        writerIndex += 1
    }

    public mutating func writeUInt16(_ value: UInt16) {
        bytes.setUInt16(value, at: writerIndex)
        writerIndex += 2
    }

    public mutating func writeUInt32(_ value: UInt32) {
        bytes.setUInt32(value, at: writerIndex)
        writerIndex += 4
    }

    public mutating func writeBytes(_ source: UnsafeRawBufferPointer) {
        bytes.setBytes(source, at: writerIndex)
        writerIndex += source.count
    }

    public mutating func writeBytes(_ source: [UInt8]) {
        source.withUnsafeBytes { writeBytes($0) }
    }

    public mutating func writeZeros(_ count: Int) {
        precondition(count >= 0 && count <= writableBytes, "writeZeros out of bounds")
        for i in 0..<count { bytes[writerIndex + i] = 0 }
        writerIndex += count
    }
}
