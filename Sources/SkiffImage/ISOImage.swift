import Foundation

/// An ISO 9660 level-1 image with an El Torito no-emulation boot image holding Skiff's MBR and
/// stage 2 back to back (the BIOS loads both to 0x7C00; the MBR then skips its own read).
/// Every sector belongs to a file of the root directory, so the kernel can also be read off the CD.
///
/// | sector (2 KiB) | what |
/// |---|---|
/// | 0–15 | system area (zeros) |
/// | 16 | primary volume descriptor |
/// | 17 | El Torito boot record volume descriptor |
/// | 18 | volume descriptor set terminator |
/// | 19 | boot catalog (BOOT.CAT) |
/// | 20, 21 | path tables, L then M |
/// | 22 … | root directory |
/// | next | SKIFF.HDR: the image header (LBAs in 2 KiB sectors) |
/// | next … | BOOT.IMG: the El Torito boot image (MBR + stage 2) |
/// | next … | KERNEL.ELF |
/// | next … | MODULE1.BIN, MODULE2.BIN, … |
public enum ISOImage {
    public static let sectorSize = ISO9660.sectorSize
    static let catalogSector = 19
    static let lPathTableSector = 20
    static let mPathTableSector = 21
    static let rootSector = 22

    /// The date recorded in the image: SOURCE_DATE_EPOCH when set (reproducible builds), else now.
    public static func buildDate(environment: [String: String] = ProcessInfo.processInfo.environment) -> ISO9660.DateTime {
        let seconds = environment["SOURCE_DATE_EPOCH"].flatMap(TimeInterval.init) ?? Date().timeIntervalSince1970
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                            from: Date(timeIntervalSince1970: seconds))
        return .init(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1,
                     hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0)
    }

    struct File {
        var identifier: [UInt8]
        var sector: Int
        var length: Int
    }

    @discardableResult
    public static func write(_ payload: ImagePayload, to path: String, volumeIdentifier: String,
                             date: ISO9660.DateTime) throws(ImageError) -> ImageLayout {
        let mbrBytes = BootLoader.sectorSize
        let stage2 = try BootLoader.stage2()
        let bootImageLength = mbrBytes + stage2.count
        guard bootImageLength / BootLoader.sectorSize <= Int(UInt16.max) else { throw .tooLarge("the boot image") }
        guard payload.kernel.loadOffset % sectorSize == 0 else {
            throw .notMultiboot("load_addr's file offset \(payload.kernel.loadOffset) is not 2048-byte aligned")
        }

        // The root directory's size depends only on the names, so lay out the files after it.
        var files: [File] = [
            File(identifier: ISO9660.fileIdentifier(name: "BOOT", extension: "CAT"), sector: catalogSector, length: sectorSize),
            File(identifier: ISO9660.fileIdentifier(name: "SKIFF", extension: "HDR"), sector: 0, length: ImageHeader.size),
            File(identifier: ISO9660.fileIdentifier(name: "BOOT", extension: "IMG"), sector: 0, length: bootImageLength),
            File(identifier: ISO9660.fileIdentifier(name: "KERNEL", extension: "ELF"), sector: 0, length: payload.kernelFile.count),
        ]
        for (index, module) in payload.modules.enumerated() {
            files.append(File(identifier: ISO9660.fileIdentifier(name: "MODULE\(index + 1)", extension: "BIN"),
                              sector: 0, length: module.length))
        }
        let placeholderRecords = directoryRecords(files: files, rootSector: 0, rootLength: 0, date: date)
        let rootSectors = directorySectors(placeholderRecords).count / sectorSize
        var next = rootSector + rootSectors
        for index in 1..<files.count {
            files[index].sector = next
            next += roundUp(max(files[index].length, 1), to: sectorSize) / sectorSize
        }
        let totalSectors = next
        guard totalSectors <= Int(UInt32.max) / sectorSize else { throw .tooLarge("the ISO image") }
        let header = files[1], bootImage = files[2], kernel = files[3]
        let modules = Array(files[4...])

        let records = directoryRecords(files: files, rootSector: rootSector, rootLength: rootSectors * sectorSize, date: date)
        let root = directorySectors(records)
        let rootRecord = ISO9660.directoryRecord(identifier: [0], extent: UInt32(rootSector),
                                                 length: UInt32(rootSectors * sectorSize), isDirectory: true, date: date)
        let pathTable = ISO9660.pathTable(rootExtent: UInt32(rootSector), bigEndian: false)
        let volume = ISO9660.PrimaryVolume(
            volumeIdentifier: volumeIdentifier.isEmpty ? "SKIFF" : volumeIdentifier, volumeSpaceSize: UInt32(totalSectors),
            pathTableSize: UInt32(pathTable.count), lPathTable: UInt32(lPathTableSector), mPathTable: UInt32(mPathTableSector),
            rootRecord: rootRecord, date: date)

        let imageHeader = ImageHeader(
            sectorSize: UInt16(sectorSize),
            kernelLBA: UInt32(kernel.sector + payload.kernel.loadOffset / sectorSize),
            kernel: payload.kernel, commandLine: payload.commandLine,
            modules: zip(payload.modules, modules).map { .init(lba: UInt32($1.sector), length: UInt32($0.length), string: $0.string) })
        let mbr = try BootLoader.mbr(stage2LBA: 0, stage2Sectors: 0, headerLBA: UInt32(header.sector),
                                     mediumSectorSize: UInt16(sectorSize), stage2Preloaded: true)

        var layout = ImageLayout(sectorSize: sectorSize)
        func part(_ name: String, _ sector: Int, _ length: Int) {
            layout.parts.append(.init(name: name, offset: sector * sectorSize, length: length))
        }
        part("primary volume descriptor", ISO9660.firstVolumeDescriptor, sectorSize)
        part("El Torito boot record", ISO9660.firstVolumeDescriptor + 1, sectorSize)
        part("terminator", ISO9660.firstVolumeDescriptor + 2, sectorSize)
        part("BOOT.CAT", catalogSector, sectorSize)
        part("L path table", lPathTableSector, pathTable.count)
        part("M path table", mPathTableSector, pathTable.count)
        part("root directory", rootSector, root.count)
        part("SKIFF.HDR", header.sector, header.length)
        part("BOOT.IMG", bootImage.sector, bootImage.length)
        part("KERNEL.ELF", kernel.sector, kernel.length)
        for (index, module) in modules.enumerated() { part("MODULE\(index + 1).BIN", module.sector, module.length) }
        layout.totalBytes = totalSectors * sectorSize

        let output = try ImageOutput(path: path)
        try output.pad(to: ISO9660.firstVolumeDescriptor * sectorSize)
        try output.write(ISO9660.primaryVolumeDescriptor(volume))
        try output.write(ElTorito.bootRecord(catalogSector: UInt32(catalogSector)))
        try output.write(ISO9660.terminator())
        try output.write(ElTorito.catalog(imageSector: UInt32(bootImage.sector),
                                          sectorCount: UInt16(bootImageLength / BootLoader.sectorSize)))
        try output.write(pathTable)
        try output.pad(to: mPathTableSector * sectorSize)
        try output.write(ISO9660.pathTable(rootExtent: UInt32(rootSector), bigEndian: true))
        try output.pad(to: rootSector * sectorSize)
        try output.write(root)
        try output.pad(to: header.sector * sectorSize)
        try output.write(try imageHeader.encode())
        try output.pad(to: bootImage.sector * sectorSize)
        try output.write(mbr)
        try output.write(stage2)
        try output.pad(to: kernel.sector * sectorSize)
        try output.write(payload.kernelFile)
        for (module, file) in zip(payload.modules, modules) {
            try output.pad(to: file.sector * sectorSize)
            try output.copy(module)
        }
        try output.pad(to: totalSectors * sectorSize)
        try output.close()
        return layout
    }

    /// ".", "..", then the files in §9.3 order.
    static func directoryRecords(files: [File], rootSector: Int, rootLength: Int, date: ISO9660.DateTime) -> [[UInt8]] {
        let dot = ISO9660.directoryRecord(identifier: [0], extent: UInt32(rootSector), length: UInt32(rootLength),
                                          isDirectory: true, date: date)
        let dotDot = ISO9660.directoryRecord(identifier: [1], extent: UInt32(rootSector), length: UInt32(rootLength),
                                             isDirectory: true, date: date)
        let sorted = files.sorted { ISO9660.sortKey($0.identifier).lexicographicallyPrecedes(ISO9660.sortKey($1.identifier)) }
        return [dot, dotDot] + sorted.map {
            ISO9660.directoryRecord(identifier: $0.identifier, extent: UInt32($0.sector), length: UInt32($0.length),
                                    isDirectory: false, date: date)
        }
    }

    /// Records packed into whole sectors; none crosses a sector boundary (§6.8.1.1).
    static func directorySectors(_ records: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in records {
            let used = bytes.count % sectorSize
            if used + record.count > sectorSize { bytes += [UInt8](repeating: 0, count: sectorSize - used) }
            bytes += record
        }
        return bytes + [UInt8](repeating: 0, count: roundUp(bytes.count, to: sectorSize) - bytes.count)
    }
}
