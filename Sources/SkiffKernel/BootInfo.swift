// Boot information from the two ways a Skiff kernel is started:
//   - Multiboot v1 (Multiboot Specification 0.6.96 §3.3): EAX = 0x2BADB002, EBX = the
//     multiboot_info structure (memory map, command line, modules).
//   - PVH, the x86/HVM direct boot ABI (Xen's public/arch-x86/hvm/start_info.h): EBX = the
//     hvm_start_info structure, whose `magic` is 0x336ec578 (memory map from version 1 on).
//
// `BootInfoReader` is the zero-copy view: it walks the loader's tables through a `PhysicalMemory`
// window without allocating (the heap does not exist yet when it first runs) and without trusting
// any pointer or count in them. `BootInfo` is the value the rest of the kernel and the
// application see.

/// How the kernel was started.
public enum BootProtocol: Equatable, Sendable {
    case multiboot
    case pvh

    public var name: String {
        switch self {
        case .multiboot: return "multiboot"
        case .pvh: return "pvh"
        }
    }
}

/// One entry of the firmware's memory map.
public struct MemoryRegion: Equatable, Sendable {
    /// The E820 address range types, which multiboot and PVH both use (ACPI 6.5 §15.3 table 15.1;
    /// start_info.h `XEN_HVM_MEMMAP_TYPE_*`).
    public enum Kind: Equatable, Sendable {
        case usable             // 1: RAM
        case reserved           // 2
        case acpiReclaimable    // 3: ACPI tables, usable once read
        case acpiNVS            // 4
        case defective          // 5: unusable
        case disabled           // 6
        case persistent         // 7: persistent memory
        case other(UInt32)

        public init(e820Type type: UInt32) {
            switch type {
            case 1: self = .usable
            case 2: self = .reserved
            case 3: self = .acpiReclaimable
            case 4: self = .acpiNVS
            case 5: self = .defective
            case 6: self = .disabled
            case 7: self = .persistent
            default: self = .other(type)
            }
        }

        public var name: String {
            switch self {
            case .usable: return "usable"
            case .reserved: return "reserved"
            case .acpiReclaimable: return "acpi-reclaimable"
            case .acpiNVS: return "acpi-nvs"
            case .defective: return "defective"
            case .disabled: return "disabled"
            case .persistent: return "persistent"
            case .other(let type): return "type-\(type)"
            }
        }
    }

    public var start: UInt64
    public var length: UInt64
    public var kind: Kind

    public init(start: UInt64, length: UInt64, kind: Kind) {
        self.start = start
        self.length = length
        self.kind = kind
    }

    /// One past the last byte, saturating at the top of the address space.
    public var end: UInt64 {
        let (sum, overflow) = start.addingReportingOverflow(length)
        return overflow ? UInt64.max : sum
    }
}

/// A file the boot loader loaded next to the kernel (a multiboot module or a PVH module).
public struct BootModule: Equatable, Sendable {
    public var start: UInt64
    public var length: UInt64
    public var commandLine: String

    public init(start: UInt64, length: UInt64, commandLine: String) {
        self.start = start
        self.length = length
        self.commandLine = commandLine
    }
}

/// Everything the boot loader told the kernel, in one value.
public struct BootInfo: Equatable, Sendable {
    public var bootProtocol: BootProtocol
    /// The kernel command line's arguments (without the image path QEMU's multiboot puts in front).
    public var commandLine: String
    public var memoryMap: [MemoryRegion]
    public var modules: [BootModule]
    /// Multiboot's `boot_loader_name` (flag 9), when given.
    public var bootloaderName: String?
    /// PVH's `rsdp_paddr`, when given (the ACPI root; multiboot v1 does not pass it).
    public var acpiRSDP: UInt64?

    public init(bootProtocol: BootProtocol, commandLine: String = "", memoryMap: [MemoryRegion] = [],
                modules: [BootModule] = [], bootloaderName: String? = nil, acpiRSDP: UInt64? = nil) {
        self.bootProtocol = bootProtocol
        self.commandLine = commandLine
        self.memoryMap = memoryMap
        self.modules = modules
        self.bootloaderName = bootloaderName
        self.acpiRSDP = acpiRSDP
    }

    /// Bytes of usable RAM in the memory map.
    public var usableBytes: UInt64 {
        var total: UInt64 = 0
        for region in memoryMap where region.kind == .usable { total &+= region.end - region.start }
        return total
    }
}

