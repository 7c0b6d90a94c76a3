// The bounded byte rings behind a connection's send and receive buffers. The storage is
// allocated on first use, so a connection still in the handshake (or a SYN flood) holds none.

/// A fixed-capacity ring of bytes: `count` readable bytes from `head`, and beyond them room that
/// may be written at an offset before it is committed (out-of-order data waiting for a hole).
struct TCPByteRing {
    let capacity: Int
    private var storage: [UInt8] = []
    private var head = 0
    /// Readable (committed) bytes.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0, "TCP buffer capacity must be positive")
        self.capacity = capacity
    }

    var free: Int { capacity - count }
    var isEmpty: Bool { count == 0 }

    private mutating func allocate() {
        if storage.isEmpty { storage = [UInt8](repeating: 0, count: capacity) }
    }

    /// Writes `bytes` at `offset` past the first readable byte without committing them. The
    /// caller keeps `offset + bytes.count <= capacity`.
    mutating func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= capacity, "TCP ring write out of bounds")
        guard !bytes.isEmpty else { return }
        allocate()
        var position = (head + offset) % capacity
        var done = 0
        let cap = capacity
        storage.withUnsafeMutableBytes { ring in
            while done < bytes.count {
                let chunk = Swift.min(bytes.count - done, cap - position)
                // In bounds: position + chunk <= capacity and done + chunk <= bytes.count.
                ring.baseAddress!.advanced(by: position)
                    .copyMemory(from: bytes.baseAddress!.advanced(by: done), byteCount: chunk)
                done += chunk
                position = (position + chunk) % cap
            }
        }
    }

    /// Appends as much of `bytes` as fits and returns how much that was.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let n = Swift.min(bytes.count, free)
        guard n > 0 else { return 0 }
        write(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: count)
        count += n
        return n
    }

    /// Makes `n` bytes written past the readable ones readable.
    mutating func commit(_ n: Int) {
        precondition(n >= 0 && count + n <= capacity, "TCP ring commit out of bounds")
        count += n
    }

    /// Drops `n` readable bytes from the front.
    mutating func consume(_ n: Int) {
        precondition(n >= 0 && n <= count, "TCP ring consume out of bounds")
        guard n > 0 else { return }
        head = (head + n) % capacity
        count -= n
        // `head` stays where it is even when empty: out-of-order bytes wait beyond it.
    }

    /// The first contiguous piece of the readable bytes (the ring may hold them in two).
    func withFirstReadablePiece<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let length = Swift.min(count, capacity - head)
        return storage.withUnsafeBytes { ring in
            guard length > 0 else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            // In bounds: head + length <= capacity = ring.count.
            return body(UnsafeRawBufferPointer(rebasing: ring[head..<(head + length)]))
        }
    }

    /// Copies `length` readable bytes from `offset` into `out` (sending from the send buffer).
    func copy(from offset: Int, length: Int, into out: UnsafeMutableRawBufferPointer) {
        precondition(offset >= 0 && length >= 0 && offset + length <= count && length <= out.count,
                     "TCP ring copy out of bounds")
        guard length > 0 else { return }
        var position = (head + offset) % capacity
        var done = 0
        storage.withUnsafeBytes { ring in
            while done < length {
                let chunk = Swift.min(length - done, capacity - position)
                // In bounds: position + chunk <= capacity; done + chunk <= length <= out.count.
                out.baseAddress!.advanced(by: done)
                    .copyMemory(from: ring.baseAddress!.advanced(by: position), byteCount: chunk)
                done += chunk
                position = (position + chunk) % capacity
            }
        }
    }
}
