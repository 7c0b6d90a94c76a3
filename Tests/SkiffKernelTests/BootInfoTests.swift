import XCTest
@testable import SkiffKernel

/// Host memory standing in for physical memory at `base`, with little-endian writers for
/// building boot loader tables.
final class FakePhysicalMemory {
    let base: UInt64
    let buffer: UnsafeMutableRawBufferPointer

    init(base: UInt64 = 0x1000, size: Int = 0x10000) {
        self.base = base
        buffer = .allocate(byteCount: size, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    var window: PhysicalMemory { PhysicalMemory(buffer: UnsafeRawBufferPointer(buffer), physicalBase: base) }

    func write32(_ value: UInt32, at address: UInt64) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: Int(address - base), as: UInt32.self)
    }

    func write64(_ value: UInt64, at address: UInt64) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: Int(address - base), as: UInt64.self)
    }

    func writeString(_ text: String, at address: UInt64) {
        var offset = Int(address - base)
        for byte in text.utf8 {
            buffer[offset] = byte
            offset += 1
        }
        buffer[offset] = 0
    }

    func fill(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: random.next()) }
    }
}

/// A small deterministic PRNG (SplitMix64) for seeded random inputs.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The multiboot information QEMU 7.2 passes for `-kernel k.elf -append "a=1 b" -initrd
/// "mod1 x,mod2"` with 128 MiB (values as the kernel printed them with `skiff.verbose`),
/// laid out per Multiboot 0.6.96 §3.3.
func makeMultiboot(_ memory: FakePhysicalMemory, flags: UInt32 = 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9) -> UInt64 {
    let info: UInt64 = 0x2000, mmap: UInt64 = 0x3000, mods: UInt64 = 0x4000
    memory.write32(flags, at: info)
    memory.write32(639, at: info + 4)                 // mem_lower KiB
    memory.write32(130_944, at: info + 8)             // mem_upper KiB
    memory.writeString("/boot/k.elf a=1 b", at: 0x5000)
    memory.write32(0x5000, at: info + 16)
    memory.write32(2, at: info + 20)
    memory.write32(UInt32(mods), at: info + 24)
    let regions: [(UInt64, UInt64, UInt32)] = [
        (0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2), (0x10_0000, 0x7EE_0000, 1),
        (0x7FE_0000, 0x2_0000, 2), (0xFFFC_0000, 0x4_0000, 2), (0xFD_0000_0000, 0x3_0000_0000, 2),
    ]
    for (index, region) in regions.enumerated() {
        let entry = mmap + UInt64(index * 24)
        memory.write32(20, at: entry)                 // size of the rest of the entry
        memory.write64(region.0, at: entry + 4)
        memory.write64(region.1, at: entry + 12)
        memory.write32(region.2, at: entry + 20)
    }
    memory.write32(UInt32(regions.count * 24), at: info + 44)
    memory.write32(UInt32(mmap), at: info + 48)
    memory.writeString("mod1 x", at: 0x5100)
    memory.writeString("mod2", at: 0x5200)
    memory.write32(0x17A000, at: mods); memory.write32(0x17A00C, at: mods + 4); memory.write32(0x5100, at: mods + 8)
    memory.write32(0x17B000, at: mods + 16); memory.write32(0x17B003, at: mods + 20); memory.write32(0x5200, at: mods + 24)
    memory.writeString("qemu", at: 0x5300)
    memory.write32(0x5300, at: info + 64)
    return info
}

