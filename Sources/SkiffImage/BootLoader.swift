import SkiffBootLoader

/// Skiff's BIOS boot loader (Sources/SkiffBootLoader/BootLoader.S), as bytes, and its MBR's
/// parameter block, which the image writers fill in:
///
/// | MBR offset | size | field |
/// |---|---|---|
/// | 0x1A0 | 16 | INT 13h disk address packet that loads stage 2: sectors at +2, LBA at +8 (512-byte sectors) |
/// | 0x1B0 | 4 | the image header's LBA, in the medium's sectors |
/// | 0x1B4 | 2 | the medium's sector size: 512 (disk) or 2048 (CD) |
/// | 0x1B6 | 1 | flags: bit 0, the BIOS already loaded stage 2 right after the MBR (El Torito) |
/// | 0x1B7 | 1 | the boot drive (written by the MBR at run time) |
public enum BootLoader {
    public static let sectorSize = 512

    enum Parameter {
        static let stage2Sectors = 0x1A2
        static let stage2LBA = 0x1A8
        static let headerLBA = 0x1B0
        static let mediumSectorSize = 0x1B4
        static let flags = 0x1B6
        static let stage2Preloaded: UInt8 = 1
    }

    /// Offsets in the MBR (after the parameter block): the disk signature, the partition table
    /// (four 16-byte entries) and the boot signature 0x55 0xAA.
    public static let diskSignatureOffset = 0x1B8
    public static let partitionTableOffset = 0x1BE
    public static let stage2Magic = Array("SKB2".utf8)

    /// The MBR as assembled: 512 bytes, parameter block zero, partition table empty.
    public static func mbrTemplate() throws(ImageError) -> [UInt8] {
        let blob = skiff_boot_loader_mbr()
        guard let bytes = blob.bytes, blob.count == sectorSize else { throw .noBootLoader }
        // In bounds: the blob is the `count` bytes between two labels of BootLoader.S.
        return Array(UnsafeBufferPointer(start: bytes, count: blob.count))
    }

    /// Stage 2, a whole number of 512-byte sectors (the assembler pads it).
    public static func stage2() throws(ImageError) -> [UInt8] {
        let blob = skiff_boot_loader_stage2()
        guard let bytes = blob.bytes, blob.count > 0 else { throw .noBootLoader }
        // In bounds: the blob is the `count` bytes between two labels of BootLoader.S.
        var stage2 = Array(UnsafeBufferPointer(start: bytes, count: blob.count))
        stage2 += [UInt8](repeating: 0, count: roundUp(stage2.count, to: sectorSize) - stage2.count)
        return stage2
    }

    /// The MBR with its parameter block filled in.
    /// - stage2LBA, stage2Sectors: where stage 2 is, in 512-byte sectors (disks; unused on CDs).
    /// - headerLBA: the image header, in `mediumSectorSize` units.
    /// - stage2Preloaded: the BIOS loads stage 2 with the MBR (an El Torito boot image).
    public static func mbr(stage2LBA: UInt64, stage2Sectors: UInt16, headerLBA: UInt32, mediumSectorSize: UInt16,
                           stage2Preloaded: Bool) throws(ImageError) -> [UInt8] {
        var mbr = try mbrTemplate()
        mbr.setLittleEndian(stage2Sectors, at: Parameter.stage2Sectors)
        mbr.setLittleEndian(stage2LBA, at: Parameter.stage2LBA)
        mbr.setLittleEndian(headerLBA, at: Parameter.headerLBA)
        mbr.setLittleEndian(mediumSectorSize, at: Parameter.mediumSectorSize)
        mbr[Parameter.flags] = stage2Preloaded ? Parameter.stage2Preloaded : 0
        return mbr
    }
}

/// One MBR partition table entry (16 bytes at 0x1BE + 16 × index).
public struct PartitionEntry: Equatable, Sendable {
    /// 0xDA: "non-file-system data", what the Skiff payload (header, kernel, modules) is.
    public static let skiffType: UInt8 = 0xDA

    public var bootable: Bool
    public var type: UInt8
    public var firstLBA: UInt32
    public var sectorCount: UInt32

    public init(bootable: Bool, type: UInt8, firstLBA: UInt32, sectorCount: UInt32) {
        self.bootable = bootable
        self.type = type
        self.firstLBA = firstLBA
        self.sectorCount = sectorCount
    }

    /// CHS for `lba` in the 255-head, 63-sector geometry: head, sector | cylinder bits 8–9 << 6,
    /// cylinder bits 0–7. Beyond cylinder 1023 the conventional 1023/254/63 (0xFE 0xFF 0xFF).
    static func chs(_ lba: UInt32) -> [UInt8] {
        let heads: UInt32 = 255, sectors: UInt32 = 63
        let cylinder = lba / (heads * sectors)
        guard cylinder <= 1023 else { return [0xFE, 0xFF, 0xFF] }
        let head = (lba / sectors) % heads
        let sector = lba % sectors + 1
        return [UInt8(head), UInt8(sector | (cylinder >> 8) << 6), UInt8(truncatingIfNeeded: cylinder)]
    }

    public func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = bootable ? 0x80 : 0x00
        bytes.replaceSubrange(1..<4, with: Self.chs(firstLBA))
        bytes[4] = type
        bytes.replaceSubrange(5..<8, with: Self.chs(firstLBA + sectorCount - 1))
        bytes.setLittleEndian(firstLBA, at: 8)
        bytes.setLittleEndian(sectorCount, at: 12)
        return bytes
    }
}
