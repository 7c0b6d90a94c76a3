/// A raw disk image that BIOS firmware boots: Skiff's MBR, stage 2, then one partition (type 0xDA,
/// marked active) from 1 MiB holding the image header, the kernel ELF and the modules.
///
/// | LBA (512 B) | what |
/// |---|---|
/// | 0 | MBR: loader code, parameter block, partition table, 0x55AA |
/// | 1 … | stage 2 |
/// | 2048 | partition start: the Skiff image header (4 sectors) |
/// | 2052 … | the kernel ELF (its first byte is load_addr's for Skiff kernels) |
/// | next sector … | each module, from a sector boundary |
/// | end | zero padding to a whole sector |
public enum RawImage {
    public static let sectorSize = 512
    public static let partitionLBA = 2048

    /// Writes the image to `path`, streaming the modules, and returns where each part went.
    @discardableResult
    public static func write(_ payload: ImagePayload, to path: String) throws(ImageError) -> ImageLayout {
        let stage2 = try BootLoader.stage2()
        let stage2Sectors = stage2.count / sectorSize
        precondition(1 + stage2Sectors <= partitionLBA, "stage 2 overlaps the partition")

        var layout = ImageLayout(sectorSize: sectorSize)
        var next = partitionLBA * sectorSize
        func place(_ name: String, _ length: Int) -> Int {
            let offset = next
            layout.parts.append(.init(name: name, offset: offset, length: length))
            next = roundUp(offset + length, to: sectorSize)
            return offset
        }
        let headerOffset = place("image header", ImageHeader.size)
        let kernelOffset = place("kernel", payload.kernelFile.count)
        let moduleOffsets = payload.modules.enumerated().map { place("module \($0.offset + 1): \($0.element.path)", $0.element.length) }
        let total = next
        guard total / sectorSize <= Int(UInt32.max) else { throw .tooLarge("the disk image") }

        // The loaded bytes start loadOffset into the ELF; the loader reads whole sectors from there.
        guard payload.kernel.loadOffset % sectorSize == 0 else {
            throw .notMultiboot("load_addr's file offset \(payload.kernel.loadOffset) is not sector-aligned")
        }
        let header = ImageHeader(
            sectorSize: UInt16(sectorSize),
            kernelLBA: UInt32((kernelOffset + payload.kernel.loadOffset) / sectorSize),
            kernel: payload.kernel, commandLine: payload.commandLine,
            modules: zip(payload.modules, moduleOffsets).map {
                .init(lba: UInt32($1 / sectorSize), length: UInt32($0.length), string: $0.string)
            })

        var mbr = try BootLoader.mbr(stage2LBA: 1, stage2Sectors: UInt16(stage2Sectors),
                                     headerLBA: UInt32(headerOffset / sectorSize), mediumSectorSize: UInt16(sectorSize),
                                     stage2Preloaded: false)
        mbr.replaceSubrange(BootLoader.diskSignatureOffset..<BootLoader.diskSignatureOffset + 4, with: Array("SKIF".utf8))
        let partition = PartitionEntry(bootable: true, type: PartitionEntry.skiffType, firstLBA: UInt32(partitionLBA),
                                       sectorCount: UInt32(total / sectorSize - partitionLBA))
        mbr.replaceSubrange(BootLoader.partitionTableOffset..<BootLoader.partitionTableOffset + 16, with: partition.encode())
        layout.parts.insert(.init(name: "MBR", offset: 0, length: sectorSize), at: 0)
        layout.parts.insert(.init(name: "stage 2", offset: sectorSize, length: stage2.count), at: 1)
        layout.totalBytes = total

        let output = try ImageOutput(path: path)
        try output.write(mbr)
        try output.write(stage2)
        try output.pad(to: headerOffset)
        try output.write(try header.encode())
        try output.pad(to: kernelOffset)
        try output.write(payload.kernelFile)
        for (module, offset) in zip(payload.modules, moduleOffsets) {
            try output.pad(to: offset)
            try output.copy(module)
        }
        try output.pad(to: total)
        try output.close()
        return layout
    }
}