/// The hvm_start_info (version 1) QEMU 7.2's PVH option ROM passed in the same situation:
/// start_info at 0x21e0, cmdline 0x11c0, module list 0x21c0, memory map 0x5a8 (7 entries),
/// RSDP 0xf59d0 (start_info.h layout).
func makePVH(_ memory: FakePhysicalMemory, version: UInt32 = 1) -> UInt64 {
    let info: UInt64 = 0x21E0, memmap: UInt64 = 0x15A8, modlist: UInt64 = 0x21C0
    memory.write32(BootInfoReader.pvhMagic, at: info)
    memory.write32(version, at: info + 4)
    memory.write32(1, at: info + 12)
    memory.write64(modlist, at: info + 16)
    memory.writeString("skiff.verbose hello world", at: 0x11C0)
    memory.write64(0x11C0, at: info + 24)
    memory.write64(0xF59D0, at: info + 32)
    memory.write64(memmap, at: info + 40)
    memory.write32(3, at: info + 48)
    let regions: [(UInt64, UInt64, UInt32)] = [(0, 0x9FC00, 1), (0x10_0000, 0x7EE_0000, 1), (0xFFFC_0000, 0x4_0000, 2)]
    for (index, region) in regions.enumerated() {
        let entry = memmap + UInt64(index * 24)
        memory.write64(region.0, at: entry)
        memory.write64(region.1, at: entry + 8)
        memory.write32(region.2, at: entry + 16)
    }
    memory.write64(0x7FD_7000, at: modlist)
    memory.write64(12, at: modlist + 8)
    memory.write64(0, at: modlist + 16)
    return info
}

