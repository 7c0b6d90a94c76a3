import Foundation

/// The raw disk a converter reads: RawImage writes it first, then the VMDK, qcow2, VHD, OVA and
/// GCE writers read it in chunks (the image is never held whole in memory).
final class RawDiskReader {
    let path: String
    let size: Int
    private let handle: FileHandle

    init(path: String) throws(ImageError) {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path, reason: "cannot open it") }
        self.handle = handle
        do {
            size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
    }

    deinit { try? handle.close() }

    /// `count` bytes from `offset`, zero-filled past the end of the file.
    func read(at offset: Int, count: Int) throws(ImageError) -> [UInt8] {
        var bytes = [UInt8]()
        if offset < size {
            do {
                try handle.seek(toOffset: UInt64(offset))
                let data = try handle.read(upToCount: min(count, size - offset)) ?? Data()
                bytes = [UInt8](data)
            } catch {
                throw .unreadable(path: path, reason: error.localizedDescription)
            }
            guard bytes.count == min(count, size - offset) else {
                throw .unreadable(path: path, reason: "it changed size while the image was converted")
            }
        }
        if bytes.count < count { bytes += [UInt8](repeating: 0, count: count - bytes.count) }
        return bytes
    }

    /// Which `chunkSize` chunks hold a non-zero byte (the allocation map of a sparse format).
    func nonZeroChunks(chunkSize: Int) throws(ImageError) -> [Bool] {
        let count = (size + chunkSize - 1) / chunkSize
        var map = [Bool](repeating: false, count: count)
        for index in 0..<count { map[index] = !isAllZero(try read(at: index * chunkSize, count: chunkSize)) }
        return map
    }
}

private let zeroBlock = [UInt8](repeating: 0, count: 1 << 16)

/// True when every byte is zero (memcmp against a zero block: this runs over gigabytes).
func isAllZero(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        zeroBlock.withUnsafeBytes { zeros in
            var offset = 0
            while offset < buffer.count {
                let length = min(zeros.count, buffer.count - offset)
                // In bounds: offset + length <= buffer.count and length <= zeros.count.
                if memcmp(buffer.baseAddress! + offset, zeros.baseAddress!, length) != 0 { return false }
                offset += length
            }
            return true
        }
    }
}

/// Progress of a long image write on stderr (STYLE.md: bytes and rate), at most ~3 lines a
/// second, and only for outputs larger than `threshold`.
final class ImageProgress {
    static let threshold = 8 << 20
    let label: String
    let total: Int
    private let start = Date()
    private var lastReport = Date.distantPast
    private var reported = false

    init(label: String, total: Int) {
        self.label = label
        self.total = total
    }

    func update(_ done: Int, force: Bool = false) {
        guard total >= Self.threshold else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastReport) >= 0.33 else { return }
        lastReport = now
        reported = true
        let seconds = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / seconds / 1_048_576
        let line = String(format: "%@: %d of %d MiB read, %.1f MiB/s\r", label, done >> 20, total >> 20, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard total >= Self.threshold else { return }
        update(total, force: true)
        if reported { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
