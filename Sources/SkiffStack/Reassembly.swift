import SkiffPlatform
import SkiffWire

/// Identifies the fragments of one datagram (RFC 791 §3.2: source, destination, protocol and
/// identification).
struct ReassemblyKey: Hashable, Sendable {
    var source: IPv4Address
    var destination: IPv4Address
    var protocolNumber: UInt8
    var identification: UInt16
}

/// Partly received datagrams, bounded in memory and in time.
///
/// Each datagram keeps its fragments sorted by offset and the count of bytes received; since
/// overlapping fragments are refused (the whole datagram is dropped, as RFC 5722 §4 requires for
/// IPv6 and as defends against overlap attacks in IPv4), the datagram is complete exactly when the
/// last fragment has fixed its length and that many bytes have arrived. That replaces RFC 815's
/// hole list with one counter.
struct ReassemblyBuffer {
    /// Bookkeeping charged per fragment on top of its data, so a flood of tiny fragments is bounded
    /// by the memory limit as well as a few large ones.
    static let fragmentOverhead = 64
    /// Largest IPv4 datagram (RFC 791: total length is 16 bits).
    static let maximumDatagramLength = 65535

    struct Fragment {
        var offset: Int
        var data: [UInt8]
        var end: Int { offset + data.count }
    }

    struct Datagram {
        var fragments: [Fragment] = []
        /// The first fragment's IP header (with all its options), once it has arrived.
        var firstHeader: [UInt8]? = nil
        /// The payload length, once the fragment without More Fragments has arrived.
        var totalLength: Int? = nil
        var receivedBytes = 0
        var memory = 0
        var deadline: Instant
        /// Arrival order, to evict the oldest under memory pressure.
        var sequence: UInt64
    }

    enum Drop: Equatable {
        /// The fragment overlaps one already received: the whole datagram was dropped.
        case overlap
        /// Offset and length are impossible (beyond 65535, a non-final fragment not a multiple
        /// of 8 bytes, data past a known end, or two different ends).
        case malformed
        /// The fragment alone would exceed the memory limit.
        case memoryLimit
    }

    enum Outcome {
        case incomplete
        /// An exact copy of a fragment already held; ignored.
        case duplicate
        /// The datagram is whole: the first fragment's header and the reassembled payload.
        case complete(header: [UInt8], payload: [UInt8])
        case dropped(Drop)
    }

    struct Expired {
        var key: ReassemblyKey
        /// The first fragment's header and up to 8 bytes of its data, to quote in an ICMP time
        /// exceeded message (RFC 792); nil if the first fragment never arrived.
        var firstFragmentQuote: [UInt8]?
    }

    let timeout: Interval
    let memoryLimit: Int
    private(set) var datagrams: [ReassemblyKey: Datagram] = [:]
    private(set) var memoryUsed = 0
    /// Partial datagrams discarded to make room for new fragments.
    private(set) var evictions = 0
    private var nextSequence: UInt64 = 0

    init(timeout: Interval, memoryLimit: Int) {
        precondition(memoryLimit >= 0, "negative reassembly memory limit")
        self.timeout = timeout
        self.memoryLimit = memoryLimit
    }

    var count: Int { datagrams.count }

