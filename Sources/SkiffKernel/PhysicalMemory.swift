// A bounds-checked window onto physical memory, through which boot information is read.
//
// Boot loaders hand the kernel 32- and 64-bit physical addresses. The kernel reads them through
// its identity map; tests read them from a host buffer that stands in for physical memory. Either
// way an address that falls outside the window is refused (nil), never dereferenced: a broken or
// hostile loader table cannot make boot-information parsing fault.

/// Physical addresses `range` are readable at virtual address `virtualBase + (address - range.lowerBound)`.
public struct PhysicalMemory {
    public let range: Range<UInt64>
    public let virtualBase: UInt

    public init(range: Range<UInt64>, virtualBase: UInt) {
        self.range = range
        self.virtualBase = virtualBase
    }

    /// A window onto a host buffer: physical address `physicalBase` is the buffer's first byte.
    public init(buffer: UnsafeRawBufferPointer, physicalBase: UInt64) {
        precondition(buffer.baseAddress != nil, "PhysicalMemory over an empty buffer")
        range = physicalBase..<(physicalBase + UInt64(buffer.count))
        virtualBase = UInt(bitPattern: buffer.baseAddress)
    }

    /// The `count` bytes at `address`, or nil when any of them lies outside the window.
    public func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, range.contains(address) else { return nil }
        let available = range.upperBound - address
        guard UInt64(count) <= available else { return nil }
        // In bounds: [address, address + count) lies inside `range`, which is mapped at `virtualBase`.
        guard let start = UnsafeRawPointer(bitPattern: virtualBase + UInt(address - range.lowerBound)) else {
            return nil
        }
        return UnsafeRawBufferPointer(start: start, count: count)
    }

    /// The NUL-terminated string at `address` (at most `limit` bytes, the terminator excluded),
    /// decoded as UTF-8 with invalid sequences replaced; nil when it starts outside the window.
    public func string(at address: UInt64, limit: Int = 4096) -> String? {
        guard let bytes = cString(at: address, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes of the NUL-terminated string at `address` without the terminator. Stops at
    /// `limit` bytes or at the window's end, whichever comes first.
    public func cString(at address: UInt64, limit: Int = 4096) -> UnsafeRawBufferPointer? {
        guard range.contains(address) else { return nil }
        let available = Int(clamping: min(range.upperBound - address, UInt64(limit)))
        guard let window = bytes(at: address, count: available) else { return nil }
        var length = 0
        // Bounded by the window, which was checked above.
        while length < window.count && window[length] != 0 { length += 1 }
        return UnsafeRawBufferPointer(rebasing: window[0..<length])
    }
}

extension UnsafeRawBufferPointer {
    /// A little-endian integer at `offset` (boot loader tables are little-endian); the caller has
    /// checked the length.
    @inline(__always)
    func loadLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "loadLittleEndian out of bounds")
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
