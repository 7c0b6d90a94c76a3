// ACPI S5 soft-off without an AML interpreter (ACPI 6.5 §7.4.2, §16.1.7).
//
// Powering off needs two facts from the firmware's tables: the PM1a/PM1b control ports (FADT) and
// the S5 sleep type values (the DSDT's `\_S5_` package, in AML). The walk is
// RSDP → RSDT/XSDT → FADT ("FACP") → DSDT → `_S5_`, through a bounds-checked `PhysicalMemory`
// window: firmware tables are treated like any loader table — every length is capped, every read
// is checked, every checksum verified, and a malformed table yields an error, never a trap.
// Only the window onto real memory and the port writes are kernel code (`#if os(none)` below).

public enum ACPIError: Error, Equatable {
    /// No "RSD PTR " structure with a valid checksum where the firmware puts it.
    case noRSDP
    /// A table header or body lies outside readable memory.
    case unreadable(address: UInt64)
    /// The table at `address` does not carry the expected signature.
    case wrongSignature(address: UInt64)
    /// The table's length is shorter than its header or longer than `ACPI.maxTableLength`.
    case badLength(address: UInt64)
    /// The table's bytes do not sum to zero.
    case badChecksum(address: UInt64)
    /// Neither the RSDT nor the XSDT lists a FADT.
    case noFADT
    /// The FADT gives no I/O port for PM1a_CNT.
    case noPM1aControl
    /// The FADT gives no DSDT.
    case noDSDT
    /// The DSDT has no `Name (_S5_, Package { SLP_TYPa, SLP_TYPb, … })` this parser understands.
    case noS5

    /// A few words for the console.
    public var summary: StaticString {
        switch self {
        case .noRSDP: return "no RSDP"
        case .unreadable: return "a table lies outside memory"
        case .wrongSignature: return "a table has the wrong signature"
        case .badLength: return "a table has an impossible length"
        case .badChecksum: return "a table's checksum is wrong"
        case .noFADT: return "no FADT"
        case .noPM1aControl: return "the FADT has no PM1a control port"
        case .noDSDT: return "the FADT names no DSDT"
        case .noS5: return "the DSDT has no usable \\_S5_ package"
        }
    }
}

/// What writing S5 takes: the PM1 control ports and the sleep type values for each.
public struct ACPISleepControl: Equatable, Sendable {
    public var pm1aControl: UInt16
    /// 0: the machine has no PM1b block.
    public var pm1bControl: UInt16
    public var sleepTypeA: UInt8
    public var sleepTypeB: UInt8

    public init(pm1aControl: UInt16, pm1bControl: UInt16, sleepTypeA: UInt8, sleepTypeB: UInt8) {
        self.pm1aControl = pm1aControl
        self.pm1bControl = pm1bControl
        self.sleepTypeA = sleepTypeA
        self.sleepTypeB = sleepTypeB
    }
}

public enum ACPI {
    /// Longest table the walk accepts (QEMU's DSDT is about 8 KiB; large servers' under 1 MiB).
    public static let maxTableLength = 4 << 20
    /// Root table entries examined at most.
    public static let maxRootEntries = 256

    // ACPI 6.5 §5.2.5.3, table 5.3: the RSDP.
    enum RSDPField {
        static let checksummedV1 = 20            // ACPI 1.0 checksum covers bytes 0..<20
        static let revision = 15
        static let rsdtAddress = 16              // u32
        static let length = 20                   // u32, revision ≥ 2
        static let xsdtAddress = 24              // u64, revision ≥ 2
        static let sizeV2 = 36
    }

    // ACPI 6.5 §5.2.6, table 5.4: the header every system description table starts with.
    enum Header {
        static let signature = 0                 // u32, four ASCII characters
        static let length = 4                    // u32, header included
        static let size = 36
    }

    // ACPI 6.5 §5.2.9, table 5.9: the FADT fields read here (offsets from the table's start).
    enum FADTField {
        static let dsdt = 40                     // u32
        static let pm1aControlBlock = 64         // u32, system I/O port
        static let pm1bControlBlock = 68         // u32, 0: none
        static let xDSDT = 140                   // u64, ACPI 2.0+; wins over `dsdt` when non-zero
        static let xPM1aControlBlock = 172       // Generic Address Structure (12 bytes)
        static let xPM1bControlBlock = 184       // Generic Address Structure (12 bytes)
    }