    /// Adds one fragment. `header` is its IP header (kept only for offset 0), `offset` its
    /// fragment offset in bytes, `payload` its data.
    mutating func insert(key: ReassemblyKey, offset: Int, moreFragments: Bool,
                         header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
                         now: Instant) -> Outcome {
        let end = offset + payload.count
        // RFC 791 §3.1: every fragment but the last carries a multiple of 8 bytes; the header
        // plus the data cannot exceed the 16-bit total length.
        guard offset >= 0, end + header.count <= ReassemblyBuffer.maximumDatagramLength,
              !moreFragments || (payload.count > 0 && payload.count % 8 == 0) else {
            return .dropped(.malformed)
        }
        let charge = payload.count + ReassemblyBuffer.fragmentOverhead
            + (offset == 0 ? header.count : 0)
        guard charge <= memoryLimit else { return .dropped(.memoryLimit) }

        var datagram = datagrams[key] ?? Datagram(deadline: now + timeout, sequence: nextSequence)
        if datagrams[key] == nil { nextSequence += 1 }

        // Where the new fragment goes in the sorted list; only its neighbours can overlap it.
        let index = insertionIndex(in: datagram.fragments, offset: offset)
        if index < datagram.fragments.count, datagram.fragments[index].offset == offset,
           datagram.fragments[index].data.count == payload.count,
           datagram.fragments[index].data.elementsEqual(payload),
           moreFragments ? datagram.totalLength != end : datagram.totalLength == end {
            return .duplicate
        }
        let overlapsNext = index < datagram.fragments.count && datagram.fragments[index].offset < end
        let overlapsPrevious = index > 0 && datagram.fragments[index - 1].end > offset
        if overlapsNext || overlapsPrevious {
            discard(key)
            return .dropped(.overlap)
        }
        if let total = datagram.totalLength {
            if end > total || (!moreFragments && end != total) {
                discard(key)
                return .dropped(.malformed)
            }
        } else if !moreFragments {
            if let last = datagram.fragments.last, last.end > end {
                discard(key)
                return .dropped(.malformed)
            }
            datagram.totalLength = end
        }

        // Make room, oldest datagram first; never evict the one being added to.
        if datagrams[key] != nil { memoryUsed -= datagram.memory }
        while memoryUsed + datagram.memory + charge > memoryLimit, evictOldest(except: key) {}
        if memoryUsed + datagram.memory + charge > memoryLimit {
            // Only this datagram is left and it cannot grow: give it up.
            datagrams[key] = nil
            return .dropped(.memoryLimit)
        }

        datagram.fragments.insert(Fragment(offset: offset, data: Array(payload)), at: index)
        if offset == 0 { datagram.firstHeader = Array(header) }
        datagram.receivedBytes += payload.count
        datagram.memory += charge

        if let total = datagram.totalLength, datagram.receivedBytes == total,
           let firstHeader = datagram.firstHeader {
            datagrams[key] = nil
            var data: [UInt8] = []
            data.reserveCapacity(total)
            for fragment in datagram.fragments { data.append(contentsOf: fragment.data) }
            return .complete(header: firstHeader, payload: data)
        }
        datagrams[key] = datagram
        memoryUsed += datagram.memory
        return .incomplete
    }

    /// Removes the datagrams whose time is up.
    mutating func expire(now: Instant) -> [Expired] {
        var expired: [Expired] = []
        for (key, datagram) in datagrams where datagram.deadline <= now {
            var quote: [UInt8]? = nil
            if let header = datagram.firstHeader, let first = datagram.fragments.first, first.offset == 0 {
                quote = header + first.data.prefix(8)
            }
            expired.append(Expired(key: key, firstFragmentQuote: quote))
            discard(key)
        }
        expired.sort { ($0.key.identification, $0.key.source) < ($1.key.identification, $1.key.source) }
        return expired
    }

    var nextDeadline: Instant? {
        datagrams.values.min(by: { $0.deadline < $1.deadline })?.deadline
    }

    private mutating func discard(_ key: ReassemblyKey) {
        if let datagram = datagrams.removeValue(forKey: key) { memoryUsed -= datagram.memory }
    }

    private mutating func evictOldest(except key: ReassemblyKey) -> Bool {
        var oldest: (key: ReassemblyKey, sequence: UInt64)? = nil
        for (candidate, datagram) in datagrams where candidate != key {
            if oldest.map({ datagram.sequence < $0.sequence }) ?? true { oldest = (candidate, datagram.sequence) }
        }
        guard let oldest else { return false }
        discard(oldest.key)
        evictions += 1
        return true
    }

    /// The first index whose fragment starts at or after `offset` (binary search).
    private func insertionIndex(in fragments: [Fragment], offset: Int) -> Int {
        var low = 0
        var high = fragments.count
        while low < high {
            let mid = (low + high) / 2
            if fragments[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
