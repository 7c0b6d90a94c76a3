/// El Torito bootable CD-ROM format, version 1.0 (Phoenix/IBM, 1995): the boot record volume
/// descriptor and a boot catalog with a validation entry and one initial/default entry.
public enum ElTorito {
    /// §2.0: the boot system identifier, padded with zeros.
    static let bootSystemIdentifier = "EL TORITO SPECIFICATION"

    /// The boot record volume descriptor (§2.0, Figure 7): type 0, "CD001", version 1, the boot
    /// system identifier at 7, and the boot catalog's absolute sector at 0x47.
    public static func bootRecord(catalogSector: UInt32) -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: ISO9660.sectorSize)
        sector[0] = 0
        sector.replaceSubrange(1..<6, with: ISO9660.standardIdentifier)
        sector[6] = 1
        sector.setText(bootSystemIdentifier, at: 7, length: 32, pad: 0)
        sector.setLittleEndian(catalogSector, at: 0x47)
        return sector
    }

    /// The validation entry (§2.1, Figure 2): header ID 1, platform 0 (80x86), the ID string,
    /// a checksum word making the sixteen little-endian words sum to 0, then the key bytes 0x55 0xAA.
    public static func validationEntry(idString: String) -> [UInt8] {
        var entry = [UInt8](repeating: 0, count: 32)
        entry[0] = 1
        entry[1] = 0
        entry.setText(idString, at: 4, length: 24, pad: 0)
        entry[30] = 0x55
        entry[31] = 0xAA
        var sum: UInt16 = 0
        for word in stride(from: 0, to: 32, by: 2) { sum &+= entry.littleEndian16(at: word) }
        entry.setLittleEndian(0 &- sum, at: 28)
        return entry
    }

    /// The initial/default entry (§2.2, Figure 3): bootable (0x88), no emulation (media type 0),
    /// load segment 0 (the BIOS uses 0x7C0), system type 0, `sectorCount` virtual 512-byte sectors
    /// loaded from `imageSector`.
    public static func initialEntry(imageSector: UInt32, sectorCount: UInt16) -> [UInt8] {
        var entry = [UInt8](repeating: 0, count: 32)
        entry[0] = 0x88
        entry[1] = 0
        entry.setLittleEndian(UInt16(0), at: 2)
        entry[4] = 0
        entry.setLittleEndian(sectorCount, at: 6)
        entry.setLittleEndian(imageSector, at: 8)
        return entry
    }

    /// The boot catalog's sector: the validation entry, then the initial/default entry.
    public static func catalog(imageSector: UInt32, sectorCount: UInt16) -> [UInt8] {
        var sector = validationEntry(idString: "SKIFF") + initialEntry(imageSector: imageSector, sectorCount: sectorCount)
        sector += [UInt8](repeating: 0, count: ISO9660.sectorSize - sector.count)
        return sector
    }
}
