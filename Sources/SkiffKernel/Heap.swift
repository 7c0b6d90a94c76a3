// The kernel heap behind `malloc`, `posix_memalign` and `free`, which the Embedded Swift runtime
// calls for every class instance, array and string.
//
// Small blocks (up to 32 KiB including their header) come in 40 size classes, four per power of
// two; each class keeps a free list, so a freed block is reused by the next request of its class.
// New blocks are cut from 128 KiB chunks taken from the page allocator. Larger requests get their
// own run of pages, returned to the page allocator on free (where runs coalesce).
//
// Every block carries a 16-byte header just below the pointer handed out:
//   word 0: a tag (kind and state in the high half, size class or 0 in the low half)
//   word 1: small blocks: the free-list link while free; large: the page count;
//           aligned: the address of the underlying block.
// The tag catches double frees and frees of foreign pointers (a precondition failure).

public struct HeapStatistics: Equatable, Sendable {
    /// Bytes of blocks in use, headers and size-class rounding included.
    public var bytesInUse = 0
    /// The most `bytesInUse` has been.
    public var peakBytesInUse = 0
    /// Successful allocations since boot.
    public var allocations = 0
    /// Frees since boot.
    public var frees = 0
    /// Allocations not yet freed.
    public var liveAllocations: Int { allocations - frees }
    /// Bytes taken from the page allocator (chunks and large runs currently held).
    public var bytesFromPages = 0

    public init() {}
}

public struct Heap {
    static let headerSize = 16
    static let alignment = 16
    static let classCount = 40
    static let smallLimit = 32768                 // largest small block, header included
    static let chunkPages = 32                    // 128 KiB

    private static let tagSmallUsed: UInt = 0x5348_5553 << 32    // "SHUS"
    private static let tagSmallFree: UInt = 0x5348_4652 << 32    // "SHFR"
    private static let tagLarge: UInt = 0x5348_4C47 << 32        // "SHLG"
    private static let tagAligned: UInt = 0x5348_414C << 32      // "SHAL"
    private static let tagMask: UInt = 0xFFFF_FFFF << 32

    public var pages: PageAllocator
    public private(set) var statistics = HeapStatistics()
    private var freeLists: InlineArray<40, UInt> = .init(repeating: 0)
    private var bumpNext: UInt = 0
    private var bumpEnd: UInt = 0

    public init(pages: PageAllocator) {
        self.pages = pages
    }

    // MARK: Size classes

    /// The class of a block of `size` bytes (header included, 16 < size <= smallLimit): 16-byte
    /// steps up to 128, then four steps per power of two.
    static func sizeClass(forBlockSize size: Int) -> Int {
        if size <= 128 { return (size + 15) / 16 - 1 }
        let power = Int.bitWidth - 1 - (size - 1).leadingZeroBitCount     // floor(log2(size - 1)) >= 7
        let step = 1 << (power - 2)
        return 8 + (power - 7) * 4 + (size - 1 - (1 << power)) / step
    }

    /// The block size of class `index` (the largest size that maps to it).
    static func blockSize(ofClass index: Int) -> Int {
        if index < 8 { return (index + 1) * 16 }
        let power = 7 + (index - 8) / 4
        let step = 1 << (power - 2)
        return (1 << power) + ((index - 8) % 4 + 1) * step
    }

    // MARK: Allocation

    /// `size` bytes aligned to 16; nil when memory is exhausted.
    public mutating func allocate(size: Int) -> UnsafeMutableRawPointer? {
        guard size >= 0, size <= Int.max / 2 else { return nil }
        let block = (max(size, 1) + Self.headerSize + 15) & ~15
        if block <= Self.smallLimit {
            return allocateSmall(sizeClass: Self.sizeClass(forBlockSize: block))
        }
        return allocateLarge(size: size)
    }

