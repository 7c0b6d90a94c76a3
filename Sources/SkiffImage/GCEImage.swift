import Foundation

/// A Google Compute Engine image file: a gzip'd tar holding one member, `disk.raw`, whose size
/// is a multiple of 1 GiB (GCE's requirement for imported raw disks). The padding is zeros, which
/// GzipStream compresses once per 64 KiB and repeats, so the tarball stays a few MB.
public enum GCEImage {
    public static let diskAlignment = 1 << 30

    @discardableResult
    public static func convert(raw rawPath: String, to path: String, date: Date = Date()) throws(ImageError) -> ImageLayout {
        let raw = try RawDiskReader(path: rawPath)
        let diskSize = roundUp(max(raw.size, 1), to: diskAlignment)
        let output = try ImageOutput(path: path)
        let progress = ImageProgress(label: (path as NSString).lastPathComponent, total: diskSize)
        let mtime = Int(date.timeIntervalSince1970)
        var gzip = try GzipStream(mtime: UInt32(clamping: mtime)) { (bytes: [UInt8]) throws(ImageError) in try output.write(bytes) }
        try gzip.write(try Tar.header(name: "disk.raw", size: diskSize, mtime: mtime))
        var offset = 0
        while offset < raw.size {
            let count = min(1 << 20, raw.size - offset)
            try gzip.write(try raw.read(at: offset, count: count))
            offset += count
            progress.update(offset)
        }
        while offset < diskSize {
            let count = min(64 << 20, diskSize - offset)
            try gzip.writeZeros(count)
            offset += count
            progress.update(offset)
        }
        try gzip.writeZeros(Tar.padding(after: diskSize))
        try gzip.write(Tar.end)
        try gzip.finish()
        try output.close()
        progress.finish()
        var layout = ImageLayout(sectorSize: 512)
        layout.parts = [.init(name: "gzip member: tar with disk.raw (\(diskSize) bytes)", offset: 0, length: output.position)]
        layout.totalBytes = output.position
        return layout
    }
}