public enum BootInfoError: Error, Equatable {
    /// Multiboot's EAX was not 0x2BADB002.
    case wrongMultibootMagic(UInt32)
    /// PVH start_info's `magic` was not 0x336ec578.
    case wrongPVHMagic(UInt32)
    /// The info structure lies outside readable memory.
    case unreadableInfo(address: UInt64)
    /// boot.S reported a protocol number it does not define.
    case unknownProtocol(UInt32)
}

/// A zero-copy, allocation-free view over the boot loader's tables.
public struct BootInfoReader {
    public static let multibootMagic: UInt32 = 0x2BAD_B002
    public static let pvhMagic: UInt32 = 0x336E_C578
    /// Walks of loader-supplied tables stop after this many entries.
    public static let maxMemoryRegions = 512
    public static let maxModules = 64
    public static let maxCommandLine = 4096

    public let bootProtocol: BootProtocol
    public let infoAddress: UInt64
    let memory: PhysicalMemory
    let info: UnsafeRawBufferPointer

    // Multiboot 0.6.96 §3.3: the fields of multiboot_info this kernel reads (through
    // boot_loader_name, offset 64); `flags` says which are valid.
    enum Multiboot {
        static let size = 68
        static let flags = 0
        static let memLower = 4, memUpper = 8                // flags bit 0, KiB
        static let cmdline = 16                              // flags bit 2
        static let modsCount = 20, modsAddr = 24             // flags bit 3
        static let mmapLength = 44, mmapAddr = 48            // flags bit 6
        static let bootLoaderName = 64                       // flags bit 9
        static let moduleEntrySize = 16                      // mod_start, mod_end, string, reserved
        static let mmapEntryMinimumSize = 20                 // base_addr, length, type after `size`
    }

    // start_info.h: hvm_start_info (version 0 ends at 40, version 1 adds the memory map).
    enum PVH {
        static let sizeV0 = 40, sizeV1 = 56
        static let magic = 0, version = 4, nrModules = 12
        static let modlistPaddr = 16, cmdlinePaddr = 24, rsdpPaddr = 32
        static let memmapPaddr = 40, memmapEntries = 48
        static let moduleEntrySize = 32                      // paddr, size, cmdline_paddr, reserved
        static let memmapEntrySize = 24                      // addr, size, type, reserved
    }

    /// Reads multiboot information: `magic` is what the loader left in EAX, `infoAddress` EBX.
    public init(multibootMagic magic: UInt32, infoAddress: UInt64, memory: PhysicalMemory) throws(BootInfoError) {
        guard magic == Self.multibootMagic else { throw .wrongMultibootMagic(magic) }
        guard let info = memory.bytes(at: infoAddress, count: Multiboot.size) else {
            throw .unreadableInfo(address: infoAddress)
        }
        self.bootProtocol = .multiboot
        self.infoAddress = infoAddress
        self.memory = memory
        self.info = info
    }

    /// Reads PVH start info at `startInfoAddress` (what the loader left in EBX).
    public init(pvhStartInfo startInfoAddress: UInt64, memory: PhysicalMemory) throws(BootInfoError) {
        guard let header = memory.bytes(at: startInfoAddress, count: PVH.sizeV0) else {
            throw .unreadableInfo(address: startInfoAddress)
        }
        let magic = header.loadLittleEndian(UInt32.self, at: PVH.magic)
        guard magic == Self.pvhMagic else { throw .wrongPVHMagic(magic) }
        let version = header.loadLittleEndian(UInt32.self, at: PVH.version)
        // Version 1 and later carry the memory map; read it only when the structure is readable.
        let full = version >= 1 ? memory.bytes(at: startInfoAddress, count: PVH.sizeV1) : nil
        self.bootProtocol = .pvh
        self.infoAddress = startInfoAddress
        self.memory = memory
        self.info = full ?? header
    }

    /// Dispatches on what boot.S recorded: protocol 1 is multiboot (with EAX in `magic`), 2 is PVH.
    public init(bootProtocol number: UInt32, magic: UInt32, infoAddress: UInt64,
                memory: PhysicalMemory) throws(BootInfoError) {
        switch number {
        case 1: try self.init(multibootMagic: magic, infoAddress: infoAddress, memory: memory)
        case 2: try self.init(pvhStartInfo: infoAddress, memory: memory)
        default: throw .unknownProtocol(number)
        }
    }