    // ACPI 6.5 §5.2.3.2, table 5.1: the Generic Address Structure.
    enum GAS {
        static let addressSpace = 0
        static let address = 4                   // u64
        static let size = 12
        static let systemIO: UInt8 = 1
    }

    // ACPI 6.5 §4.8.3.2.1, table 4.13: PM1 control register bits.
    static let sleepTypeShift: UInt16 = 10       // SLP_TYPx, bits 10–12
    static let sleepTypeMask: UInt16 = 0x7 << 10
    static let sleepEnable: UInt16 = 1 << 13     // SLP_EN, write-only

    /// "RSD PTR " read as a little-endian u64; table signatures likewise as u32 (see `tag`).
    static let rsdpSignature: UInt64 = 0x2052_5450_2044_5352

    /// A four-character table signature as the little-endian u32 it is stored as.
    static func tag(_ text: StaticString) -> UInt32 {
        precondition(text.utf8CodeUnitCount == 4, "ACPI signatures have four characters")
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(text.utf8Start[index]) << (8 * index) }
        return value
    }

    // MARK: RSDP

    /// The root table the RSDP names: the XSDT (8-byte entries) when the RSDP is revision ≥ 2 and
    /// gives one, else the RSDT (4-byte entries).
    public struct RootPointer: Equatable, Sendable {
        public var address: UInt64
        public var entrySize: Int
    }

    /// Parses an RSDP (§5.2.5.3): signature, the ACPI 1.0 checksum over 20 bytes and, from
    /// revision 2 on, the extended checksum over `Length` bytes (those must all be in `bytes`).
    public static func parseRSDP(_ bytes: UnsafeRawBufferPointer) throws(ACPIError) -> RootPointer {
        guard bytes.count >= RSDPField.checksummedV1,
              bytes.loadLittleEndian(UInt64.self, at: 0) == rsdpSignature else { throw .noRSDP }
        guard checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<RSDPField.checksummedV1])) == 0 else {
            throw .noRSDP
        }
        if bytes[RSDPField.revision] >= 2, bytes.count >= RSDPField.sizeV2 {
            let length = Int(bytes.loadLittleEndian(UInt32.self, at: RSDPField.length))
            if length >= RSDPField.sizeV2, length <= bytes.count,
               checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<length])) == 0 {
                let xsdt = bytes.loadLittleEndian(UInt64.self, at: RSDPField.xsdtAddress)
                if xsdt != 0 { return RootPointer(address: xsdt, entrySize: 8) }
            }
        }
        let rsdt = UInt64(bytes.loadLittleEndian(UInt32.self, at: RSDPField.rsdtAddress))
        guard rsdt != 0 else { throw .noRSDP }
        return RootPointer(address: rsdt, entrySize: 4)
    }

    /// The offset of the first valid RSDP in `area` on a 16-byte boundary (§5.2.5.1), if any.
    public static func findRSDP(in area: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset + RSDPField.checksummedV1 <= area.count {
            // The extended structure may run past a short area: parse what is there.
            let end = min(offset + RSDPField.sizeV2, area.count)
            if (try? parseRSDP(UnsafeRawBufferPointer(rebasing: area[offset..<end]))) != nil { return offset }
            offset += 16
        }
        return nil
    }

    /// Where the RSDP is (§5.2.5.1): the first KiB of the EBDA (whose segment the BIOS data area
    /// holds at 0x40E; pass nil when that word cannot be read), then 0xE0000–0xFFFFF.
    public static func locateRSDP(memory: PhysicalMemory, ebdaSegment: UInt16?) -> UInt64? {
        func search(_ start: UInt64, _ count: Int) -> UInt64? {
            guard let area = memory.bytes(at: start, count: count), let offset = findRSDP(in: area) else { return nil }
            return start + UInt64(offset)
        }
        if let segment = ebdaSegment, segment != 0, let found = search(UInt64(segment) << 4, 1024) { return found }
        return search(0xE_0000, 0x2_0000)
    }

    // MARK: System description tables

    /// The whole table at `address` after checking its signature, length and checksum (§5.2.6).
    public static func table(at address: UInt64, signature: UInt32?, memory: PhysicalMemory)
        throws(ACPIError) -> UnsafeRawBufferPointer {
        guard let header = memory.bytes(at: address, count: Header.size) else { throw .unreadable(address: address) }
        if let signature, header.loadLittleEndian(UInt32.self, at: Header.signature) != signature {
            throw .wrongSignature(address: address)
        }
        let length = Int(header.loadLittleEndian(UInt32.self, at: Header.length))
        guard length >= Header.size, length <= maxTableLength else { throw .badLength(address: address) }
        guard let bytes = memory.bytes(at: address, count: length) else { throw .unreadable(address: address) }
        guard checksum(bytes) == 0 else { throw .badChecksum(address: address) }
        return bytes
    }

    /// The FADT's address among the root table's entries (bad entries are skipped).
    public static func findFADT(root: RootPointer, memory: PhysicalMemory) throws(ACPIError) -> UInt64 {
        let bytes = try table(at: root.address, signature: tag(root.entrySize == 8 ? "XSDT" : "RSDT"), memory: memory)
        let count = min((bytes.count - Header.size) / root.entrySize, maxRootEntries)
        for index in 0..<count {
            let offset = Header.size + index * root.entrySize
            // In bounds: `count` whole entries follow the header.
            let address = root.entrySize == 8 ? bytes.loadLittleEndian(UInt64.self, at: offset)
                : UInt64(bytes.loadLittleEndian(UInt32.self, at: offset))
            guard let header = memory.bytes(at: address, count: Header.size),
                  header.loadLittleEndian(UInt32.self, at: Header.signature) == tag("FACP") else { continue }
            return address
        }
        throw .noFADT
    }

    /// What the FADT says about power-off.
    public struct FADT: Equatable, Sendable {
        public var pm1aControl: UInt16
        public var pm1bControl: UInt16
        public var dsdt: UInt64
    }

    /// Reads PM1a/PM1b_CNT_BLK and the DSDT address from a checked FADT. The X_ fields win when
    /// the table is long enough to hold them and they are set; a PM1 block given as a Generic
    /// Address Structure must be in system I/O space below 64 KiB.
    public static func parseFADT(_ bytes: UnsafeRawBufferPointer) throws(ACPIError) -> FADT {
        func u32(_ offset: Int) -> UInt64 {
            offset + 4 <= bytes.count ? UInt64(bytes.loadLittleEndian(UInt32.self, at: offset)) : 0
        }
        func u64(_ offset: Int) -> UInt64 {
            offset + 8 <= bytes.count ? bytes.loadLittleEndian(UInt64.self, at: offset) : 0
        }
        /// The I/O port of a PM1 block: the GAS when usable, else the 32-bit field; nil: none.
        func port(legacy: Int, extended: Int) -> UInt16? {
            if extended + GAS.size <= bytes.count {
                let address = u64(extended + GAS.address)
                if address != 0, bytes[extended + GAS.addressSpace] == GAS.systemIO, address <= 0xFFFF {
                    return UInt16(address)
                }
            }
            let address = u32(legacy)
            return address != 0 && address <= 0xFFFF ? UInt16(address) : nil
        }
        guard let pm1a = port(legacy: FADTField.pm1aControlBlock, extended: FADTField.xPM1aControlBlock) else {
            throw .noPM1aControl
        }
        let pm1b = port(legacy: FADTField.pm1bControlBlock, extended: FADTField.xPM1bControlBlock) ?? 0
        let xDSDT = u64(FADTField.xDSDT)
        let dsdt = xDSDT != 0 ? xDSDT : u32(FADTField.dsdt)
        guard dsdt != 0 else { throw .noDSDT }
        return FADT(pm1aControl: pm1a, pm1bControl: pm1b, dsdt: dsdt)
    }

    // MARK: AML

    // ACPI 6.5 §20.2: the few AML encodings `Name (_S5_, Package (n) { … })` uses.
    enum AML {
        static let nameOp: UInt8 = 0x08
        static let rootChar: UInt8 = 0x5C         // '\'
        static let packageOp: UInt8 = 0x12
        static let zeroOp: UInt8 = 0x00, oneOp: UInt8 = 0x01, onesOp: UInt8 = 0xFF
        static let bytePrefix: UInt8 = 0x0A, wordPrefix: UInt8 = 0x0B
        static let dwordPrefix: UInt8 = 0x0C, qwordPrefix: UInt8 = 0x0E
        static let s5Name: UInt32 = 0x5F35_535F      // "_S5_", little-endian
    }

    /// Decodes a PkgLength at `offset` (§20.2.4): bits 7–6 of the lead byte count the bytes that
    /// follow (0–3); with none, bits 5–0 are the length; else bits 3–0 are its low nibble and each
    /// following byte adds 8 bits above. The length counts the PkgLength bytes themselves.
    /// Returns the length and the PkgLength's size, or nil when truncated or malformed.
    static func packageLength(in aml: UnsafeRawBufferPointer, at offset: Int) -> (length: Int, size: Int)? {
        guard offset >= 0, offset < aml.count else { return nil }
        let lead = aml[offset]
        let following = Int(lead >> 6)
        if following == 0 { return (Int(lead & 0x3F), 1) }
        // Bits 5–4 must be zero in the multi-byte form.
        guard lead & 0x30 == 0, offset + following < aml.count else { return nil }
        var length = Int(lead & 0x0F)
        for index in 1...following {
            // In bounds: offset + following < aml.count was checked above.
            length |= Int(aml[offset + index]) << (4 + 8 * (index - 1))
        }
        return (length, 1 + following)
    }

    /// Decodes a constant integer term at `offset` that must end by `end` (§20.2.3 ComputationalData,
    /// ConstObj). Returns its value and size, or nil for anything else.
    static func integer(in aml: UnsafeRawBufferPointer, at offset: Int, end: Int) -> (value: UInt64, size: Int)? {
        guard offset >= 0, offset < end, end <= aml.count else { return nil }
        func little(_ count: Int) -> (UInt64, Int)? {
            guard offset + 1 + count <= end else { return nil }
            var value: UInt64 = 0
            // In bounds: offset + 1 + count <= end <= aml.count.
            for index in 0..<count { value |= UInt64(aml[offset + 1 + index]) << (8 * index) }
            return (value, 1 + count)
        }
        switch aml[offset] {
        case AML.zeroOp: return (0, 1)
        case AML.oneOp: return (1, 1)
        case AML.onesOp: return (UInt64.max, 1)
        case AML.bytePrefix: return little(1)
        case AML.wordPrefix: return little(2)
        case AML.dwordPrefix: return little(4)
        case AML.qwordPrefix: return little(8)
        default: return nil
        }
    }

    /// The S5 sleep type values from a DSDT or SSDT's AML: the first `_S5_` that a NameOp (with
    /// or without a root prefix) defines as a Package of at least two constant integers, each a
    /// 3-bit SLP_TYP value. Occurrences that do not match (a reference in a method body, a
    /// truncated package) are skipped.
    public static func sleepTypesForS5(inAML aml: UnsafeRawBufferPointer) -> (a: UInt8, b: UInt8)? {
        var position = 0
        while position + 4 <= aml.count {
            defer { position += 1 }
            // In bounds: position + 4 <= aml.count.
            guard aml[position] == 0x5F, aml.loadLittleEndian(UInt32.self, at: position) == AML.s5Name else { continue }
            // `Name (_S5_, …)` is NameOp NameString; the NameString may start with '\'.
            var before = position - 1
            if before >= 0 && aml[before] == AML.rootChar { before -= 1 }
            guard before >= 0, aml[before] == AML.nameOp else { continue }
            if let types = s5Package(in: aml, at: position + 4) { return types }
        }
        return nil
    }

    private static func s5Package(in aml: UnsafeRawBufferPointer, at start: Int) -> (a: UInt8, b: UInt8)? {
        guard start < aml.count, aml[start] == AML.packageOp,
              let (length, lengthSize) = packageLength(in: aml, at: start + 1) else { return nil }
        // The package runs from its PkgLength to start + 1 + length; all of it must be present.
        let end = start + 1 + length
        guard length >= lengthSize + 1, end <= aml.count else { return nil }
        let countOffset = start + 1 + lengthSize
        guard aml[countOffset] >= 2 else { return nil }
        guard let first = integer(in: aml, at: countOffset + 1, end: end),
              let second = integer(in: aml, at: countOffset + 1 + first.size, end: end),
              first.value <= 7, second.value <= 7 else { return nil }
        return (UInt8(first.value), UInt8(second.value))
    }

    // MARK: The whole walk

    /// RSDP → RSDT/XSDT → FADT → DSDT → `_S5_`: everything needed to enter S5.
    public static func sleepControl(rsdpAddress: UInt64, memory: PhysicalMemory) throws(ACPIError) -> ACPISleepControl {
        guard let rsdp = memory.bytes(at: rsdpAddress, count: RSDPField.checksummedV1) else {
            throw .unreadable(address: rsdpAddress)
        }
        // The revision-2 structure is read whole only when it is readable.
        let full = memory.bytes(at: rsdpAddress, count: RSDPField.sizeV2) ?? rsdp
        let root = try parseRSDP(full)
        let fadtAddress = try findFADT(root: root, memory: memory)
        let fadt = try parseFADT(try table(at: fadtAddress, signature: tag("FACP"), memory: memory))
        let dsdt = try table(at: fadt.dsdt, signature: tag("DSDT"), memory: memory)
        guard let types = sleepTypesForS5(inAML: UnsafeRawBufferPointer(rebasing: dsdt[Header.size...])) else {
            throw .noS5
        }
        return ACPISleepControl(pm1aControl: fadt.pm1aControl, pm1bControl: fadt.pm1bControl,
                                sleepTypeA: types.a, sleepTypeB: types.b)
    }

    /// The PM1 control value that enters a sleep state: `current` with SLP_TYP replaced by
    /// `sleepType` and SLP_EN set when `enable` (§7.4.2: write SLP_TYP first, then SLP_EN).
    public static func pm1Control(current: UInt16, sleepType: UInt8, enable: Bool) -> UInt16 {
        let kept = current & ~(sleepTypeMask | sleepEnable)
        return kept | (UInt16(sleepType & 0x7) << sleepTypeShift) | (enable ? sleepEnable : 0)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return sum
    }
}

