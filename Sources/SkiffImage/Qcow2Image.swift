import Foundation

/// QEMU's qcow2, version 3 (docs/interop/qcow2.txt), written from a raw disk: 64 KiB clusters,
/// 16-bit refcounts (refcount_order 4), every cluster's refcount 1 (so L1 and L2 entries carry
/// QCOW_OFLAG_COPIED), only the non-zero clusters allocated.
///
/// | cluster | what |
/// |---|---|
/// | 0 | header (104 bytes) and the header extension end marker |
/// | 1 | refcount table (8192 entries: up to 16 TiB of image file) |
/// | 2 … | refcount blocks (32768 clusters each) |
/// | … | L1 table (one entry per 512 MiB of disk) |
/// | … | the L2 tables that map any data (8192 entries each) |
/// | … | the non-zero data clusters, in disk order |
public enum Qcow2Image {
    public static let magic: UInt32 = 0x5146_49FB  // "QFI\xfb"
    public static let clusterBits = 16
    public static let clusterSize = 1 << clusterBits
    public static let refcountOrder = 4
    public static let headerLength = 104
    /// Bit 63 of L1/L2 entries: the refcount is exactly one (qcow2.txt "QCOW_OFLAG_COPIED").
    public static let copied: UInt64 = 1 << 63
    static let l2Entries = clusterSize / 8
    static let refcountsPerBlock = clusterSize * 8 / (1 << refcountOrder)

    /// The version 3 header (qcow2.txt "Header"), big-endian.
    public struct Header: Equatable, Sendable {
        public var size: UInt64
        public var l1Size: UInt32
        public var l1TableOffset: UInt64
        public var refcountTableOffset: UInt64
        public var refcountTableClusters: UInt32

