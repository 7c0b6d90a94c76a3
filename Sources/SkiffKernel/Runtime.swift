// The C symbols the Embedded Swift runtime expects from its platform: the allocator (libc.c's
// wrappers around the kernel heap below), `putchar` (the serial console, for `print`), and
// `arc4random_buf` (hashing seeds, from `Entropy`). The memory and string primitives and `ceil`
// are in SkiffKernelC/libc.c.
#if os(none)

/// The kernel heap; nil until `skiff_kernel_start` has read the memory map.
nonisolated(unsafe) var kernelHeap: Heap? = nil

// The allocation entry points behind libc.c's `malloc`, `posix_memalign`, `calloc`, `realloc`
// and `free` (Swift reserves those names; `@_cdecl` may not define them).

@_cdecl("skiff_heap_allocate")
public func skiffHeapAllocate(_ size: Int, _ alignment: Int) -> UnsafeMutableRawPointer? {
    guard kernelHeap != nil else { return earlyAllocation() }
    return kernelHeap!.allocate(size: size, alignment: alignment)
}

@_cdecl("skiff_heap_reallocate")
public func skiffHeapReallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    guard kernelHeap != nil else { return earlyAllocation() }
    return kernelHeap!.reallocate(pointer, size: size)
}

@_cdecl("skiff_heap_free")
public func skiffHeapFree(_ pointer: UnsafeMutableRawPointer?) {
    guard pointer != nil, kernelHeap != nil else { return }
    kernelHeap!.free(pointer)
}

/// An allocation before the heap exists is a kernel bug: say so rather than return nil, which
/// the runtime would turn into an anonymous trap.
private func earlyAllocation() -> UnsafeMutableRawPointer? {
    Console.write("skiff: allocation before the heap was set up\n")
    KernelExit.halt()
}

@_cdecl("putchar")
public func skiffPutchar(_ character: CInt) -> CInt {
    Serial.write(UInt8(truncatingIfNeeded: character))
    return character
}

@_cdecl("arc4random_buf")
public func skiffArc4randomBuf(_ buffer: UnsafeMutableRawPointer?, _ count: Int) {
    guard let buffer else { return }
    var offset = 0
    while offset < count {
        let value = Entropy.next()
        let chunk = min(8, count - offset)
        // In bounds: offset + chunk <= count, the buffer's length.
        withUnsafeBytes(of: value) { bytes in
            (buffer + offset).copyMemory(from: bytes.baseAddress!, byteCount: chunk)
        }
        offset += chunk
    }
}
#endif