    private func field32(_ offset: Int) -> UInt32 { info.loadLittleEndian(UInt32.self, at: offset) }
    private func field64(_ offset: Int) -> UInt64 {
        offset + 8 <= info.count ? info.loadLittleEndian(UInt64.self, at: offset) : 0
    }
    private func multibootFlag(_ bit: UInt32) -> Bool { field32(Multiboot.flags) & (1 << bit) != 0 }

    /// The size of the info structure itself.
    var infoSize: Int { info.count }

    // MARK: Memory map

    /// Calls `body` with each memory-map entry, in the loader's order.
    public func forEachMemoryRegion(_ body: (MemoryRegion) -> Void) {
        switch bootProtocol {
        case .multiboot:
            if multibootFlag(6) {
                let address = UInt64(field32(Multiboot.mmapAddr))
                let length = Int(field32(Multiboot.mmapLength))
                guard let table = memory.bytes(at: address, count: length) else { return }
                // Each entry is `size` (u32) then `size` bytes: base_addr u64, length u64, type u32.
                var offset = 0
                var seen = 0
                while offset + 4 + Multiboot.mmapEntryMinimumSize <= table.count && seen < Self.maxMemoryRegions {
                    let size = Int(table.loadLittleEndian(UInt32.self, at: offset))
                    guard size >= Multiboot.mmapEntryMinimumSize else { return }
                    let start = table.loadLittleEndian(UInt64.self, at: offset + 4)
                    let count = table.loadLittleEndian(UInt64.self, at: offset + 12)
                    let type = table.loadLittleEndian(UInt32.self, at: offset + 20)
                    body(MemoryRegion(start: start, length: count, kind: .init(e820Type: type)))
                    offset += 4 + size
                    seen += 1
                }
            } else if multibootFlag(0) {
                // No map: mem_lower KiB from 0 and mem_upper KiB from 1 MiB are usable (§3.3).
                body(MemoryRegion(start: 0, length: UInt64(field32(Multiboot.memLower)) * 1024, kind: .usable))
                body(MemoryRegion(start: 0x10_0000, length: UInt64(field32(Multiboot.memUpper)) * 1024, kind: .usable))
            }
        case .pvh:
            guard info.count >= PVH.sizeV1 else { return }
            let address = field64(PVH.memmapPaddr)
            let entries = min(Int(field32(PVH.memmapEntries)), Self.maxMemoryRegions)
            guard address != 0,
                  let table = memory.bytes(at: address, count: entries * PVH.memmapEntrySize) else { return }
            for index in 0..<entries {
                let offset = index * PVH.memmapEntrySize
                // In bounds: the table was read for `entries` whole entries.
                let start = table.loadLittleEndian(UInt64.self, at: offset)
                let count = table.loadLittleEndian(UInt64.self, at: offset + 8)
                let type = table.loadLittleEndian(UInt32.self, at: offset + 16)
                body(MemoryRegion(start: start, length: count, kind: .init(e820Type: type)))
            }
        }
    }

    // MARK: Command line and modules

    /// The physical address of the kernel command line, if the loader passed one.
    public var commandLineAddress: UInt64? {
        switch bootProtocol {
        case .multiboot:
            guard multibootFlag(2) else { return nil }
            let address = UInt64(field32(Multiboot.cmdline))
            return address == 0 ? nil : address
        case .pvh:
            let address = field64(PVH.cmdlinePaddr)
            return address == 0 ? nil : address
        }
    }

    /// Calls `body` with each module's physical range and the address of its command line (0: none).
    public func forEachModule(_ body: (_ start: UInt64, _ length: UInt64, _ commandLineAddress: UInt64) -> Void) {
        switch bootProtocol {
        case .multiboot:
            guard multibootFlag(3) else { return }
            let count = min(Int(field32(Multiboot.modsCount)), Self.maxModules)
            let address = UInt64(field32(Multiboot.modsAddr))
            guard let table = memory.bytes(at: address, count: count * Multiboot.moduleEntrySize) else { return }
            for index in 0..<count {
                let offset = index * Multiboot.moduleEntrySize
                // In bounds: the table was read for `count` whole entries.
                let start = UInt64(table.loadLittleEndian(UInt32.self, at: offset))
                let end = UInt64(table.loadLittleEndian(UInt32.self, at: offset + 4))
                let string = UInt64(table.loadLittleEndian(UInt32.self, at: offset + 8))
                body(start, end >= start ? end - start : 0, string)
            }
        case .pvh:
            let count = min(Int(field32(PVH.nrModules)), Self.maxModules)
            let address = field64(PVH.modlistPaddr)
            guard count > 0, address != 0,
                  let table = memory.bytes(at: address, count: count * PVH.moduleEntrySize) else { return }
            for index in 0..<count {
                let offset = index * PVH.moduleEntrySize
                // In bounds: the table was read for `count` whole entries.
                body(table.loadLittleEndian(UInt64.self, at: offset),
                     table.loadLittleEndian(UInt64.self, at: offset + 8),
                     table.loadLittleEndian(UInt64.self, at: offset + 16))
            }
        }
    }