#if os(none)
import SkiffKernelC

extension ACPI {
    /// The PM1 ports and S5 values from the firmware's tables: through `rsdpAddress` when the
    /// loader gave it (PVH's rsdp_paddr), else where §5.2.5.1 says to search.
    static func firmwareSleepControl(rsdpAddress given: UInt64?) throws(ACPIError) -> ACPISleepControl {
        // Tables lie below 4 GiB, in the identity map; address 0 means "absent".
        let memory = PhysicalMemory(range: 1..<Paging.mappedLimit, virtualBase: 1)
        guard let rsdp = given ?? locateRSDP(memory: memory, ebdaSegment: biosEBDASegment) else { throw .noRSDP }
        return try sleepControl(rsdpAddress: rsdp, memory: memory)
    }

    /// Enters S5 (§7.4.2, §16.1.7: SLP_TYPx into both control registers, then SLP_EN). Returns
    /// only if the machine is still running afterwards.
    static func enterS5(_ control: ACPISleepControl) {
        let a = skiff_inw(control.pm1aControl)
        skiff_outw(control.pm1aControl, pm1Control(current: a, sleepType: control.sleepTypeA, enable: false))
        if control.pm1bControl != 0 {
            let b = skiff_inw(control.pm1bControl)
            skiff_outw(control.pm1bControl, pm1Control(current: b, sleepType: control.sleepTypeB, enable: false))
            skiff_outw(control.pm1bControl, pm1Control(current: b, sleepType: control.sleepTypeB, enable: true))
        }
        skiff_outw(control.pm1aControl, pm1Control(current: a, sleepType: control.sleepTypeA, enable: true))
    }

