// A small set of disjoint address ranges with fixed capacity and no heap use, for planning which
// physical memory the page allocator may own: usable RAM, minus everything else the memory map
// lists, minus the kernel image and the boot loader's tables. It runs before the heap exists.

public struct PhysicalRanges {
    public static let capacity = 64

    private var storage: InlineArray<64, Range<UInt64>> = .init(repeating: 0..<0)
    /// Number of ranges held, sorted by address, disjoint and not adjacent.
    public private(set) var count = 0
    /// Bytes that could not be recorded because the set was full (reported, never silently lost).
    public private(set) var droppedBytes: UInt64 = 0

    public init() {}

    public subscript(index: Int) -> Range<UInt64> {
        precondition(index >= 0 && index < count, "PhysicalRanges index out of range")
        return storage[index]
    }

    public var totalBytes: UInt64 {
        var total: UInt64 = 0
        for index in 0..<count { total &+= UInt64(storage[index].count) }
        return total
    }

    /// Adds `range`, merging it with the ranges it overlaps or touches.
    public mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var lower = range.lowerBound
        var upper = range.upperBound
        // Find the first range that ends at or after `lower` (it may merge with the new one).
        var first = 0
        while first < count && storage[first].upperBound < lower { first += 1 }
        var last = first
        while last < count && storage[last].lowerBound <= upper {
            lower = min(lower, storage[last].lowerBound)
            upper = max(upper, storage[last].upperBound)
            last += 1
        }
        // Replace storage[first..<last] (the merged ranges) by the single merged range.
        let removed = last - first
        if removed == 0 {
            guard count < Self.capacity else {
                droppedBytes &+= upper - lower
                return
            }
            var index = count
            while index > first {
                storage[index] = storage[index - 1]
                index -= 1
            }
            count += 1
        } else if removed > 1 {
            for index in (first + 1)..<(count - removed + 1) {
                storage[index] = storage[index + removed - 1]
            }
            count -= removed - 1
        }
        storage[first] = lower..<upper
    }

    /// Removes every address in `range`, splitting a range that contains it.
    public mutating func remove(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var index = 0
        while index < count {
            let current = storage[index]
            if current.upperBound <= range.lowerBound || current.lowerBound >= range.upperBound {
                index += 1
                continue
            }
            let left = current.lowerBound..<max(current.lowerBound, range.lowerBound)
            let right = min(current.upperBound, range.upperBound)..<current.upperBound
            switch (left.isEmpty, right.isEmpty) {
            case (true, true):
                for next in index..<(count - 1) { storage[next] = storage[next + 1] }
                count -= 1
            case (false, true):
                storage[index] = left
                index += 1
            case (true, false):
                storage[index] = right
                index += 1
            case (false, false):
                storage[index] = left
                if count < Self.capacity {
                    var move = count
                    while move > index + 1 {
                        storage[move] = storage[move - 1]
                        move -= 1
                    }
                    storage[index + 1] = right
                    count += 1
                } else {
                    droppedBytes &+= UInt64(right.count)
                }
                index += 2
            }
        }
    }

    /// Keeps only addresses inside `range`.
    public mutating func clamp(to range: Range<UInt64>) {
        remove(0..<range.lowerBound)
        remove(range.upperBound..<UInt64.max)
    }

    /// Shrinks each range to whole `alignment`-sized blocks, dropping those that hold none.
    public mutating func alignInward(_ alignment: UInt64) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        var kept = 0
        for index in 0..<count {
            let range = storage[index]
            let lower = (range.lowerBound &+ alignment - 1) & ~(alignment - 1)
            let upper = range.upperBound & ~(alignment - 1)
            if lower < upper && lower >= range.lowerBound {
                storage[kept] = lower..<upper
                kept += 1
            }
        }
        count = kept
    }
}
