/// An owned packet buffer with headroom, so each layer prepends its header without copying the
/// payload (as Unikraft's `netbuf`). The readable bytes are `storage[start..<end]`.
///
/// It also carries checksum-offload state: when `checksumOffload` is set, the transport checksum
/// at `checksumOffload.offset` (relative to `start`) covers the bytes from `checksumOffload.start`
/// and a device that can compute it may do so; otherwise the stack has filled it in.
public struct PacketBuffer {
    public private(set) var storage: [UInt8]
    public private(set) var start: Int
    public private(set) var end: Int

    public struct ChecksumOffload: Equatable, Sendable {
        public var start: Int
        public var offset: Int
        public init(start: Int, offset: Int) { self.start = start; self.offset = offset }
    }
    public var checksumOffload: ChecksumOffload? = nil

    /// Headroom enough for Ethernet + 802.1Q + IPv4 with options + TCP with options.
    public static let defaultHeadroom = 18 + 60 + 60 + 6

    public init(capacity: Int, headroom: Int = PacketBuffer.defaultHeadroom) {
        precondition(capacity >= 0 && headroom >= 0, "negative PacketBuffer size")
        storage = [UInt8](repeating: 0, count: headroom + capacity)
        start = headroom
        end = headroom
    }

    /// A buffer holding a copy of `bytes`, with headroom in front.
    public init(copying bytes: UnsafeRawBufferPointer, headroom: Int = PacketBuffer.defaultHeadroom) {
        self.init(capacity: bytes.count, headroom: headroom)
        append(bytes)
    }

    public init(_ bytes: [UInt8], headroom: Int = PacketBuffer.defaultHeadroom) {
        self.init(capacity: bytes.count, headroom: headroom)
        bytes.withUnsafeBytes { append($0) }
    }

    public var count: Int { end - start }
    public var headroom: Int { start }
    public var tailroom: Int { storage.count - end }
    public var bytes: [UInt8] { Array(storage[start..<end]) }

    /// Makes `count` bytes of room in front of the readable bytes and returns the offset of the new
    /// start. Grows the storage (a copy) only if the headroom is too small.
    @discardableResult
    public mutating func prepend(_ count: Int) -> Int {
        precondition(count >= 0, "negative prepend")
        if count > start {
            let extra = count - start + PacketBuffer.defaultHeadroom
            storage.insert(contentsOf: [UInt8](repeating: 0, count: extra), at: 0)
            start += extra
            end += extra
        }
        start -= count
        return start
    }

    /// Appends `bytes` after the readable bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let needed = end + bytes.count
        if needed > storage.count {
            storage.append(contentsOf: [UInt8](repeating: 0, count: needed - storage.count))
        }
        storage.withUnsafeMutableBytes { $0.setBytes(bytes, at: end) }
        end = needed
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends `count` zero bytes and returns their offset relative to `start`.
    @discardableResult
    public mutating func appendZeros(_ count: Int) -> Int {
        let offset = self.count
        let needed = end + count
        if needed > storage.count {
            storage.append(contentsOf: [UInt8](repeating: 0, count: needed - storage.count))
        } else {
            for i in end..<needed { storage[i] = 0 }
        }
        end = needed
        return offset
    }

    /// Drops `count` bytes from the front (after a header has been consumed).
    public mutating func consumeFront(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "consumeFront out of bounds")
        start += count
    }

    /// Shortens the readable bytes to `count` (e.g. to strip Ethernet padding).
    public mutating func truncate(to count: Int) {
        precondition(count >= 0 && count <= self.count, "truncate out of bounds")
        end = start + count
    }

    /// The readable bytes.
    public func withUnsafeReadableBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { body($0.slice(start..<end)) }
    }

    /// The readable bytes, writable.
    public mutating func withUnsafeMutableReadableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) -> R
    ) -> R {
        let (s, e) = (start, end)
        return storage.withUnsafeMutableBytes { body($0.slice(s..<e)) }
    }
}
