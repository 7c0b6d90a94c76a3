import XCTest
@testable import SkiffKernel

/// A page-aligned host buffer handed to a page allocator, standing in for free RAM.
final class FakeRAM {
    let memory: UnsafeMutableRawPointer
    let pages: Int

    init(pages: Int) {
        self.pages = pages
        memory = .allocate(byteCount: pages * PageAllocator.pageSize, alignment: 1 << 16)
    }

    deinit { memory.deallocate() }

    var start: UInt { UInt(bitPattern: memory) }
    var end: UInt { start + UInt(pages * PageAllocator.pageSize) }

    func allocator() -> PageAllocator {
        var allocator = PageAllocator()
        allocator.addMemory(start: start, end: end)
        return allocator
    }
}

final class PageAllocatorTests: XCTestCase {
    func testAllocateAlignsAndFreeCoalescesBackToOneExtent() throws {
        let ram = FakeRAM(pages: 64)
        var pages = ram.allocator()
        XCTAssertEqual(pages.totalPages, 64)
        XCTAssertEqual(pages.extentCount, 1)
        let a = try XCTUnwrap(pages.allocate(pages: 1))
        let b = try XCTUnwrap(pages.allocate(pages: 3, alignment: 4 * PageAllocator.pageSize))
        let c = try XCTUnwrap(pages.allocate(pages: 2))
        XCTAssertEqual(UInt(bitPattern: b) % UInt(4 * PageAllocator.pageSize), 0)
        XCTAssertEqual(pages.freePages, 58)
        XCTAssertEqual(pages.usedPages, 6)
        // Free in an order that needs merging on both sides.
        pages.free(a, pages: 1)
        pages.free(c, pages: 2)
        pages.free(b, pages: 3)
        XCTAssertEqual(pages.freePages, 64)
        XCTAssertEqual(pages.extentCount, 1, "adjacent free runs coalesce")
        XCTAssertEqual(pages.peakUsedPages, 6)
        XCTAssertEqual(pages.allocationCount, 3)
        var extents: [(UInt, Int)] = []
        pages.forEachFreeExtent { extents.append(($0, $1)) }
        XCTAssertEqual(extents.count, 1)
        XCTAssertEqual(extents.first?.0, ram.start)
        XCTAssertEqual(extents.first?.1, 64)
    }

    func testFreedPagesAreReused() throws {
        let ram = FakeRAM(pages: 8)
        var pages = ram.allocator()
        let first = try XCTUnwrap(pages.allocate(pages: 8))
        XCTAssertNil(pages.allocate(pages: 1), "exhausted")
        pages.free(first, pages: 8)
        XCTAssertEqual(pages.allocate(pages: 8), first)
    }

    func testAllocateZeroedClearsAndRefusesWhatDoesNotFit() throws {
        let ram = FakeRAM(pages: 4)
        var pages = ram.allocator()
        ram.memory.initializeMemory(as: UInt8.self, repeating: 0xAA, count: 4 * PageAllocator.pageSize)
        // The free-extent header was overwritten above; rebuild the allocator over the dirty RAM.
        pages = ram.allocator()
        let zeroed = try XCTUnwrap(pages.allocateZeroed(pages: 2))
        let bytes = UnsafeRawBufferPointer(start: zeroed, count: 2 * PageAllocator.pageSize)
        XCTAssertTrue(bytes.allSatisfy { $0 == 0 })
        XCTAssertNil(pages.allocate(pages: 3), "only 2 pages are left")
    }

    func testAddMemoryTrimsToWholePages() {
        let ram = FakeRAM(pages: 4)
        var pages = PageAllocator()
        pages.addMemory(start: ram.start + 1, end: ram.end - 1)
        XCTAssertEqual(pages.totalPages, 2)
        pages.addMemory(start: ram.end, end: ram.end)
        XCTAssertEqual(pages.totalPages, 2)
    }

