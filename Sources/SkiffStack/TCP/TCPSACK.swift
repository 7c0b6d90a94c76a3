import SkiffWire

// The sender's SACK scoreboard (RFC 2018 §5): the ranges above SND.UNA the peer reported holding,
// sorted and merged; loss recovery (RFC 6675, RFC 8985) marks the send records of TCPRACK.swift
// from it. The receiver's blocks come from `TCPReassembly.sackBlocks`, D-SACK from the input path.

struct TCPSACKScoreboard {
    private(set) var ranges: [SequenceRange] = []
    let rangeLimit: Int

    init(rangeLimit: Int = 32) {
        self.rangeLimit = rangeLimit
    }

    var isEmpty: Bool { ranges.isEmpty }

    /// The end of the highest SACKed range (RFC 6675 "HighACK"-side bound of the holes).
    var highestSacked: SequenceNumber? { ranges.last?.end }

    var sackedBytes: Int { ranges.reduce(0) { $0 + $1.length } }

    /// Adds the blocks of an ACK. Blocks that are empty, below `unacknowledged` or beyond
    /// `sendMax` are ignored (RFC 2018 §5 leaves their treatment to the sender; they are bogus).
    mutating func update(with blocks: [TCPSACKBlock], unacknowledged: SequenceNumber, sendMax: SequenceNumber) {
        for block in blocks {
            let start = SequenceNumber(block.left)
            let end = SequenceNumber(block.right)
            guard start < end, start >= unacknowledged, end <= sendMax else { continue }
            insert(SequenceRange(start: start, end: end))
        }
    }

    private mutating func insert(_ new: SequenceRange) {
        var merged = new
        var kept: [SequenceRange] = []
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
        // Bounded: forget the highest ranges first (they are the least urgent for repair).
        while kept.count > rangeLimit { kept.removeLast() }
        ranges = kept
    }

    /// Forgets everything below the new SND.UNA.
    mutating func acknowledge(through unacknowledged: SequenceNumber) {
        while let first = ranges.first, first.start < unacknowledged {
            if first.end <= unacknowledged {
                ranges.removeFirst()
            } else {
                ranges[0].start = unacknowledged
            }
        }
    }

    func isSacked(_ seq: SequenceNumber) -> Bool {
        ranges.contains { $0.contains(seq) }
    }

    /// The first hole at or after `from` and below the highest SACKed byte: its start and its
    /// length (up to the next SACKed range). Nil when no hole is left (RFC 6675 NextSeg rule 1).
    func nextHole(from: SequenceNumber) -> SequenceRange? {
        var position = from
        for range in ranges {
            if position < range.start {
                return SequenceRange(start: position, end: range.start)
            }
            position = SequenceNumber.max(position, range.end)
        }
        return nil
    }

    /// RFC 2883 §4: the first block reports a duplicate (D-SACK) when the cumulative ACK covers
    /// it or it lies inside the second block.
    static func isDuplicateReport(_ blocks: [TCPSACKBlock], ack: SequenceNumber) -> Bool {
        guard let first = blocks.first else { return false }
        let start = SequenceNumber(first.left)
        let end = SequenceNumber(first.right)
        guard start < end else { return false }
        if end <= ack { return true }
        guard blocks.count > 1 else { return false }
        return start >= SequenceNumber(blocks[1].left) && end <= SequenceNumber(blocks[1].right)
    }

    mutating func removeAll() { ranges = [] }
}
