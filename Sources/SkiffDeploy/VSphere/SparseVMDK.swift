import Glibc
import SkiffImage

// ESXi does not run hosted sparse disks (`skiff build --format vmdk` writes monolithicSparse, the
// Workstation/Fusion format): a VM on vSphere needs a disk in ESXi's own format, a text descriptor
// with createType "vmfs" and a flat extent `NAME-flat.vmdk` holding the raw sectors. This reads a
// monolithicSparse extent (VMware Virtual Disk Format 5.0: SparseExtentHeader, grain directory,
// grain tables) into a flat file — sparse on the local disk: unallocated grains stay holes — and
// writes the matching descriptor. The input is a file the user names: every offset is checked
// against the file's size, nothing traps.

public enum SparseVMDK {
    public static let sectorSize: UInt64 = 512
    /// 2 TiB: the largest monolithicSparse extent (32-bit sector offsets in the grain tables).
    public static let maximumCapacitySectors: UInt64 = 1 << 32

    public struct Layout: Equatable, Sendable {
        public var capacitySectors: UInt64
        public var grainSectors: UInt64
        public var entriesPerTable: UInt64
        public var directorySector: UInt64
    }

    /// Reads and checks the 512-byte header (little-endian fields at fixed offsets).
    public static func layout(_ header: [UInt8], fileSize: UInt64, path: String) throws(DeployError) -> Layout {
        func u32(_ offset: Int) -> UInt64 {
            guard offset + 4 <= header.count else { return 0 }
            return UInt64(header[offset]) | UInt64(header[offset + 1]) << 8 | UInt64(header[offset + 2]) << 16 | UInt64(header[offset + 3]) << 24
        }
        func u64(_ offset: Int) -> UInt64 { u32(offset) | u32(offset + 4) << 32 }
        guard header.count >= 80, u32(0) == 0x564D_444B else { throw .usage("\(path): not a sparse VMDK (no KDMV magic)") }
        let version = u32(4), flags = u32(8)
        // flags bit 16: compressed grains (streamOptimized), which this reader does not inflate.
        guard version == 1 || (version <= 3 && flags & (1 << 16) == 0) else {
            throw .usage("\(path): a streamOptimized VMDK (compressed grains); vSphere imports those through OVF (build --format vmdk for monolithicSparse, or boot the ISO)")
        }
        let layout = Layout(capacitySectors: u64(12), grainSectors: u64(20), entriesPerTable: u32(44), directorySector: u64(56))
        guard layout.capacitySectors > 0, layout.capacitySectors <= maximumCapacitySectors else {
            throw .usage("\(path): a capacity of \(layout.capacitySectors) sectors is not usable (1 sector to 2 TiB)")
        }
        guard layout.grainSectors >= 1, layout.grainSectors <= 2048, layout.grainSectors & (layout.grainSectors - 1) == 0,
              layout.entriesPerTable >= 1, layout.entriesPerTable <= 4096 else {
            throw .usage("\(path): a damaged VMDK header (grain size \(layout.grainSectors) sectors, \(layout.entriesPerTable) entries per grain table)")
        }
        guard layout.directorySector > 0, layout.directorySector < fileSize / sectorSize else {
            throw .usage("\(path): a damaged VMDK header (the grain directory at sector \(layout.directorySector) is outside the file)")
        }
        return layout
    }

    /// Writes the disk's sectors to `flatPath` (created, or truncated; its size is the capacity)
    /// and returns the capacity in sectors.
    public static func extractFlat(from path: String, to flatPath: String) throws(DeployError) -> UInt64 {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .usage("\(path): cannot read: \(HostFile.errnoText(errno))") }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw .failure("\(path): \(HostFile.errnoText(errno))") }
        let fileSize = UInt64(info.st_size)

        func read(_ count: UInt64, at offset: UInt64, what: String) throws(DeployError) -> [UInt8] {
            guard offset <= fileSize, count <= fileSize - offset else {
                throw .usage("\(path): a damaged VMDK (the \(what) at byte \(offset) runs past the end of the file)")
            }
            switch HostFile.readFully(input, Int(count), at: offset) {
            case .success(let bytes): return bytes
            case .failure(let shortfall):
                throw .failure("\(path): read failed: \(shortfall.code != 0 ? HostFile.errnoText(shortfall.code) : "unexpected end")")
            }
        }
        func entry(_ bytes: [UInt8], _ index: Int) -> UInt64 {
            let o = index * 4
            return UInt64(bytes[o]) | UInt64(bytes[o + 1]) << 8 | UInt64(bytes[o + 2]) << 16 | UInt64(bytes[o + 3]) << 24
        }

        let layout = try self.layout(try read(sectorSize, at: 0, what: "header"), fileSize: fileSize, path: path)
        let grains = (layout.capacitySectors + layout.grainSectors - 1) / layout.grainSectors
        let tables = (grains + layout.entriesPerTable - 1) / layout.entriesPerTable
        let directory = try read(tables * 4, at: layout.directorySector * sectorSize, what: "grain directory")

        let output = open(flatPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .failure("\(flatPath): cannot create: \(HostFile.errnoText(errno))") }
        defer { close(output) }
        let capacityBytes = layout.capacitySectors * sectorSize
        guard ftruncate(output, off_t(capacityBytes)) == 0 else {
            throw .failure("\(flatPath): cannot make it \(capacityBytes) bytes: \(HostFile.errnoText(errno))")
        }
        let grainBytes = layout.grainSectors * sectorSize
        for table in 0..<Int(tables) {
            let tableSector = entry(directory, table)
            guard tableSector != 0 else { continue }
            let entries = try read(layout.entriesPerTable * 4, at: tableSector * sectorSize, what: "grain table \(table)")
            for index in 0..<Int(layout.entriesPerTable) {
                let grain = UInt64(table) * layout.entriesPerTable + UInt64(index)
                guard grain < grains else { break }
                let sector = entry(entries, index)
                // 0: never written; 1: a zero grain (versions 2 and 3). Both stay holes.
                guard sector > 1 else { continue }
                let start = grain * grainBytes
                let length = min(grainBytes, capacityBytes - start)
                let bytes = try read(length, at: sector * sectorSize, what: "grain \(grain)")
                if bytes.allSatisfy({ $0 == 0 }) { continue }
                if let shortfall = HostFile.writeFully(output, bytes, at: start) {
                    throw .failure("\(flatPath): write failed: \(HostFile.errnoText(shortfall.code))")
                }
            }
        }
        return layout.capacitySectors
    }

    /// The descriptor ESXi writes for a flat disk: createType "vmfs" and one VMFS extent.
    public static func flatDescriptor(capacitySectors: UInt64, flatFileName: String, hardwareVersion: Int) -> String {
        let geometry = VMDKImage.geometry(capacitySectors: capacitySectors, adapter: .lsilogic)
        return """
            # Disk DescriptorFile
            version=1
            encoding="UTF-8"
            CID=fffffffe
            parentCID=ffffffff
            createType="vmfs"

            # Extent description
            RW \(capacitySectors) VMFS "\(flatFileName)"

            # The Disk Data Base
            #DDB

            ddb.adapterType = "lsilogic"
            ddb.geometry.cylinders = "\(geometry.cylinders)"
            ddb.geometry.heads = "\(geometry.heads)"
            ddb.geometry.sectors = "\(geometry.sectors)"
            ddb.virtualHWVersion = "\(hardwareVersion)"

            """
    }
}
