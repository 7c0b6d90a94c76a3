// Page permissions. boot.S identity-maps 0–4 GiB with 2 MiB pages, all writable and executable.
// Once the page allocator exists, this replaces the 2 MiB pages that hold the kernel image by
// 4 KiB pages (Intel SDM Vol. 3A §4.5, table 4-19 for the entry bits) so that:
//   - text is read-only and executable; headers and constants are read-only, data writable,
//     both no-execute; every other page is writable and no-execute (when EFER.NXE is on);
//   - page 0 is not mapped, so a null pointer faults;
//   - the guard page below each stack is not mapped, so an overflow faults.
// CR0.WP (set in boot.S) makes the read-only bits bind the kernel itself.
#if os(none)
import SkiffKernelC

enum Paging {
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let largePage: UInt64 = 1 << 7
    static let noExecute: UInt64 = 1 << 63
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    static let pageSize: UInt64 = 4096
    static let largePageSize: UInt64 = 2 << 20
    /// boot.S maps physical memory up to here; nothing above it is reachable yet.
    static let mappedLimit: UInt64 = 4 << 30

    /// EFER.NXE (MSR C000_0080H bit 11), which boot.S sets when CPUID.80000001H:EDX.NX is set.
    static var noExecuteEnabled: Bool { skiff_read_msr(0xC000_0080) & (1 << 11) != 0 }

    /// Applies the permissions described above; false when no page was free for a page table.
    static func protectKernel(_ layout: skiff_kernel_layout, pages: inout PageAllocator) -> Bool {
        let nx = noExecuteEnabled ? noExecute : 0
        let pdpt = table(at: table(at: skiff_read_cr3() & addressMask)[0] & addressMask)
        let firstLarge = layout.image_start / largePageSize
        let lastLarge = (layout.image_end + largePageSize - 1) / largePageSize
        for largeIndex in firstLarge..<lastLarge {
            guard let memory = pages.allocateZeroed(pages: 1) else { return false }
            let pageTable = memory.assumingMemoryBound(to: UInt64.self)
            for entry in 0..<512 {
                let address = largeIndex * largePageSize + UInt64(entry) * pageSize
                // In bounds: a page table has 512 entries.
                pageTable[entry] = address | permissions(at: address, layout, nx)
            }
            let directory = table(at: pdpt[Int(largeIndex / 512)] & addressMask)
            // Not NX here: the no-execute bit of a directory entry would cover the text pages too.
            directory[Int(largeIndex % 512)] = UInt64(UInt(bitPattern: memory)) | present | writable
        }
        // Every remaining 2 MiB page holds no kernel code.
        for directoryIndex in 0..<Int(mappedLimit / (512 * largePageSize)) {
            let directory = table(at: pdpt[directoryIndex] & addressMask)
            for entry in 0..<512 where directory[entry] & largePage != 0 {
                directory[entry] |= nx
            }
        }
        // Reloading CR3 drops the stale 2 MiB translations.
        skiff_write_cr3(skiff_read_cr3())
        return true
    }

    static let cacheDisable: UInt64 = 1 << 4
    static let writeThrough: UInt64 = 1 << 3

    /// Makes device registers at [physical, physical + length) reachable at the same virtual
    /// address, uncached (PCD|PWT), writable and no-execute, with 2 MiB pages. Below 4 GiB the
    /// identity map already covers them and only the caching changes (2 MiB pages that hold the
    /// kernel, split into 4 KiB pages, are left alone: no device lives there). Above, page
    /// directories come from the page allocator. Nil when the range lies beyond 512 GiB or no
    /// page was free for a directory.
    static func mapDevice(physical: UInt64, length: UInt64) -> UnsafeMutableRawPointer? {
        guard length > 0, physical < (512 << 30), length <= (512 << 30) - physical else { return nil }
        let nx = noExecuteEnabled ? noExecute : 0
        let pdpt = table(at: table(at: skiff_read_cr3() & addressMask)[0] & addressMask)
        var large = physical / largePageSize
        let end = (physical + length + largePageSize - 1) / largePageSize
        while large < end {
            let pdptIndex = Int(large / 512)
            if pdpt[pdptIndex] & present == 0 {
                guard kernelHeap != nil, let memory = kernelHeap!.pages.allocateZeroed(pages: 1) else { return nil }
                pdpt[pdptIndex] = UInt64(UInt(bitPattern: memory)) | present | writable
            }
            let directory = table(at: pdpt[pdptIndex] & addressMask)
            let entry = directory[Int(large % 512)]
            if entry & present == 0 || entry & largePage != 0 {
                directory[Int(large % 512)] = large * largePageSize | present | writable | largePage
                    | cacheDisable | writeThrough | nx
            }
            large += 1
        }
        skiff_write_cr3(skiff_read_cr3())
        return UnsafeMutableRawPointer(bitPattern: UInt(physical))
    }

    private static func permissions(at address: UInt64, _ layout: skiff_kernel_layout, _ nx: UInt64) -> UInt64 {
        func inside(_ lower: UInt64, _ upper: UInt64) -> Bool { address >= lower && address < upper }
        if address == 0 { return 0 }
        if inside(layout.stack_guard, layout.stack_bottom) || inside(layout.ist1_guard, layout.ist1_bottom)
            || inside(layout.ist2_guard, layout.ist2_bottom) {
            return 0
        }
        if inside(layout.text_start, layout.text_end) { return present }
        if inside(layout.image_start, layout.text_start) || inside(layout.rodata_start, layout.rodata_end) {
            return present | nx
        }
        return present | writable | nx
    }

    private static func table(at address: UInt64) -> UnsafeMutablePointer<UInt64> {
        // In bounds: page tables are whole 4 KiB pages (512 entries) inside the identity map.
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!
    }
}
#endif