final class BootInfoTests: XCTestCase {
    func testMultibootInfoBecomesBootInfo() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        let reader = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window)
        let boot = reader.bootInfo()
        XCTAssertEqual(boot.bootProtocol, .multiboot)
        XCTAssertEqual(boot.commandLine, "a=1 b", "QEMU's multiboot puts the image path first; it is dropped")
        XCTAssertEqual(boot.bootloaderName, "qemu")
        XCTAssertEqual(boot.memoryMap.count, 7)
        XCTAssertEqual(boot.memoryMap[3], MemoryRegion(start: 0x10_0000, length: 0x7EE_0000, kind: .usable))
        XCTAssertEqual(boot.memoryMap[6].kind, .reserved)
        XCTAssertEqual(boot.modules, [BootModule(start: 0x17A000, length: 12, commandLine: "mod1 x"),
                                      BootModule(start: 0x17B000, length: 3, commandLine: "mod2")])
        XCTAssertNil(boot.acpiRSDP)
        XCTAssertEqual(boot.usableBytes, 0x9FC00 + 0x7EE_0000)
    }

    func testMultibootWrongMagicIsRefused() {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        XCTAssertThrowsError(try BootInfoReader(multibootMagic: 0x1BAD_B002, infoAddress: info, memory: memory.window)) {
            XCTAssertEqual($0 as? BootInfoError, .wrongMultibootMagic(0x1BAD_B002))
        }
        XCTAssertThrowsError(try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: 0x20_0000, memory: memory.window)) {
            XCTAssertEqual($0 as? BootInfoError, .unreadableInfo(address: 0x20_0000))
        }
        XCTAssertThrowsError(try BootInfoReader(bootProtocol: 9, magic: 0, infoAddress: info, memory: memory.window)) {
            XCTAssertEqual($0 as? BootInfoError, .unknownProtocol(9))
        }
    }

    func testMultibootFromGRUBKeepsTheWholeCommandLine() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        memory.writeString("GRUB 2.06-13+deb12u2", at: 0x5300)
        memory.writeString("first skiff.verbose", at: 0x5000)
        let boot = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window).bootInfo()
        XCTAssertEqual(boot.commandLine, "first skiff.verbose", "GRUB 2 passes only the arguments")
    }

    func testMultibootWithoutMapFallsBackToMemLowerAndUpper() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory, flags: 1 << 0)
        let boot = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window).bootInfo()
        XCTAssertEqual(boot.memoryMap, [MemoryRegion(start: 0, length: 639 * 1024, kind: .usable),
                                        MemoryRegion(start: 0x10_0000, length: 130_944 * 1024, kind: .usable)])
        XCTAssertEqual(boot.commandLine, "", "flag 2 clear: no command line")
        XCTAssertEqual(boot.modules, [])
        XCTAssertNil(boot.bootloaderName)
    }

    func testMultibootMapWalkStopsAtMalformedEntrySize() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        memory.write32(8, at: 0x3000 + 2 * 24)            // third entry claims 8 bytes: too short
        let boot = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window).bootInfo()
        XCTAssertEqual(boot.memoryMap.count, 2)
    }

    func testMultibootHostileCountsAndPointersAreBounded() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        memory.write32(0xFFFF_FFFF, at: info + 20)        // mods_count
        memory.write32(0xFFFF_FFF0, at: info + 16)        // cmdline outside the window
        memory.write32(0xFFFF_FFF0, at: info + 44)        // mmap_length beyond the window
        let reader = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window)
        let boot = reader.bootInfo()
        XCTAssertEqual(boot.commandLine, "")
        XCTAssertEqual(boot.memoryMap, [], "a table that does not fit the window is not read")
        XCTAssertEqual(boot.modules.count, BootInfoReader.maxModules, "mods_count is clamped")
        XCTAssertEqual(boot.modules.first, BootModule(start: 0x17A000, length: 12, commandLine: "mod1 x"))
        memory.write32(0x10FF0, at: info + 24)            // mods_addr: the table would run past the window
        XCTAssertEqual(reader.bootInfo().modules, [])
    }

    func testPVHStartInfoBecomesBootInfo() throws {
        let memory = FakePhysicalMemory()
        let info = makePVH(memory)
        let reader = try BootInfoReader(bootProtocol: 2, magic: 0, infoAddress: info, memory: memory.window)
        let boot = reader.bootInfo()
        XCTAssertEqual(boot.bootProtocol, .pvh)
        XCTAssertEqual(boot.commandLine, "skiff.verbose hello world", "PVH passes arguments only")
        XCTAssertEqual(boot.memoryMap, [MemoryRegion(start: 0, length: 0x9FC00, kind: .usable),
                                        MemoryRegion(start: 0x10_0000, length: 0x7EE_0000, kind: .usable),
                                        MemoryRegion(start: 0xFFFC_0000, length: 0x4_0000, kind: .reserved)])
        XCTAssertEqual(boot.modules, [BootModule(start: 0x7FD_7000, length: 12, commandLine: "")])
        XCTAssertEqual(boot.acpiRSDP, 0xF59D0)
        XCTAssertNil(boot.bootloaderName)
    }

    func testPVHVersion0HasNoMemoryMap() throws {
        let memory = FakePhysicalMemory()
        let info = makePVH(memory, version: 0)
        let reader = try BootInfoReader(pvhStartInfo: info, memory: memory.window)
        XCTAssertEqual(reader.bootInfo().memoryMap, [], "memmap_paddr exists from version 1 on")
        XCTAssertEqual(reader.bootInfo().commandLine, "skiff.verbose hello world")
    }

    func testPVHWrongMagicIsRefused() {
        let memory = FakePhysicalMemory()
        let info = makePVH(memory)
        memory.write32(0x1234_5678, at: info)
        XCTAssertThrowsError(try BootInfoReader(pvhStartInfo: info, memory: memory.window)) {
            XCTAssertEqual($0 as? BootInfoError, .wrongPVHMagic(0x1234_5678))
        }
    }

    func testBootDataRangesCoverEveryTableStringAndModule() throws {
        let memory = FakePhysicalMemory()
        let info = makeMultiboot(memory)
        let reader = try BootInfoReader(multibootMagic: 0x2BAD_B002, infoAddress: info, memory: memory.window)
        var ranges: [Range<UInt64>] = []
        reader.forEachBootDataRange { ranges.append($0) }
        for expected: Range<UInt64> in [0x2000..<0x2044, 0x5000..<0x5012, 0x5300..<0x5305, 0x17A000..<0x17A00C,
                                        0x5100..<0x5107, 0x17B000..<0x17B003, 0x5200..<0x5205, 0x3000..<0x30A8,
                                        0x4000..<0x4020] {
            XCTAssertTrue(ranges.contains(expected), "missing \(expected)")
        }
        XCTAssertEqual(ranges.count, 9)

        let pvhMemory = FakePhysicalMemory()
        let pvh = try BootInfoReader(pvhStartInfo: makePVH(pvhMemory), memory: pvhMemory.window)
        var pvhRanges: [Range<UInt64>] = []
        pvh.forEachBootDataRange { pvhRanges.append($0) }
        XCTAssertEqual(Set(pvhRanges), [0x21E0..<0x2218, 0x11C0..<0x11DA, 0x7FD_7000..<0x7FD_700C, 0x21C0..<0x21E0,
                                        0x15A8..<0x15F0])
    }

    func testDroppingImagePath() {
        XCTAssertEqual(BootInfoReader.droppingImagePath("/boot/k a=1  b"), "a=1  b")
        XCTAssertEqual(BootInfoReader.droppingImagePath("k.elf"), "")
        XCTAssertEqual(BootInfoReader.droppingImagePath("k.elf   "), "")
        XCTAssertEqual(BootInfoReader.droppingImagePath(""), "")
    }

    func testPhysicalMemoryRefusesAddressesOutsideTheWindow() {
        let memory = FakePhysicalMemory(base: 0x1000, size: 0x1000)
        XCTAssertNotNil(memory.window.bytes(at: 0x1000, count: 0x1000))
        XCTAssertNil(memory.window.bytes(at: 0x1000, count: 0x1001))
        XCTAssertNil(memory.window.bytes(at: 0xFFF, count: 1))
        XCTAssertNil(memory.window.bytes(at: 0x2000, count: 0))
        XCTAssertNil(memory.window.bytes(at: UInt64.max, count: 2))
        memory.buffer.initializeMemory(as: UInt8.self, repeating: 0x41)
        XCTAssertEqual(memory.window.string(at: 0x1F00), String(repeating: "A", count: 0x100),
                       "an unterminated string stops at the window's end")
        XCTAssertEqual(memory.window.string(at: 0x1000, limit: 3), "AAA")
    }

    /// Seeded random memory under both protocols: parsing never traps, and everything it reports
    /// stays within its bounds.
    func testRandomBootInformationNeverTraps() {
        var random = SplitMix64(seed: 0x5EED_B007)
        let memory = FakePhysicalMemory(base: 0x1000, size: 0x4000)
        for round in 0..<2000 {
            memory.fill(seed: random.next())
            let address = 0x1000 + UInt64(random.next(below: 0x4100))
            // Point some tables back into the window so that the walks have something to walk.
            if round % 2 == 0, address + 56 <= 0x5000 {
                for offset in stride(from: 16, to: 56, by: 8) {
                    memory.write32(0x1000 + UInt32(random.next(below: 0x4000)), at: address + UInt64(offset))
                }
            }
            for protocolNumber: UInt32 in [1, 2] {
                if protocolNumber == 2, address + 4 <= 0x5000 { memory.write32(BootInfoReader.pvhMagic, at: address) }
                guard let reader = try? BootInfoReader(bootProtocol: protocolNumber, magic: BootInfoReader.multibootMagic,
                                                       infoAddress: address, memory: memory.window) else { continue }
                let boot = reader.bootInfo()
                XCTAssertLessThanOrEqual(boot.memoryMap.count, BootInfoReader.maxMemoryRegions)
                XCTAssertLessThanOrEqual(boot.modules.count, BootInfoReader.maxModules)
                XCTAssertLessThanOrEqual(boot.commandLine.utf8.count, BootInfoReader.maxCommandLine * 3)
                var ranges = 0
                reader.forEachBootDataRange { range in
                    XCTAssertLessThanOrEqual(range.lowerBound, range.upperBound)
                    ranges += 1
                }
                XCTAssertGreaterThanOrEqual(ranges, 1, "the info structure itself is always reported")
            }
        }
    }
}