    /// Seeded random allocate/free: runs never overlap, the counters agree, and freeing
    /// everything coalesces back to one extent.
    func testRandomAllocateFreeKeepsRunsDisjoint() {
        let ram = FakeRAM(pages: 512)
        var pages = ram.allocator()
        var random = SplitMix64(seed: 42)
        var live: [(UInt, Int)] = []
        for _ in 0..<5000 {
            if live.isEmpty || random.next(below: 3) != 0 {
                let count = 1 + random.next(below: 16)
                let alignment = PageAllocator.pageSize << random.next(below: 3)
                if let run = pages.allocate(pages: count, alignment: alignment) {
                    let start = UInt(bitPattern: run)
                    XCTAssertEqual(start % UInt(alignment), 0)
                    XCTAssertTrue(start >= ram.start && start + UInt(count * PageAllocator.pageSize) <= ram.end)
                    for (other, otherCount) in live {
                        let disjoint = start + UInt(count * PageAllocator.pageSize) <= other
                            || other + UInt(otherCount * PageAllocator.pageSize) <= start
                        XCTAssertTrue(disjoint, "overlapping runs")
                    }
                    live.append((start, count))
                }
            } else {
                let (start, count) = live.remove(at: random.next(below: live.count))
                pages.free(UnsafeMutableRawPointer(bitPattern: start)!, pages: count)
            }
            XCTAssertEqual(pages.usedPages, live.reduce(0) { $0 + $1.1 })
        }
        for (start, count) in live { pages.free(UnsafeMutableRawPointer(bitPattern: start)!, pages: count) }
        XCTAssertEqual(pages.freePages, 512)
        XCTAssertEqual(pages.extentCount, 1)
    }
}

final class HeapTests: XCTestCase {
    func testSizeClassesCoverEverySmallSizeTightly() {
        var previous = 0
        for index in 0..<Heap.classCount {
            let size = Heap.blockSize(ofClass: index)
            XCTAssertGreaterThan(size, previous)
            XCTAssertEqual(size % 16, 0)
            XCTAssertEqual(Heap.sizeClass(forBlockSize: size), index)
            previous = size
        }
        XCTAssertEqual(previous, Heap.smallLimit)
        for size in stride(from: 32, through: Heap.smallLimit, by: 16) {
            let index = Heap.sizeClass(forBlockSize: size)
            XCTAssertGreaterThanOrEqual(Heap.blockSize(ofClass: index), size)
            if index > 0 { XCTAssertLessThan(Heap.blockSize(ofClass: index - 1), size) }
            // Four classes per power of two: rounding wastes at most a quarter (plus 16-byte steps).
            XCTAssertLessThanOrEqual(Heap.blockSize(ofClass: index) - size, max(16, size / 4))
        }
    }

    func testFreedBlocksAreReusedAndStatisticsTrackUse() throws {
        let ram = FakeRAM(pages: 256)
        var heap = Heap(pages: ram.allocator())
        let a = try XCTUnwrap(heap.allocate(size: 100))
        XCTAssertEqual(UInt(bitPattern: a) % 16, 0)
        XCTAssertEqual(heap.statistics.allocations, 1)
        XCTAssertEqual(heap.statistics.bytesInUse, 128, "100 bytes + 16-byte header in the 128-byte class")
        heap.free(a)
        XCTAssertEqual(heap.statistics.bytesInUse, 0)
        XCTAssertEqual(heap.statistics.frees, 1)
        XCTAssertEqual(heap.allocate(size: 110), a, "the freed block of the same class is reused")
        let large = try XCTUnwrap(heap.allocate(size: 100_000))
        XCTAssertEqual(heap.statistics.peakBytesInUse, 128 + 25 * PageAllocator.pageSize)
        let freeBefore = heap.pages.freePages
        heap.free(large)
        XCTAssertEqual(heap.pages.freePages, freeBefore + 25, "large blocks go back to the page allocator")
        XCTAssertEqual(heap.statistics.liveAllocations, 1)
        heap.free(nil)
        XCTAssertEqual(heap.statistics.frees, 2)
    }

    func testAlignedAllocations() throws {
        let ram = FakeRAM(pages: 256)
        var heap = Heap(pages: ram.allocator())
        for alignment in [32, 64, 128, 4096, 65536] {
            let memory = try XCTUnwrap(heap.allocate(size: 200, alignment: alignment))
            XCTAssertEqual(UInt(bitPattern: memory) % UInt(alignment), 0, "alignment \(alignment)")
            XCTAssertGreaterThanOrEqual(heap.usableSize(memory), 200)
            memory.initializeMemory(as: UInt8.self, repeating: 0x5A, count: 200)
            heap.free(memory)
        }
        XCTAssertEqual(heap.statistics.bytesInUse, 0)
        XCTAssertEqual(heap.statistics.liveAllocations, 0)
    }

