// The kernel's start and the API applications see.
//
// boot.S calls `skiff_kernel_start` on the boot stack in long mode, then the application's `main`
// (its top-level code), then `skiff_kernel_exit` with main's result. Start-up order matters: no
// allocation is possible until the heap exists, so the boot information is first walked in place
// (BootInfoReader), the page allocator and heap are built from the memory map, and only then is
// the `BootInfo` value copied out; the kernel's pages get their final permissions last.
#if os(none)
import SkiffKernelC

public enum Kernel {
    nonisolated(unsafe) static var storedBootInfo: BootInfo? = nil
    nonisolated(unsafe) static var verbose = false

    /// What the boot loader passed: protocol, command line, memory map, modules.
    public static var bootInfo: BootInfo { storedBootInfo! }

    /// The heap's counters (bytes in use, peak, allocations, frees).
    public static var heapStatistics: HeapStatistics { kernelHeap?.statistics ?? HeapStatistics() }

    /// Pages the page allocator manages, and how many are free.
    public static var totalPages: Int { kernelHeap?.pages.totalPages ?? 0 }
    public static var freePages: Int { kernelHeap?.pages.freePages ?? 0 }

    /// Zeroed, physically contiguous pages for device rings and DMA buffers (identity-mapped, so
    /// the address is also the physical address); nil when memory is exhausted.
    public static func allocatePages(_ count: Int, alignment: Int = PageAllocator.pageSize) -> UnsafeMutableRawPointer? {
        kernelHeap!.pages.allocateZeroed(pages: count, alignment: alignment)
    }

    /// Returns pages from `allocatePages` with the same `count`.
    public static func freePages(_ memory: UnsafeMutableRawPointer, count: Int) {
        kernelHeap!.pages.free(memory, pages: count)
    }

    /// A boot module's contents. Modules stay reserved for the kernel's lifetime and lie inside
    /// the identity map (nil for one that does not, or is empty).
    public static func contents(of module: BootModule) -> UnsafeRawBufferPointer? {
        guard module.length > 0, module.start > 0, module.start < Paging.mappedLimit,
              module.length <= Paging.mappedLimit - module.start,
              let start = UnsafeRawPointer(bitPattern: UInt(module.start)) else { return nil }
        // In bounds: [start, start + length) is below 4 GiB (mapped) and was reserved at boot.
        return UnsafeRawBufferPointer(start: start, count: Int(module.length))
    }

    /// Where hashing seeds come from.
    public static var entropySource: Entropy.Source { Entropy.source }

    /// Stops the machine; under QEMU with isa-debug-exit the process exits with (status << 1) | 1.
    public static func exit(status: Int32) -> Never {
        if verbose { printHeapStatistics() }
        KernelExit.exit(status: status)
    }

    static func printHeapStatistics() {
        let heap = heapStatistics
        print("skiff: heap \(heap.bytesInUse) bytes in use, peak \(heap.peakBytesInUse), \(heap.allocations) allocations, \(heap.liveAllocations) live; pages \(totalPages - freePages)/\(totalPages) in use")
    }
}

@_cdecl("skiff_kernel_start")
public func skiffKernelStart(_ bootProtocol: UInt32, _ magic: UInt32, _ infoAddress: UInt32) {
    Serial.initialize()
    let layout = skiff_get_kernel_layout()
    // Everything the boot loader points at is below 4 GiB and inside the identity map. Page 0 is
    // still mapped here and may hold tables (QEMU's PVH option ROM puts the memory map at 0x5a8);
    // only address 0 itself means "absent".
    let memory = PhysicalMemory(range: 1..<Paging.mappedLimit, virtualBase: 1)

    let reader: BootInfoReader
    do {
        reader = try BootInfoReader(bootProtocol: bootProtocol, magic: magic, infoAddress: UInt64(infoAddress),
                                    memory: memory)
    } catch {
        bootFailure(error)
    }

    let free = MemoryPlan.freeRanges(reader, kernelImage: layout.image_start..<layout.image_end,
                                     mappedLimit: Paging.mappedLimit)
    var pages = PageAllocator()
    for index in 0..<free.count {
        let range = free[index]
        pages.addMemory(start: UInt(range.lowerBound), end: UInt(range.upperBound))
    }
    guard pages.totalPages > 0 else {
        Console.write("skiff: the memory map has no usable memory above 1 MiB; stopping\n")
        KernelExit.exit(status: KernelExit.faultStatus)
    }
    kernelHeap = Heap(pages: pages)

    Kernel.storedBootInfo = reader.bootInfo()
    guard Paging.protectKernel(layout, pages: &kernelHeap!.pages) else {
        Console.write("skiff: no memory for page tables; stopping\n")
        KernelExit.exit(status: KernelExit.faultStatus)
    }

    let info = Kernel.bootInfo
    Kernel.verbose = info.commandLine.utf8.split(separator: UInt8(ascii: " ")).contains { $0.elementsEqual("skiff.verbose".utf8) }
    let freeMiB = pages.totalPages / 256
    // The leading newline ends whatever line the firmware left unfinished ("Booting from ROM..").
    print("\nskiff: booted via \(info.bootProtocol.name), \(freeMiB) MiB free, nx \(Paging.noExecuteEnabled ? "on" : "off"), entropy \(Entropy.source.name)")
    if Kernel.verbose { printBootDetails(info, layout, free) }
}

@_cdecl("skiff_kernel_exit")
public func skiffKernelExit(_ status: Int32) -> Never {
    Kernel.exit(status: status)
}

private func bootFailure(_ error: BootInfoError) -> Never {
    Console.write("skiff: unusable boot information: ")
    switch error {
    case .wrongMultibootMagic(let value):
        Console.write("multiboot magic ")
        Console.write(hex: UInt64(value), digits: 8)
    case .wrongPVHMagic(let value):
        Console.write("PVH start_info magic ")
        Console.write(hex: UInt64(value), digits: 8)
    case .unreadableInfo(let address):
        Console.write("info structure at ")
        Console.write(hex: address)
    case .unknownProtocol(let number):
        Console.write("boot protocol ")
        Console.write(decimal: UInt64(number))
    }
    Console.write("; stopping\n")
    KernelExit.exit(status: KernelExit.faultStatus)
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.utf8.count)) + digits
}

private func printBootDetails(_ info: BootInfo, _ layout: skiff_kernel_layout, _ free: PhysicalRanges) {
    print("skiff: command line \"\(info.commandLine)\"")
    if let name = info.bootloaderName { print("skiff: boot loader \"\(name)\"") }
    for region in info.memoryMap {
        print("skiff: memory \(hex(region.start))-\(hex(region.end)) \(region.kind.name)")
    }
    for module in info.modules {
        // The first bytes, printable ASCII only, show that the module is where the table says.
        var preview = ""
        if let bytes = Kernel.contents(of: module) {
            for byte in bytes.prefix(16) {
                preview.unicodeScalars.append(Unicode.Scalar(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: ".")))
            }
        }
        print("skiff: module \(hex(module.start)) \(module.length) bytes \"\(module.commandLine)\" [\(preview)]")
    }
    print("skiff: kernel \(hex(layout.image_start))-\(hex(layout.image_end)), text \(hex(layout.text_start))-\(hex(layout.text_end)), stack \(hex(layout.stack_bottom))-\(hex(layout.stack_top))")
    for index in 0..<free.count {
        print("skiff: free \(hex(free[index].lowerBound))-\(hex(free[index].upperBound))")
    }
}
#endif
