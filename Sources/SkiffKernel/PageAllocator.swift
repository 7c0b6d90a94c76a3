// The physical page allocator: runs of 4 KiB pages for device rings, DMA buffers, page tables and
// the heap's own chunks.
//
// Free memory is kept as an address-ordered singly linked list of extents, each described by a
// header written into its own first bytes (so the allocator needs no memory of its own). Allocation
// is first fit with alignment; freeing inserts in order and coalesces with both neighbours, so
// freed pages are reused and the list stays short. The kernel identity-maps physical memory, so an
// extent's address is also a pointer to it; tests hand the allocator a host buffer instead.

public struct PageAllocator {
    public static let pageSize = 4096

    /// The header at the start of every free extent.
    private struct Extent {
        var next: UInt     // address of the next free extent (higher address), 0 at the end
        var pages: Int
    }

    private var head: UInt = 0

    /// Pages handed to the allocator in total.
    public private(set) var totalPages = 0
    /// Pages currently free.
    public private(set) var freePages = 0
    /// The most pages ever in use at once.
    public private(set) var peakUsedPages = 0
    /// Successful `allocate` calls so far.
    public private(set) var allocationCount = 0
    /// Free extents in the list (a measure of fragmentation).
    public private(set) var extentCount = 0

    public init() {}

    public var usedPages: Int { totalPages - freePages }

    /// Hands `range` (page-aligned inward) to the allocator. The memory must be mapped writable
    /// and otherwise unused for good.
    public mutating func addMemory(start: UInt, end: UInt) {
        let pageMask = UInt(Self.pageSize - 1)
        let lower = (start &+ pageMask) & ~pageMask
        let upper = end & ~pageMask
        guard lower >= start, lower < upper, lower != 0 else { return }
        let pages = Int((upper - lower) / UInt(Self.pageSize))
        totalPages += pages
        insertFree(lower, pages: pages)
    }

    /// A run of `pages` pages whose address is a multiple of `alignment` (a power of two, at least
    /// a page); nil when no free run is large enough. The memory is not cleared.
    public mutating func allocate(pages: Int, alignment: Int = PageAllocator.pageSize) -> UnsafeMutableRawPointer? {
        precondition(pages > 0, "PageAllocator.allocate of no pages")
        precondition(alignment >= Self.pageSize && alignment & (alignment - 1) == 0, "bad page alignment")
        guard pages <= freePages else { return nil }
        let length = UInt(pages) * UInt(Self.pageSize)
        let alignMask = UInt(alignment - 1)
        var previous: UInt = 0
        var current = head
        while current != 0 {
            let extent = Self.load(current)
            let end = current + UInt(extent.pages) * UInt(Self.pageSize)
            let start = (current + alignMask) & ~alignMask
            if start >= current, start < end, end - start >= length {
                // Split into [current, start) (stays free), [start, start + length) (taken) and
                // [start + length, end) (free).
                let tailStart = start + length
                var next = extent.next
                if tailStart < end {
                    Self.store(Extent(next: next, pages: Int((end - tailStart) / UInt(Self.pageSize))), at: tailStart)
                    next = tailStart
                    extentCount += 1
                }
                if start > current {
                    Self.store(Extent(next: next, pages: Int((start - current) / UInt(Self.pageSize))), at: current)
                } else {
                    link(previous, to: next)
                    extentCount -= 1
                }
                freePages -= pages
                peakUsedPages = max(peakUsedPages, usedPages)
                allocationCount += 1
                return UnsafeMutableRawPointer(bitPattern: start)
            }
            previous = current
            current = extent.next
        }
        return nil
    }

    /// Like `allocate`, with the pages cleared (device rings and page tables need zeroed memory).
    public mutating func allocateZeroed(pages: Int, alignment: Int = PageAllocator.pageSize) -> UnsafeMutableRawPointer? {
        guard let memory = allocate(pages: pages, alignment: alignment) else { return nil }
        // In bounds: the run is `pages` whole pages long.
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: pages * Self.pageSize)
        return memory
    }

    /// Returns a run obtained from `allocate(pages:)` with the same `pages`.
    public mutating func free(_ memory: UnsafeMutableRawPointer, pages: Int) {
        let address = UInt(bitPattern: memory)
        precondition(pages > 0 && address & UInt(Self.pageSize - 1) == 0, "PageAllocator.free of a bad run")
        precondition(freePages + pages <= totalPages, "PageAllocator.free of more pages than were allocated")
        insertFree(address, pages: pages)
    }

    /// Inserts a free run in address order, merging it with adjacent free extents.
    private mutating func insertFree(_ address: UInt, pages: Int) {
        let end = address + UInt(pages) * UInt(Self.pageSize)
        var previous: UInt = 0
        var current = head
        while current != 0 && current < address {
            previous = current
            current = Self.load(current).next
        }
        if previous != 0 {
            let before = Self.load(previous)
            precondition(previous + UInt(before.pages) * UInt(Self.pageSize) <= address, "PageAllocator: run freed twice")
        }
        precondition(current == 0 || end <= current, "PageAllocator: run freed twice")

        var start = address
        var total = pages
        var next = current
        // Merge with the following extent when it starts where this run ends.
        if current != 0 && current == end {
            let after = Self.load(current)
            total += after.pages
            next = after.next
            extentCount -= 1
        }
        // Merge with the preceding extent when it ends where this run starts.
        if previous != 0 {
            let before = Self.load(previous)
            if previous + UInt(before.pages) * UInt(Self.pageSize) == address {
                start = previous
                total += before.pages
                Self.store(Extent(next: next, pages: total), at: start)
                freePages += pages
                return
            }
        }
        Self.store(Extent(next: next, pages: total), at: start)
        link(previous, to: start)
        extentCount += 1
        freePages += pages
    }

    private mutating func link(_ previous: UInt, to next: UInt) {
        if previous == 0 {
            head = next
        } else {
            var extent = Self.load(previous)
            extent.next = next
            Self.store(extent, at: previous)
        }
    }

    /// Calls `body` with each free extent, lowest address first (for diagnostics and tests).
    public func forEachFreeExtent(_ body: (_ start: UInt, _ pages: Int) -> Void) {
        var current = head
        var steps = 0
        while current != 0 && steps <= extentCount {
            let extent = Self.load(current)
            body(current, extent.pages)
            current = extent.next
            steps += 1
        }
    }

    @inline(__always)
    private static func load(_ address: UInt) -> Extent {
        // In bounds: `address` starts a free extent of at least one page, owned by this allocator.
        UnsafeRawPointer(bitPattern: address)!.load(as: Extent.self)
    }

    @inline(__always)
    private static func store(_ extent: Extent, at address: UInt) {
        // In bounds: `address` starts a free extent of at least one page, owned by this allocator.
        UnsafeMutableRawPointer(bitPattern: address)!.storeBytes(of: extent, as: Extent.self)
    }
}