    /// `size` bytes at a multiple of `alignment` (a power of two); nil when memory is exhausted.
    public mutating func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        if alignment <= Self.alignment { return allocate(size: size) }
        // Over-allocate, then place an "aligned" header just below the first aligned address past
        // the underlying block's own header: alignUp(raw + 16, A) <= raw + A, so `size + A` bytes suffice.
        guard size >= 0, size <= Int.max / 2 - alignment,
              let raw = allocate(size: size + alignment) else { return nil }
        let rawAddress = UInt(bitPattern: raw)
        let aligned = (rawAddress + UInt(Self.headerSize) + UInt(alignment - 1)) & ~UInt(alignment - 1)
        // In bounds: aligned - 16 >= raw and aligned + size <= raw + size + alignment.
        Self.storeHeader(tag: Self.tagAligned, word: rawAddress, for: aligned)
        return UnsafeMutableRawPointer(bitPattern: aligned)
    }

    private mutating func allocateSmall(sizeClass index: Int) -> UnsafeMutableRawPointer? {
        let size = Self.blockSize(ofClass: index)
        var block = freeLists[index]
        if block != 0 {
            let header = Self.header(ofBlockAt: block)
            precondition(header.tag == Self.tagSmallFree | UInt(index), "heap free list corrupted")
            freeLists[index] = header.word
        } else {
            if bumpEnd - bumpNext < UInt(size) {
                retireChunk()
                guard let chunk = pages.allocate(pages: Self.chunkPages) else { return nil }
                statistics.bytesFromPages += Self.chunkPages * PageAllocator.pageSize
                bumpNext = UInt(bitPattern: chunk)
                bumpEnd = bumpNext + UInt(Self.chunkPages * PageAllocator.pageSize)
            }
            block = bumpNext
            bumpNext += UInt(size)
        }
        Self.storeBlockHeader(tag: Self.tagSmallUsed | UInt(index), word: 0, at: block)
        noteAllocation(bytes: size)
        return UnsafeMutableRawPointer(bitPattern: block + UInt(Self.headerSize))
    }

    /// Cuts what is left of the current chunk into free blocks of the largest classes that fit.
    private mutating func retireChunk() {
        var index = Self.classCount - 1
        while bumpEnd - bumpNext >= UInt(Self.blockSize(ofClass: 0)) && index >= 0 {
            let size = UInt(Self.blockSize(ofClass: index))
            if bumpEnd - bumpNext >= size {
                Self.storeBlockHeader(tag: Self.tagSmallFree | UInt(index), word: freeLists[index], at: bumpNext)
                freeLists[index] = bumpNext
                bumpNext += size
            } else {
                index -= 1
            }
        }
        bumpNext = 0
        bumpEnd = 0
    }

    private mutating func allocateLarge(size: Int) -> UnsafeMutableRawPointer? {
        let count = (size + Self.headerSize + PageAllocator.pageSize - 1) / PageAllocator.pageSize
        guard let run = pages.allocate(pages: count) else { return nil }
        let block = UInt(bitPattern: run)
        Self.storeBlockHeader(tag: Self.tagLarge, word: UInt(count), at: block)
        statistics.bytesFromPages += count * PageAllocator.pageSize
        noteAllocation(bytes: count * PageAllocator.pageSize)
        return UnsafeMutableRawPointer(bitPattern: block + UInt(Self.headerSize))
    }

    private mutating func noteAllocation(bytes: Int) {
        statistics.allocations += 1
        statistics.bytesInUse += bytes
        statistics.peakBytesInUse = max(statistics.peakBytesInUse, statistics.bytesInUse)
    }

    // MARK: Freeing

    /// Returns a block obtained from `allocate`; nil is ignored.
    public mutating func free(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let address = UInt(bitPattern: pointer)
        precondition(address & 15 == 0 && address > UInt(Self.headerSize), "free of a pointer the heap did not return")
        let header = Self.header(ofBlockAt: address - UInt(Self.headerSize))
        switch header.tag & Self.tagMask {
        case Self.tagSmallUsed:
            let index = Int(header.tag & ~Self.tagMask)
            precondition(index < Self.classCount, "heap block header corrupted")
            let block = address - UInt(Self.headerSize)
            Self.storeBlockHeader(tag: Self.tagSmallFree | UInt(index), word: freeLists[index], at: block)
            freeLists[index] = block
            noteFree(bytes: Self.blockSize(ofClass: index))
        case Self.tagLarge:
            let count = Int(header.word)
            let block = address - UInt(Self.headerSize)
            // Retag first so a second free of the same pointer is caught.
            Self.storeBlockHeader(tag: 0, word: 0, at: block)
            pages.free(UnsafeMutableRawPointer(bitPattern: block)!, pages: count)
            statistics.bytesFromPages -= count * PageAllocator.pageSize
            noteFree(bytes: count * PageAllocator.pageSize)
        case Self.tagAligned:
            Self.storeBlockHeader(tag: 0, word: 0, at: address - UInt(Self.headerSize))
            free(UnsafeMutableRawPointer(bitPattern: header.word))
        case Self.tagSmallFree:
            preconditionFailure("heap block freed twice")
        default:
            preconditionFailure("free of a pointer the heap did not return")
        }
    }

    private mutating func noteFree(bytes: Int) {
        statistics.frees += 1
        statistics.bytesInUse -= bytes
    }

    // MARK: Resizing

    /// The bytes usable at `pointer` (at least what was asked for).
    public func usableSize(_ pointer: UnsafeMutableRawPointer) -> Int {
        let address = UInt(bitPattern: pointer)
        let header = Self.header(ofBlockAt: address - UInt(Self.headerSize))
        switch header.tag & Self.tagMask {
        case Self.tagSmallUsed:
            return Self.blockSize(ofClass: Int(header.tag & ~Self.tagMask)) - Self.headerSize
        case Self.tagLarge:
            return Int(header.word) * PageAllocator.pageSize - Self.headerSize
        case Self.tagAligned:
            let raw = UnsafeMutableRawPointer(bitPattern: header.word)!
            return usableSize(raw) - Int(address - header.word)
        default:
            preconditionFailure("usableSize of a pointer the heap did not return")
        }
    }

    /// C `realloc`: grows or shrinks, moving the contents when the block must change.
    public mutating func reallocate(_ pointer: UnsafeMutableRawPointer?, size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer else { return allocate(size: size) }
        let usable = usableSize(pointer)
        if size <= usable && size >= usable / 2 { return pointer }
        guard let moved = allocate(size: size) else { return nil }
        // In bounds: both blocks hold at least min(size, usable) bytes.
        moved.copyMemory(from: pointer, byteCount: min(size, usable))
        free(pointer)
        return moved
    }

    // MARK: Headers

    private struct Header {
        var tag: UInt
        var word: UInt
    }

    @inline(__always)
    private static func header(ofBlockAt block: UInt) -> Header {
        // In bounds: every block handed out starts with a 16-byte header owned by the heap.
        let raw = UnsafeRawPointer(bitPattern: block)!
        return Header(tag: raw.load(as: UInt.self), word: raw.load(fromByteOffset: 8, as: UInt.self))
    }

    @inline(__always)
    private static func storeBlockHeader(tag: UInt, word: UInt, at block: UInt) {
        // In bounds: `block` starts a block of at least 16 bytes owned by the heap.
        let raw = UnsafeMutableRawPointer(bitPattern: block)!
        raw.storeBytes(of: tag, as: UInt.self)
        raw.storeBytes(of: word, toByteOffset: 8, as: UInt.self)
    }

    @inline(__always)
    private static func storeHeader(tag: UInt, word: UInt, for payload: UInt) {
        storeBlockHeader(tag: tag, word: word, at: payload - UInt(headerSize))
    }
}
