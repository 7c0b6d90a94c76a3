import Foundation

/// VMware Virtual Disk Format 1.1: the hosted sparse extent, as one file.
///
/// monolithicSparse (version 1):
///
/// | sector | what |
/// |---|---|
/// | 0 | sparse extent header "KDMV" |
/// | 1 … 20 | embedded descriptor (text, NUL-padded) |
/// | 21 … | redundant grain directory, then its grain tables (512 entries, 4 sectors each) |
/// | … | grain directory, then its grain tables |
/// | overHead (a grain multiple) … | the non-zero grains (128 sectors each), in disk order |
///
/// streamOptimized (version 3, compressed grains and markers): header (gdOffset GD_AT_END),
/// descriptor, then from sector 128 each non-zero grain as a grain marker (LBA, size) and a zlib
/// stream padded to a sector; then each grain table after a GT marker, the grain directory after
/// a GD marker, the footer marker and a copy of the header with the real gdOffset, and the
/// end-of-stream marker (a zero sector). Zero grains are never allocated.
public enum VMDKImage {
    public static let sectorSize = 512
    public static let grainSectors = 128
    public static let gtEntries = 512
    public static let descriptorSectors = 20
    /// §"Stream-Optimized Compressed Sparse Extents": the header's gdOffset when the grain
    /// directory's place is given by the footer.
    public static let gdAtEnd: UInt64 = 0xFFFF_FFFF_FFFF_FFFF

    public enum Variant: String, Sendable {
        case monolithicSparse, streamOptimized
    }

    public enum Adapter: String, Sendable {
        case ide, lsilogic
    }

    /// Marker types (§"Stream-Optimized": MARKER_EOS 0, MARKER_GT 1, MARKER_GD 2, MARKER_FOOTER 3).
    public enum MarkerType: UInt32 {
        case endOfStream = 0, grainTable = 1, grainDirectory = 2, footer = 3
    }

    /// The 512-byte SparseExtentHeader (little-endian, packed).
    public struct SparseHeader: Equatable, Sendable {
        public static let magic: UInt32 = 0x564D_444B  // "KDMV" read as a little-endian word
        enum Field {
            static let magic = 0, version = 4, flags = 8, capacity = 12, grainSize = 20, descriptorOffset = 28
            static let descriptorSize = 36, numGTEsPerGT = 44, rgdOffset = 48, gdOffset = 56, overHead = 64
            static let uncleanShutdown = 72, newlineTest = 73, compressAlgorithm = 77
        }
        /// flags: bit 0 valid newline test, bit 1 redundant grain table, bit 16 compressed grains,
        /// bit 17 markers.
        public static let flagNewlineTest: UInt32 = 1, flagRedundantGT: UInt32 = 1 << 1
        public static let flagCompressed: UInt32 = 1 << 16, flagMarkers: UInt32 = 1 << 17
        /// singleEndLineChar '\n', nonEndLineChar ' ', doubleEndLineChar1 '\r', doubleEndLineChar2 '\n'.
        public static let newlineBytes: [UInt8] = [0x0A, 0x20, 0x0D, 0x0A]

        public var version: UInt32
        public var flags: UInt32
        public var capacity: UInt64
        public var grainSize: UInt64 = UInt64(grainSectors)
        public var descriptorOffset: UInt64
        public var descriptorSize: UInt64
        public var numGTEsPerGT: UInt32 = UInt32(gtEntries)
        public var rgdOffset: UInt64
        public var gdOffset: UInt64
        public var overHead: UInt64
        public var compressAlgorithm: UInt16

