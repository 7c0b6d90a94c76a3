// Which physical memory the page allocator may own: the memory map's usable RAM, minus anything
// the map also lists as not usable (maps may overlap), minus the kernel image, minus the boot
// loader's tables, strings and modules, clipped to what the boot page tables map, in whole pages.

public enum MemoryPlan {
    /// Memory below 1 MiB (real-mode IVT, BIOS data, EBDA, VGA, option ROMs) is never used.
    public static let lowMemoryEnd: UInt64 = 0x10_0000

    public static func freeRanges(_ reader: BootInfoReader, kernelImage: Range<UInt64>,
                                  mappedLimit: UInt64) -> PhysicalRanges {
        var ranges = PhysicalRanges()
        reader.forEachMemoryRegion { region in
            if region.kind == .usable { ranges.insert(region.start..<region.end) }
        }
        reader.forEachMemoryRegion { region in
            if region.kind != .usable { ranges.remove(region.start..<region.end) }
        }
        ranges.clamp(to: lowMemoryEnd..<mappedLimit)
        ranges.remove(kernelImage)
        reader.forEachBootDataRange { ranges.remove($0) }
        ranges.alignInward(UInt64(PageAllocator.pageSize))
        return ranges
    }
}