    func testReallocatePreservesContents() throws {
        let ram = FakeRAM(pages: 256)
        var heap = Heap(pages: ram.allocator())
        var memory = try XCTUnwrap(heap.allocate(size: 40))
        for index in 0..<40 { memory.storeBytes(of: UInt8(index), toByteOffset: index, as: UInt8.self) }
        memory = try XCTUnwrap(heap.reallocate(memory, size: 5000))
        XCTAssertGreaterThanOrEqual(heap.usableSize(memory), 5000)
        for index in 0..<40 { XCTAssertEqual(memory.load(fromByteOffset: index, as: UInt8.self), UInt8(index)) }
        memory = try XCTUnwrap(heap.reallocate(memory, size: 50_000))
        for index in 0..<40 { XCTAssertEqual(memory.load(fromByteOffset: index, as: UInt8.self), UInt8(index)) }
        memory = try XCTUnwrap(heap.reallocate(memory, size: 10))
        for index in 0..<10 { XCTAssertEqual(memory.load(fromByteOffset: index, as: UInt8.self), UInt8(index)) }
        heap.free(memory)
        XCTAssertEqual(heap.statistics.liveAllocations, 0)
        XCTAssertNotNil(heap.reallocate(nil, size: 8), "realloc(NULL, n) is malloc(n)")
    }

    func testExhaustionReturnsNil() {
        let ram = FakeRAM(pages: 40)
        var heap = Heap(pages: ram.allocator())
        XCTAssertNil(heap.allocate(size: 41 * PageAllocator.pageSize))
        XCTAssertNil(heap.allocate(size: -1))
        var count = 0
        while heap.allocate(size: 1000) != nil { count += 1 }
        XCTAssertGreaterThan(count, 100)
    }

    /// Seeded random malloc/free/realloc with a byte pattern per block: no block is ever handed
    /// out twice or overwritten by another, and everything returns.
    func testRandomWorkloadKeepsBlocksIntact() throws {
        let ram = FakeRAM(pages: 4096)
        var heap = Heap(pages: ram.allocator())
        var random = SplitMix64(seed: 7)
        var live: [(UnsafeMutableRawPointer, Int, UInt8)] = []
        func check(_ block: (UnsafeMutableRawPointer, Int, UInt8)) {
            let bytes = UnsafeRawBufferPointer(start: block.0, count: block.1)
            XCTAssertTrue(bytes.allSatisfy { $0 == block.2 }, "block overwritten")
        }
        for step in 0..<20_000 {
            let action = random.next(below: 10)
            if action < 4 || live.isEmpty {
                let size = random.next(below: 8) == 0 ? random.next(below: 70_000) : random.next(below: 600)
                let alignment = random.next(below: 6) == 0 ? 16 << random.next(below: 6) : 16
                guard let memory = heap.allocate(size: size, alignment: alignment) else { continue }
                XCTAssertEqual(UInt(bitPattern: memory) % UInt(alignment), 0)
                let pattern = UInt8(truncatingIfNeeded: step)
                memory.initializeMemory(as: UInt8.self, repeating: pattern, count: size)
                live.append((memory, size, pattern))
            } else if action < 8 {
                let block = live.remove(at: random.next(below: live.count))
                check(block)
                heap.free(block.0)
            } else {
                let index = random.next(below: live.count)
                let block = live[index]
                check(block)
                let size = random.next(below: 3000)
                let moved = try XCTUnwrap(heap.reallocate(block.0, size: size))
                let kept = min(size, block.1)
                XCTAssertTrue(UnsafeRawBufferPointer(start: moved, count: kept).allSatisfy { $0 == block.2 })
                moved.initializeMemory(as: UInt8.self, repeating: block.2, count: size)
                live[index] = (moved, size, block.2)
            }
        }
        for block in live {
            check(block)
            heap.free(block.0)
        }
        XCTAssertEqual(heap.statistics.bytesInUse, 0)
        XCTAssertEqual(heap.statistics.liveAllocations, 0)
        XCTAssertGreaterThan(heap.statistics.peakBytesInUse, 0)
    }
}

