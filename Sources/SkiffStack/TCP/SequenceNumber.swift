// Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4; RFC 1982 serial number arithmetic).
// Comparisons are wrap-aware: `a < b` when b lies less than 2^31 ahead of a. That is not a total
// order, so the type deliberately does not conform to `Comparable` (no sorting by accident).

/// A TCP sequence or acknowledgment number.
public struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }

    /// The signed distance from `other` to `self` (positive when `self` is ahead).
    @inline(__always)
    public func distance(from other: SequenceNumber) -> Int {
        Int(Int32(bitPattern: rawValue &- other.rawValue))
    }

    @inline(__always)
    public static func + (l: SequenceNumber, r: Int) -> SequenceNumber {
        SequenceNumber(l.rawValue &+ UInt32(truncatingIfNeeded: r))
    }

    @inline(__always)
    public static func - (l: SequenceNumber, r: Int) -> SequenceNumber {
        SequenceNumber(l.rawValue &- UInt32(truncatingIfNeeded: r))
    }

    /// `l.distance(from: r)`.
    @inline(__always)
    public static func - (l: SequenceNumber, r: SequenceNumber) -> Int { l.distance(from: r) }

    @inline(__always)
    public static func += (l: inout SequenceNumber, r: Int) { l = l + r }

    @inline(__always)
    public static func < (l: SequenceNumber, r: SequenceNumber) -> Bool { l.distance(from: r) < 0 }
    @inline(__always)
    public static func <= (l: SequenceNumber, r: SequenceNumber) -> Bool { l.distance(from: r) <= 0 }
    @inline(__always)
    public static func > (l: SequenceNumber, r: SequenceNumber) -> Bool { l.distance(from: r) > 0 }
    @inline(__always)
    public static func >= (l: SequenceNumber, r: SequenceNumber) -> Bool { l.distance(from: r) >= 0 }

    /// The later of two numbers (wrap-aware).
    public static func max(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a >= b ? a : b }
    /// The earlier of two numbers (wrap-aware).
    public static func min(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a <= b ? a : b }

    /// `start <= self < start + length`, wrap-aware; false for an empty range.
    public func isIn(start: SequenceNumber, length: Int) -> Bool {
        let offset = distance(from: start)
        return offset >= 0 && offset < length
    }
}

/// A half-open range of sequence space, `[start, end)`.
struct SequenceRange: Equatable {
    var start: SequenceNumber
    var end: SequenceNumber
    var length: Int { end - start }
    func contains(_ seq: SequenceNumber) -> Bool { seq >= start && seq < end }
}