        public func encode() -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: sectorSize)
            bytes.setLittleEndian(Self.magic, at: Field.magic)
            bytes.setLittleEndian(version, at: Field.version)
            bytes.setLittleEndian(flags, at: Field.flags)
            bytes.setLittleEndian(capacity, at: Field.capacity)
            bytes.setLittleEndian(grainSize, at: Field.grainSize)
            bytes.setLittleEndian(descriptorOffset, at: Field.descriptorOffset)
            bytes.setLittleEndian(descriptorSize, at: Field.descriptorSize)
            bytes.setLittleEndian(numGTEsPerGT, at: Field.numGTEsPerGT)
            bytes.setLittleEndian(rgdOffset, at: Field.rgdOffset)
            bytes.setLittleEndian(gdOffset, at: Field.gdOffset)
            bytes.setLittleEndian(overHead, at: Field.overHead)
            bytes[Field.uncleanShutdown] = 0
            bytes.replaceSubrange(Field.newlineTest..<Field.newlineTest + 4, with: Self.newlineBytes)
            bytes.setLittleEndian(compressAlgorithm, at: Field.compressAlgorithm)
            return bytes
        }

        /// Reads a header back (tests, tools); a short or damaged sector is an error, not a trap.
        public static func parse(_ bytes: [UInt8]) throws(ImageError) -> SparseHeader {
            guard bytes.count >= 79 else { throw .corrupt("VMDK header is \(bytes.count) bytes, needs 79") }
            func u64(_ offset: Int) -> UInt64 { UInt64(bytes.littleEndian32(at: offset)) | UInt64(bytes.littleEndian32(at: offset + 4)) << 32 }
            guard bytes.littleEndian32(at: Field.magic) == magic else { throw .corrupt("no KDMV magic") }
            guard Array(bytes[Field.newlineTest..<Field.newlineTest + 4]) == newlineBytes else {
                throw .corrupt("the newline detection bytes are altered (a text-mode transfer?)")
            }
            let header = SparseHeader(
                version: bytes.littleEndian32(at: Field.version), flags: bytes.littleEndian32(at: Field.flags),
                capacity: u64(Field.capacity), grainSize: u64(Field.grainSize), descriptorOffset: u64(Field.descriptorOffset),
                descriptorSize: u64(Field.descriptorSize), numGTEsPerGT: bytes.littleEndian32(at: Field.numGTEsPerGT),
                rgdOffset: u64(Field.rgdOffset), gdOffset: u64(Field.gdOffset), overHead: u64(Field.overHead),
                compressAlgorithm: bytes.littleEndian16(at: Field.compressAlgorithm))
            guard header.grainSize > 0, header.grainSize & (header.grainSize - 1) == 0, header.numGTEsPerGT > 0 else {
                throw .corrupt("grain size \(header.grainSize) or \(header.numGTEsPerGT) entries per grain table")
            }
            return header
        }
    }

    /// ddb.geometry: 16 heads (IDE) or 255 (LSI Logic SCSI), 63 sectors per track.
    public static func geometry(capacitySectors: UInt64, adapter: Adapter) -> (cylinders: UInt64, heads: UInt64, sectors: UInt64) {
        let heads: UInt64 = adapter == .ide ? 16 : 255, sectors: UInt64 = 63
        let limit: UInt64 = adapter == .ide ? 16383 : 65535
        return (min(max(capacitySectors / (heads * sectors), 1), limit), heads, sectors)
    }

    /// The embedded descriptor file (§"The Descriptor File").
    public static func descriptor(variant: Variant, capacitySectors: UInt64, adapter: Adapter, fileName: String,
                                  cid: UInt32) -> String {
        let geometry = geometry(capacitySectors: capacitySectors, adapter: adapter)
        let hex = String(cid, radix: 16)
        return """
            # Disk DescriptorFile
            version=1
            CID=\(String(repeating: "0", count: 8 - hex.count) + hex)
            parentCID=ffffffff
            createType="\(variant.rawValue)"

            # Extent description
            RW \(capacitySectors) SPARSE "\(fileName)"

            # The Disk Data Base
            #DDB

            ddb.virtualHWVersion = "4"
            ddb.adapterType = "\(adapter.rawValue)"
            ddb.geometry.cylinders = "\(geometry.cylinders)"
            ddb.geometry.heads = "\(geometry.heads)"
            ddb.geometry.sectors = "\(geometry.sectors)"
            ddb.toolsVersion = "2147483647"

            """
    }

    /// A stream marker for metadata: numSectors, size 0, type, padded to a sector.
    static func marker(_ type: MarkerType, sectors: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: sectorSize)
        bytes.setLittleEndian(sectors, at: 0)
        bytes.setLittleEndian(UInt32(0), at: 8)
        bytes.setLittleEndian(type.rawValue, at: 12)
        return bytes
    }

    /// A grain marker (LBA of the grain's first sector, compressed size) with its zlib stream,
    /// padded to a whole sector.
    public static func grainRecord(lba: UInt64, grain: [UInt8]) -> [UInt8] {
        let compressed = Deflate.zlib(grain)
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.setLittleEndian(lba, at: 0)
        bytes.setLittleEndian(UInt32(compressed.count), at: 8)
        bytes += compressed
        bytes += [UInt8](repeating: 0, count: roundUp(bytes.count, to: sectorSize) - bytes.count)
        return bytes
    }

    /// Writes an empty monolithicSparse VMDK of `capacityBytes` (rounded up to whole sectors) at
    /// `path`: header, descriptor, the redundant and the primary grain directory with their grain
    /// tables, all entries zero, and no grains, so the file is small whatever the capacity (a data
    /// disk for `skiff run vmware --disk`). VMware allocates grains as the guest writes.
    @discardableResult
    public static func createEmpty(capacityBytes: UInt64, to path: String, adapter: Adapter = .lsilogic,
                                   cid: UInt32 = UInt32.random(in: 1...UInt32.max)) throws(ImageError) -> ImageLayout {
        let capacity = (capacityBytes + UInt64(sectorSize) - 1) / UInt64(sectorSize)
        let grainCount = Int((capacity + UInt64(grainSectors) - 1) / UInt64(grainSectors))
        let gtCount = max(1, (grainCount + gtEntries - 1) / gtEntries)
        guard capacity > 0, UInt64(gtCount) * UInt64(gtEntries) * UInt64(grainSectors) < UInt64(UInt32.max) else {
            throw .tooLarge("a \(capacityBytes)-byte disk")  // grain table entries are 32-bit sector numbers
        }
        let gtSectors = gtEntries * 4 / sectorSize
        let gdSectors = (gtCount * 4 + sectorSize - 1) / sectorSize
        let fileName = (path as NSString).lastPathComponent
        var text = Array(descriptor(variant: .monolithicSparse, capacitySectors: capacity, adapter: adapter,
                                    fileName: fileName, cid: cid).utf8)
        precondition(text.count <= descriptorSectors * sectorSize, "VMDK descriptor longer than its sectors")
        text += [UInt8](repeating: 0, count: descriptorSectors * sectorSize - text.count)
        let rgdOffset = 1 + descriptorSectors
        let rgtOffset = rgdOffset + gdSectors
        let gdOffset = rgtOffset + gtCount * gtSectors
        let gtOffset = gdOffset + gdSectors
        let overHead = roundUp(gtOffset + gtCount * gtSectors, to: grainSectors)
        func directory(_ firstTable: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: gdSectors * sectorSize)
            for table in 0..<gtCount { bytes.setLittleEndian(UInt32(firstTable + table * gtSectors), at: table * 4) }
            return bytes
        }
        let header = SparseHeader(version: 1, flags: SparseHeader.flagNewlineTest | SparseHeader.flagRedundantGT,
                                  capacity: capacity, descriptorOffset: 1, descriptorSize: UInt64(descriptorSectors),
                                  rgdOffset: UInt64(rgdOffset), gdOffset: UInt64(gdOffset), overHead: UInt64(overHead),
                                  compressAlgorithm: 0)
        let output = try ImageOutput(path: path)
        var layout = ImageLayout(sectorSize: sectorSize)
        try output.write(header.encode())
        try output.write(text)
        try output.write(directory(rgtOffset))
        try output.pad(to: gdOffset * sectorSize)      // the redundant grain tables: all zero
        try output.write(directory(gtOffset))
        try output.pad(to: overHead * sectorSize)      // the grain tables: all zero
        try output.close()
        layout.parts.append(.init(name: "sparse extent header", offset: 0, length: sectorSize))
        layout.parts.append(.init(name: "descriptor", offset: sectorSize, length: text.count))
        layout.parts.append(.init(name: "redundant grain directory and tables", offset: rgdOffset * sectorSize,
                                  length: (gdOffset - rgdOffset) * sectorSize))
        layout.parts.append(.init(name: "grain directory and tables", offset: gdOffset * sectorSize,
                                  length: (overHead - gdOffset) * sectorSize))
        layout.totalBytes = output.position
        return layout
    }

    /// Converts the raw disk at `rawPath` into a VMDK at `path`, chunk by chunk.
    @discardableResult
    /// `extentName`: the file name the descriptor's extent line gives (default: `path`'s).
    public static func convert(raw rawPath: String, to path: String, variant: Variant, adapter: Adapter = .ide,
                               extentName: String? = nil, cid: UInt32 = UInt32.random(in: 1...UInt32.max)) throws(ImageError) -> ImageLayout {
        let raw = try RawDiskReader(path: rawPath)
        guard raw.size % sectorSize == 0 else { throw .tooLarge("a raw disk of \(raw.size) bytes (not whole sectors)") }
        let grainBytes = grainSectors * sectorSize
        let capacity = UInt64(raw.size / sectorSize)
        let grainCount = (raw.size + grainBytes - 1) / grainBytes
        let gtCount = max(1, (grainCount + gtEntries - 1) / gtEntries)
        let gtSectors = gtEntries * 4 / sectorSize
        let gdSectors = (gtCount * 4 + sectorSize - 1) / sectorSize
        guard UInt64(gtCount) * UInt64(gtEntries) * UInt64(grainSectors) < UInt64(UInt32.max) else {
            throw .tooLarge("the disk image")  // grain table entries are 32-bit sector numbers
        }
        let fileName = extentName ?? (path as NSString).lastPathComponent
        var text = Array(descriptor(variant: variant, capacitySectors: capacity, adapter: adapter, fileName: fileName, cid: cid).utf8)
        precondition(text.count <= descriptorSectors * sectorSize, "VMDK descriptor longer than its sectors")
        text += [UInt8](repeating: 0, count: descriptorSectors * sectorSize - text.count)

        let output = try ImageOutput(path: path)
        let progress = ImageProgress(label: fileName, total: raw.size)
        var layout = ImageLayout(sectorSize: sectorSize)
        layout.parts.append(.init(name: "sparse extent header", offset: 0, length: sectorSize))
        layout.parts.append(.init(name: "descriptor", offset: sectorSize, length: text.count))

        switch variant {
        case .monolithicSparse:
            // Which grains hold data decides the grain tables, which precede the grains: one pass to
            // map, one to copy.
            let allocated = try raw.nonZeroChunks(chunkSize: grainBytes)
            let rgdOffset = 1 + descriptorSectors
            let rgtOffset = rgdOffset + gdSectors
            let gdOffset = rgtOffset + gtCount * gtSectors
            let gtOffset = gdOffset + gdSectors
            let overHead = roundUp(gtOffset + gtCount * gtSectors, to: grainSectors)
            var tables = [UInt8](repeating: 0, count: gtCount * gtSectors * sectorSize)
            var next = overHead
            for (index, used) in allocated.enumerated() where used {
                tables.setLittleEndian(UInt32(next), at: index * 4)
                next += grainSectors
            }
            func directory(_ firstTable: Int) -> [UInt8] {
                var bytes = [UInt8](repeating: 0, count: gdSectors * sectorSize)
                for table in 0..<gtCount { bytes.setLittleEndian(UInt32(firstTable + table * gtSectors), at: table * 4) }
                return bytes
            }
            let header = SparseHeader(version: 1, flags: SparseHeader.flagNewlineTest | SparseHeader.flagRedundantGT,
                                      capacity: capacity, descriptorOffset: 1, descriptorSize: UInt64(descriptorSectors),
                                      rgdOffset: UInt64(rgdOffset), gdOffset: UInt64(gdOffset), overHead: UInt64(overHead),
                                      compressAlgorithm: 0)
            try output.write(header.encode())
            try output.write(text)
            try output.write(directory(rgtOffset))
            try output.write(tables)
            try output.write(directory(gtOffset))
            try output.write(tables)
            try output.pad(to: overHead * sectorSize)
            layout.parts.append(.init(name: "redundant grain directory and tables", offset: rgdOffset * sectorSize,
                                      length: (gdOffset - rgdOffset) * sectorSize))
            layout.parts.append(.init(name: "grain directory and tables", offset: gdOffset * sectorSize,
                                      length: (overHead - gdOffset) * sectorSize))
            for (index, used) in allocated.enumerated() where used {
                try output.write(try raw.read(at: index * grainBytes, count: grainBytes))
                progress.update(index * grainBytes)
            }
            layout.parts.append(.init(name: "grains (\(allocated.filter { $0 }.count) of \(grainCount))",
                                      offset: overHead * sectorSize, length: output.position - overHead * sectorSize))

        case .streamOptimized:
            var header = SparseHeader(version: 3, flags: SparseHeader.flagNewlineTest | SparseHeader.flagCompressed | SparseHeader.flagMarkers,
                                      capacity: capacity, descriptorOffset: 1, descriptorSize: UInt64(descriptorSectors),
                                      rgdOffset: 0, gdOffset: gdAtEnd, overHead: UInt64(grainSectors), compressAlgorithm: 1)
            try output.write(header.encode())
            try output.write(text)
            try output.pad(to: grainSectors * sectorSize)
            var tables = [UInt8](repeating: 0, count: gtCount * gtSectors * sectorSize)
            var allocated = 0
            for index in 0..<grainCount {
                let grain = try raw.read(at: index * grainBytes, count: grainBytes)
                progress.update(index * grainBytes)
                guard !isAllZero(grain) else { continue }
                tables.setLittleEndian(UInt32(output.position / sectorSize), at: index * 4)
                try output.write(grainRecord(lba: UInt64(index * grainSectors), grain: grain))
                allocated += 1
            }
            layout.parts.append(.init(name: "compressed grains (\(allocated) of \(grainCount))", offset: grainSectors * sectorSize,
                                      length: output.position - grainSectors * sectorSize))
            var directory = [UInt8](repeating: 0, count: gdSectors * sectorSize)
            let tablesStart = output.position
            for table in 0..<gtCount {
                try output.write(marker(.grainTable, sectors: UInt64(gtSectors)))
                directory.setLittleEndian(UInt32(output.position / sectorSize), at: table * 4)
                let start = table * gtSectors * sectorSize
                try output.write(Array(tables[start..<start + gtSectors * sectorSize]))
            }
            try output.write(marker(.grainDirectory, sectors: UInt64(gdSectors)))
            header.gdOffset = UInt64(output.position / sectorSize)
            try output.write(directory)
            layout.parts.append(.init(name: "grain tables and directory", offset: tablesStart, length: output.position - tablesStart))
            layout.parts.append(.init(name: "footer and end-of-stream marker", offset: output.position, length: 3 * sectorSize))
            try output.write(marker(.footer, sectors: 1))
            try output.write(header.encode())
            try output.write(marker(.endOfStream, sectors: 0))
        }
        try output.close()
        progress.finish()
        layout.totalBytes = output.position
        return layout
    }
}