final class PhysicalRangesTests: XCTestCase {
    func ranges(_ set: PhysicalRanges) -> [Range<UInt64>] { (0..<set.count).map { set[$0] } }

    func testInsertMergesOverlappingAndAdjacentRanges() {
        var set = PhysicalRanges()
        set.insert(10..<20)
        set.insert(30..<40)
        set.insert(0..<5)
        XCTAssertEqual(ranges(set), [0..<5, 10..<20, 30..<40])
        set.insert(20..<30)
        XCTAssertEqual(ranges(set), [0..<5, 10..<40], "touching ranges merge")
        set.insert(3..<12)
        XCTAssertEqual(ranges(set), [0..<40])
        set.insert(50..<50)
        XCTAssertEqual(set.totalBytes, 40)
    }

    func testRemoveSplitsAndTrims() {
        var set = PhysicalRanges()
        set.insert(0..<100)
        set.remove(40..<60)
        XCTAssertEqual(ranges(set), [0..<40, 60..<100])
        set.remove(30..<70)
        XCTAssertEqual(ranges(set), [0..<30, 70..<100])
        set.remove(0..<1000)
        XCTAssertEqual(set.count, 0)
    }

    func testClampAndAlignInward() {
        var set = PhysicalRanges()
        set.insert(0x800..<0x3800)
        set.insert(0x5000..<0x5800)
        set.alignInward(0x1000)
        XCTAssertEqual(ranges(set), [0x1000..<0x3000], "a range holding no whole page disappears")
        set.clamp(to: 0x2000..<0x10000)
        XCTAssertEqual(ranges(set), [0x2000..<0x3000])
    }

    func testCapacityOverflowIsCountedNotLost() {
        var set = PhysicalRanges()
        for index in 0..<(PhysicalRanges.capacity + 3) {
            set.insert(UInt64(index * 10)..<UInt64(index * 10 + 5))
        }
        XCTAssertEqual(set.count, PhysicalRanges.capacity)
        XCTAssertEqual(set.droppedBytes, 15)
    }

    /// Seeded random inserts and removals against a bitmap model.
    func testRandomOperationsMatchABitmap() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<200 {
            var set = PhysicalRanges()
            var model = [Bool](repeating: false, count: 256)
            for _ in 0..<20 {
                let lower = random.next(below: 256), upper = min(256, lower + random.next(below: 40))
                if random.next(below: 3) == 0 {
                    set.remove(UInt64(lower)..<UInt64(upper))
                    for index in lower..<upper { model[index] = false }
                } else {
                    set.insert(UInt64(lower)..<UInt64(upper))
                    for index in lower..<upper { model[index] = true }
                }
            }
            var rebuilt = [Bool](repeating: false, count: 256)
            for range in ranges(set) { for index in range { rebuilt[Int(index)] = true } }
            XCTAssertEqual(rebuilt, model)
            for (a, b) in zip(ranges(set), ranges(set).dropFirst()) {
                XCTAssertLessThan(a.upperBound, b.lowerBound, "sorted, disjoint, not adjacent")
            }
        }
    }
}

final class MemoryPlanTests: XCTestCase {
    func testFreeMemoryExcludesKernelLowMemoryBootDataAndReservedOverlaps() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        // A reserved entry overlapping usable RAM wins over it.
        memory.write32(UInt32(8 * 24), at: info + 44)
        let entry: UInt64 = 0x3000 + 7 * 24
        memory.write32(20, at: entry)
        memory.write64(0x400_0000, at: entry + 4)
        memory.write64(0x1000, at: entry + 12)
        memory.write32(2, at: entry + 20)
        let reader = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window)
        let free = MemoryPlan.freeRanges(reader, kernelImage: 0x10_0000..<0x17_9000, mappedLimit: 4 << 30)
        let ranges = (0..<free.count).map { free[$0] }
        XCTAssertEqual(ranges, [0x17_9000..<0x17_A000, 0x17_C000..<0x400_0000, 0x400_1000..<0x7FE_0000],
                       "modules at 0x17a000 and 0x17b000 stay reserved; the tables are below 1 MiB")
    }
}