    /// The multiboot boot loader's name, if given (flag 9).
    public var bootloaderNameAddress: UInt64? {
        guard bootProtocol == .multiboot, multibootFlag(9) else { return nil }
        let address = UInt64(field32(Multiboot.bootLoaderName))
        return address == 0 ? nil : address
    }

    // MARK: Where the tables are

    /// Calls `body` with every physical range the loader's tables, strings and modules occupy:
    /// the page allocator must not hand these out before they have been read (modules: ever).
    public func forEachBootDataRange(_ body: (Range<UInt64>) -> Void) {
        func emit(_ start: UInt64, _ length: UInt64) {
            guard length > 0 else { return }
            let (end, overflow) = start.addingReportingOverflow(length)
            body(start..<(overflow ? UInt64.max : end))
        }
        func emitString(_ address: UInt64?) {
            guard let address, let bytes = memory.cString(at: address, limit: Self.maxCommandLine) else { return }
            emit(address, UInt64(bytes.count) + 1)
        }
        emit(infoAddress, UInt64(info.count))
        emitString(commandLineAddress)
        emitString(bootloaderNameAddress)
        forEachModule { start, length, commandLine in
            emit(start, length)
            if commandLine != 0 { emitString(commandLine) }
        }
        switch bootProtocol {
        case .multiboot:
            if multibootFlag(6) {
                emit(UInt64(field32(Multiboot.mmapAddr)), UInt64(field32(Multiboot.mmapLength)))
            }
            if multibootFlag(3) {
                let count = min(UInt64(field32(Multiboot.modsCount)), UInt64(Self.maxModules))
                emit(UInt64(field32(Multiboot.modsAddr)), count * UInt64(Multiboot.moduleEntrySize))
            }
        case .pvh:
            let modules = min(UInt64(field32(PVH.nrModules)), UInt64(Self.maxModules))
            emit(field64(PVH.modlistPaddr), modules * UInt64(PVH.moduleEntrySize))
            if info.count >= PVH.sizeV1 {
                let entries = min(UInt64(field32(PVH.memmapEntries)), UInt64(Self.maxMemoryRegions))
                emit(field64(PVH.memmapPaddr), entries * UInt64(PVH.memmapEntrySize))
            }
        }
    }

    // MARK: The value

    /// QEMU's multiboot loader (boot loader name "qemu") puts the -kernel file name in front of
    /// the -append text; GRUB 2 (measured: 2.06) and PVH loaders pass only the arguments. Dropping
    /// QEMU's first word makes `commandLine` mean the same everywhere.
    static func droppingImagePath(_ text: String) -> String {
        // Byte-wise (not Character-wise), which keeps Unicode segmentation out of the kernel.
        let utf8 = text.utf8
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")) else { return "" }
        let arguments = utf8[space...].drop { $0 == UInt8(ascii: " ") }
        return String(decoding: arguments, as: UTF8.self)
    }

    /// Copies everything into a `BootInfo` value (allocates: call once the heap is up).
    public func bootInfo() -> BootInfo {
        var result = BootInfo(bootProtocol: bootProtocol)
        if let address = bootloaderNameAddress {
            result.bootloaderName = memory.string(at: address, limit: Self.maxCommandLine)
        }
        if let address = commandLineAddress {
            let text = memory.string(at: address, limit: Self.maxCommandLine) ?? ""
            let fromQEMU = result.bootloaderName.map { $0.utf8.elementsEqual("qemu".utf8) } ?? false
            result.commandLine = fromQEMU ? Self.droppingImagePath(text) : text
        }
        forEachMemoryRegion { result.memoryMap.append($0) }
        forEachModule { start, length, commandLine in
            let text = commandLine == 0 ? "" : memory.string(at: commandLine, limit: Self.maxCommandLine) ?? ""
            result.modules.append(BootModule(start: start, length: length, commandLine: text))
        }
        if bootProtocol == .pvh {
            let rsdp = field64(PVH.rsdpPaddr)
            result.acpiRSDP = rsdp == 0 ? nil : rsdp
        }
        return result
    }
}