        /// The header, then the header extension end marker (type 0, length 0).
        public func encode() -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: headerLength + 8)
            bytes.setBigEndian(magic, at: 0)
            bytes.setBigEndian(UInt32(3), at: 4)                      // version
            bytes.setBigEndian(UInt64(0), at: 8)                      // backing_file_offset
            bytes.setBigEndian(UInt32(0), at: 16)                     // backing_file_size
            bytes.setBigEndian(UInt32(clusterBits), at: 20)
            bytes.setBigEndian(size, at: 24)
            bytes.setBigEndian(UInt32(0), at: 32)                     // crypt_method
            bytes.setBigEndian(l1Size, at: 36)
            bytes.setBigEndian(l1TableOffset, at: 40)
            bytes.setBigEndian(refcountTableOffset, at: 48)
            bytes.setBigEndian(refcountTableClusters, at: 56)
            bytes.setBigEndian(UInt32(0), at: 60)                     // nb_snapshots
            bytes.setBigEndian(UInt64(0), at: 64)                     // snapshots_offset
            // 72 incompatible, 80 compatible, 88 autoclear features: none.
            bytes.setBigEndian(UInt32(refcountOrder), at: 96)
            bytes.setBigEndian(UInt32(headerLength), at: 100)
            return bytes
        }

        public static func parse(_ bytes: [UInt8]) throws(ImageError) -> Header {
            guard bytes.count >= headerLength else { throw .corrupt("qcow2 header is \(bytes.count) bytes, needs \(headerLength)") }
            func u32(_ offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) } }
            func u64(_ offset: Int) -> UInt64 { UInt64(u32(offset)) << 32 | UInt64(u32(offset + 4)) }
            guard u32(0) == magic else { throw .corrupt("no QFI\\xfb magic") }
            guard u32(4) == 3, u32(20) == UInt32(clusterBits), u32(96) == UInt32(refcountOrder) else {
                throw .corrupt("not a version 3, 64 KiB cluster, 16-bit refcount qcow2")
            }
            return Header(size: u64(24), l1Size: u32(36), l1TableOffset: u64(40), refcountTableOffset: u64(48),
                          refcountTableClusters: u32(56))
        }
    }

    /// Converts the raw disk at `rawPath` into a qcow2 image at `path`: one pass to find the
    /// non-zero clusters, one to copy them.
    @discardableResult
    public static func convert(raw rawPath: String, to path: String) throws(ImageError) -> ImageLayout {
        let raw = try RawDiskReader(path: rawPath)
        let allocated = try raw.nonZeroChunks(chunkSize: clusterSize)
        let dataClusters = allocated.filter { $0 }.count
        let l1Size = max(1, (allocated.count + l2Entries - 1) / l2Entries)
        var l2Used = [Bool](repeating: false, count: l1Size)
        for (index, used) in allocated.enumerated() where used { l2Used[index / l2Entries] = true }
        let l2Count = l2Used.filter { $0 }.count
        let l1Clusters = (l1Size * 8 + clusterSize - 1) / clusterSize

        // The refcount blocks count themselves: grow until they cover every cluster.
        var refcountBlocks = 1, total = 0
        while true {
            total = 2 + refcountBlocks + l1Clusters + l2Count + dataClusters
            let needed = (total + refcountsPerBlock - 1) / refcountsPerBlock
            if needed <= refcountBlocks { break }
            refcountBlocks = needed
        }
        guard refcountBlocks <= clusterSize / 8 else { throw .tooLarge("the disk image") }
        let l1Cluster = 2 + refcountBlocks
        let firstL2 = l1Cluster + l1Clusters
        let firstData = firstL2 + l2Count

        let output = try ImageOutput(path: path)
        let progress = ImageProgress(label: (path as NSString).lastPathComponent, total: raw.size)
        try output.write(Header(size: UInt64(raw.size), l1Size: UInt32(l1Size), l1TableOffset: UInt64(l1Cluster << clusterBits),
                                refcountTableOffset: UInt64(clusterSize), refcountTableClusters: 1).encode())
        try output.pad(to: clusterSize)
        var refcountTable = [UInt8](repeating: 0, count: clusterSize)
        for block in 0..<refcountBlocks { refcountTable.setBigEndian(UInt64((2 + block) << clusterBits), at: block * 8) }
        try output.write(refcountTable)
        for block in 0..<refcountBlocks {
            var refcounts = [UInt8](repeating: 0, count: clusterSize)
            for entry in 0..<refcountsPerBlock where block * refcountsPerBlock + entry < total {
                refcounts.setBigEndian(UInt16(1), at: entry * 2)
            }
            try output.write(refcounts)
        }
        var l1 = [UInt8](repeating: 0, count: l1Clusters * clusterSize)
        var nextL2 = firstL2
        for (index, used) in l2Used.enumerated() where used {
            l1.setBigEndian(UInt64(nextL2 << clusterBits) | copied, at: index * 8)
            nextL2 += 1
        }
        try output.write(l1)
        var nextData = firstData
        for (table, used) in l2Used.enumerated() where used {
            var l2 = [UInt8](repeating: 0, count: clusterSize)
            for entry in 0..<l2Entries {
                let cluster = table * l2Entries + entry
                guard cluster < allocated.count, allocated[cluster] else { continue }
                l2.setBigEndian(UInt64(nextData << clusterBits) | copied, at: entry * 8)
                nextData += 1
            }
            try output.write(l2)
        }
        precondition(output.position == firstData << clusterBits, "qcow2 metadata size mismatch")
        for (index, used) in allocated.enumerated() where used {
            try output.write(try raw.read(at: index * clusterSize, count: clusterSize))
            progress.update(index * clusterSize)
        }
        try output.close()
        progress.finish()
        var layout = ImageLayout(sectorSize: clusterSize)
        layout.parts = [
            .init(name: "header", offset: 0, length: headerLength + 8),
            .init(name: "refcount table", offset: clusterSize, length: clusterSize),
            .init(name: "refcount blocks", offset: 2 * clusterSize, length: refcountBlocks * clusterSize),
            .init(name: "L1 table", offset: l1Cluster * clusterSize, length: l1Clusters * clusterSize),
            .init(name: "L2 tables", offset: firstL2 * clusterSize, length: l2Count * clusterSize),
            .init(name: "data clusters (\(dataClusters) of \(allocated.count))", offset: firstData * clusterSize,
                  length: dataClusters * clusterSize),
        ]
        layout.totalBytes = output.position
        return layout
    }
}
