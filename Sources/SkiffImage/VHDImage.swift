import Foundation

/// A fixed VHD (Microsoft "Virtual Hard Disk Image Format Specification" 1.0): the raw disk,
/// zero-padded to a whole MiB (Azure requires it), then the 512-byte hard disk footer.
public enum VHDImage {
    public static let footerSize = 512
    public static let alignment = 1 << 20
    static let cookie = Array("conectix".utf8)
    /// Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC.
    static let epochOffset: TimeInterval = 946_684_800

    /// The footer's disk geometry (spec appendix "CHS Calculation").
    public static func geometry(totalSectors: UInt64) -> (cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
        var total = min(totalSectors, 65535 * 16 * 255)
        var sectorsPerTrack: UInt64, heads: UInt64, cylinderTimesHeads: UInt64
        if total >= 65535 * 16 * 63 {
            sectorsPerTrack = 255
            heads = 16
            cylinderTimesHeads = total / sectorsPerTrack
        } else {
            sectorsPerTrack = 17
            cylinderTimesHeads = total / sectorsPerTrack
            heads = max((cylinderTimesHeads + 1023) / 1024, 4)
            if cylinderTimesHeads >= heads * 1024 || heads > 16 {
                sectorsPerTrack = 31
                heads = 16
                cylinderTimesHeads = total / sectorsPerTrack
            }
            if cylinderTimesHeads >= heads * 1024 {
                sectorsPerTrack = 63
                heads = 16
                cylinderTimesHeads = total / sectorsPerTrack
            }
        }
        total = cylinderTimesHeads / heads
        return (UInt16(total), UInt8(heads), UInt8(sectorsPerTrack))
    }

    /// The hard disk footer (spec "Hard Disk Footer Format"), big-endian.
    public static func footer(size: UInt64, timestamp: UInt32, uniqueID: [UInt8]) -> [UInt8] {
        precondition(uniqueID.count == 16, "a VHD unique ID is 16 bytes")
        var bytes = [UInt8](repeating: 0, count: footerSize)
        bytes.replaceSubrange(0..<8, with: cookie)
        bytes.setBigEndian(UInt32(2), at: 8)                       // features: reserved bit always set
        bytes.setBigEndian(UInt32(0x0001_0000), at: 12)            // file format version 1.0
        bytes.setBigEndian(UInt64.max, at: 16)                     // data offset: none for fixed disks
        bytes.setBigEndian(timestamp, at: 24)
        bytes.replaceSubrange(28..<32, with: Array("skif".utf8))   // creator application
        bytes.setBigEndian(UInt32(0x0001_0000), at: 32)            // creator version
        bytes.replaceSubrange(36..<40, with: Array("Wi2k".utf8))   // creator host OS
        bytes.setBigEndian(size, at: 40)                           // original size
        bytes.setBigEndian(size, at: 48)                           // current size
        let chs = geometry(totalSectors: size / 512)
        bytes.setBigEndian(chs.cylinders, at: 56)
        bytes[58] = chs.heads
        bytes[59] = chs.sectorsPerTrack
        bytes.setBigEndian(UInt32(2), at: 60)                      // disk type: fixed
        bytes.replaceSubrange(68..<84, with: uniqueID)
        bytes[84] = 0                                              // saved state
        bytes.setBigEndian(checksum(bytes), at: 64)
        return bytes
    }

    /// The one's complement of the sum of the footer's bytes, the checksum field taken as zero.
    public static func checksum(_ footer: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        for (index, byte) in footer.enumerated() where !(64..<68).contains(index) { sum &+= UInt32(byte) }
        return ~sum
    }

    /// Checks a footer read back: cookie, checksum, fixed type; returns the current size.
    public static func parseFooter(_ bytes: [UInt8]) throws(ImageError) -> UInt64 {
        guard bytes.count == footerSize else { throw .corrupt("VHD footer is \(bytes.count) bytes, needs 512") }
        guard Array(bytes[0..<8]) == cookie else { throw .corrupt("no conectix cookie") }
        let stored = bytes[64..<68].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == checksum(bytes) else { throw .corrupt("footer checksum mismatch") }
        guard bytes[60..<64].reduce(UInt32(0), { $0 << 8 | UInt32($1) }) == 2 else { throw .corrupt("not a fixed disk") }
        return bytes[48..<56].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    @discardableResult
    public static func convert(raw rawPath: String, to path: String, date: Date = Date()) throws(ImageError) -> ImageLayout {
        let raw = try RawDiskReader(path: rawPath)
        let size = roundUp(max(raw.size, 1), to: alignment)
        let output = try ImageOutput(path: path)
        let progress = ImageProgress(label: (path as NSString).lastPathComponent, total: size)
        var offset = 0
        while offset < raw.size {
            let count = min(1 << 20, raw.size - offset)
            try output.write(try raw.read(at: offset, count: count))
            offset += count
            progress.update(offset)
        }
        try output.pad(to: size)
        let seconds = max(0, date.timeIntervalSince1970 - epochOffset)
        let uuid = UUID().uuid
        let id = [uuid.0, uuid.1, uuid.2, uuid.3, uuid.4, uuid.5, uuid.6, uuid.7, uuid.8, uuid.9, uuid.10, uuid.11,
                  uuid.12, uuid.13, uuid.14, uuid.15]
        try output.write(footer(size: UInt64(size), timestamp: UInt32(clamping: Int(seconds)), uniqueID: id))
        try output.close()
        progress.finish()
        var layout = ImageLayout(sectorSize: 512)
        layout.parts = [.init(name: "disk (raw, padded to 1 MiB)", offset: 0, length: size),
                        .init(name: "hard disk footer", offset: size, length: footerSize)]
        layout.totalBytes = output.position
        return layout
    }
}
