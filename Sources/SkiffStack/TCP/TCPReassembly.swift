// Out-of-order data (RFC 9293 §3.10.7.4, seventh step; RFC 5681 §4.2). The bytes themselves are
// written straight into the receive ring at their place beyond the in-order data, so memory is
// bounded by the receive buffer; this keeps the list of sequence ranges held there, merged and
// sorted, at most `rangeLimit` of them, plus the recency order RFC 2018 §4 wants for SACK blocks.

struct TCPReassembly {
    /// Sorted, disjoint, non-adjacent ranges above RCV.NXT.
    private(set) var ranges: [SequenceRange] = []
    /// Starts of the most recently received out-of-order segments, newest first (RFC 2018 §4).
    private var recent: [SequenceNumber] = []
    let rangeLimit: Int

    init(rangeLimit: Int = 32) {
        self.rangeLimit = rangeLimit
    }

    var isEmpty: Bool { ranges.isEmpty }

    /// Records `[start, end)` as held. False (nothing recorded) when it would need a new range
    /// beyond the limit.
    mutating func insert(_ start: SequenceNumber, _ end: SequenceNumber) -> Bool {
        guard start < end else { return true }
        var merged = SequenceRange(start: start, end: end)
        var kept: [SequenceRange] = []
        kept.reserveCapacity(ranges.count + 1)
        var placed = false
        for range in ranges {
            if range.end < merged.start {
                kept.append(range)
            } else if merged.end < range.start {
                if !placed { kept.append(merged); placed = true }
                kept.append(range)
            } else {
                merged.start = SequenceNumber.min(merged.start, range.start)
                merged.end = SequenceNumber.max(merged.end, range.end)
            }
        }
        if !placed { kept.append(merged) }
        guard kept.count <= rangeLimit else { return false }
        ranges = kept
        recent.removeAll { $0 == start }
        recent.insert(start, at: 0)
        if recent.count > 4 { recent.removeLast() }
        return true
    }

    /// Removes what RCV.NXT reached and returns how far the in-order data now extends.
    mutating func advance(_ receiveNext: SequenceNumber) -> SequenceNumber {
        var next = receiveNext
        while let first = ranges.first, first.start <= next {
            next = SequenceNumber.max(next, first.end)
            ranges.removeFirst()
        }
        recent.removeAll { $0 < next }
        return next
    }

    /// Up to `limit` SACK blocks: first the block holding the most recent segment, then the other
    /// recently reported ones, then the rest from the highest down (RFC 2018 §4).
    func sackBlocks(limit: Int) -> [SequenceRange] {
        var blocks: [SequenceRange] = []
        for start in recent where blocks.count < limit {
            if let range = ranges.first(where: { $0.contains(start) }), !blocks.contains(range) {
                blocks.append(range)
            }
        }
        for range in ranges.reversed() where blocks.count < limit && !blocks.contains(range) {
            blocks.append(range)
        }
        return blocks
    }

    mutating func removeAll() {
        ranges = []
        recent = []
    }
}