    /// The EBDA segment the BIOS data area holds at physical 0x40E, or nil when page 0 is not
    /// mapped (Paging unmaps it once the boot information has been copied).
    private static var biosEBDASegment: UInt16? {
        guard pageZeroMapped, let word = UnsafePointer<UInt16>(bitPattern: UInt(0x40E)) else { return nil }
        // In bounds: page 0 is mapped (checked just above).
        return UInt16(littleEndian: UnsafeRawPointer(word).loadUnaligned(as: UInt16.self))
    }

    /// Walks entry 0 of each paging level (Intel SDM Vol. 3A §4.5) for virtual address 0.
    private static var pageZeroMapped: Bool {
        func entry0(_ table: UInt64) -> UInt64 {
            // In bounds: page tables are whole pages inside the identity map below 4 GiB.
            UnsafePointer<UInt64>(bitPattern: UInt(table & Paging.addressMask))!.pointee
        }
        let pml4e = entry0(skiff_read_cr3())
        guard pml4e & Paging.present != 0 else { return false }
        let pdpte = entry0(pml4e)
        guard pdpte & Paging.present != 0 else { return false }
        if pdpte & Paging.largePage != 0 { return true }
        let pde = entry0(pdpte)
        guard pde & Paging.present != 0 else { return false }
        if pde & Paging.largePage != 0 { return true }
        return entry0(pde) & Paging.present != 0
    }
}
#endif
