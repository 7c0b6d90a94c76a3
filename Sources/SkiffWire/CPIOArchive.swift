// The cpio "newc" format (the Linux initramfs format; cpio(5), "New ASCII Format", and Linux
// Documentation/driver-api/early-userspace/buffer-format.rst):
//
//   header: 110 bytes of ASCII: magic "070701" (or "070702", with a CRC), then 13 fields of
//           8 hex digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
//           rdevmajor, rdevminor, namesize (with the NUL), check
//   name:   namesize bytes, NUL-terminated, padded so that header + name is a multiple of 4
//   data:   filesize bytes, padded to a multiple of 4
//   ... until the entry named "TRAILER!!!".
//
// Every length is checked against the bytes left, so a truncated or hostile archive ends the walk
// with an error instead of a trap.

/// Why a cpio archive could not be read.
public enum CPIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header at `offset` does not start with 070701/070702.
    case badMagic(offset: Int)
    /// A header field that is not 8 hex digits.
    case badHeader(offset: Int)
    /// A name or data running past the end of the archive.
    case truncated(offset: Int)
    /// More entries than `CPIOArchive.entryLimit`.
    case tooManyEntries

    public var description: String {
        switch self {
        case .badMagic(let offset): return "cpio: no newc header (070701) at byte \(offset)"
        case .badHeader(let offset): return "cpio: malformed header at byte \(offset)"
        case .truncated(let offset): return "cpio: the entry at byte \(offset) runs past the end of the archive"
        case .tooManyEntries: return "cpio: more than \(CPIOArchive.entryLimit) entries"
        }
    }
}

/// One file (or directory, link…) of an archive.
public struct CPIOEntry: Equatable, Sendable {
    public var name: String
    public var mode: UInt32
    /// Where the data starts in the archive, and how long it is.
    public var dataOffset: Int
    public var dataLength: Int

    /// A regular file (S_IFREG).
    public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
}

/// A newc archive's table of contents over its bytes.
public struct CPIOArchive: Sendable {
    public static let headerLength = 110
    public static let entryLimit = 100_000
    public let bytes: [UInt8]
    public let entries: [CPIOEntry]

    /// True when `bytes` starts with the newc magic.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { hasMagic($0) }
    }

    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 6 && bytes[0] == 0x30 && bytes[1] == 0x37 && bytes[2] == 0x30
            && bytes[3] == 0x37 && bytes[4] == 0x30 && (bytes[5] == 0x31 || bytes[5] == 0x32)
    }

    /// Reads the entries up to TRAILER!!! (or the end of the bytes, or only zero padding after an
    /// entry: several archives may be concatenated, as in an initramfs).
    public init(_ bytes: [UInt8]) throws(CPIOError) {
        let walked: Result<[CPIOEntry], CPIOError> = bytes.withUnsafeBytes { raw in
            do throws(CPIOError) {
                return .success(try CPIOArchive.entries(in: raw))
            } catch {
                return .failure(error)
            }
        }
        self.bytes = bytes
        self.entries = try walked.get()
    }

    /// The entries of the archive in `bytes`, read in place (no copy: for archives that live as
    /// long as the program, such as assets linked into a kernel). Offsets are from `bytes`' start.
    public static func entries(in bytes: UnsafeRawBufferPointer) throws(CPIOError) -> [CPIOEntry] {
        var entries: [CPIOEntry] = []
        var offset = 0
        while offset < bytes.count {
            // Concatenated archives are separated by zero padding.
            if bytes[offset] == 0 { offset += 1; continue }
            guard entries.count < CPIOArchive.entryLimit else { throw .tooManyEntries }
            guard bytes.count - offset >= CPIOArchive.headerLength else { throw .truncated(offset: offset) }
            guard hasMagic(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 6)])) else {
                throw .badMagic(offset: offset)
            }
            func field(_ number: Int) throws(CPIOError) -> Int {
                var value = 0
                let start = offset + 6 + number * 8
                for index in start..<(start + 8) {
                    let byte = bytes[index]   // in bounds: the 110-byte header was checked above
                    let digit: Int
                    switch byte {
                    case 0x30...0x39: digit = Int(byte - 0x30)
                    case 0x41...0x46: digit = Int(byte - 0x41 + 10)
                    case 0x61...0x66: digit = Int(byte - 0x61 + 10)
                    default: throw .badHeader(offset: offset)
                    }
                    value = value << 4 | digit
                }
                return value
            }
            let mode = try field(1)
            let fileSize = try field(6)
            let nameSize = try field(11)
            guard nameSize >= 1 else { throw .badHeader(offset: offset) }
            let nameStart = offset + CPIOArchive.headerLength
            guard nameSize <= bytes.count - nameStart else { throw .truncated(offset: offset) }
            var nameEnd = nameStart + nameSize - 1   // without the NUL
            if let nul = bytes[nameStart..<(nameStart + nameSize)].firstIndex(of: 0) { nameEnd = nul }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd])
            let dataStart = CPIOArchive.align4(nameStart + nameSize)
            guard dataStart <= bytes.count, fileSize <= bytes.count - dataStart else { throw .truncated(offset: offset) }
            if nameBytes.elementsEqual("TRAILER!!!".utf8) {
                offset = CPIOArchive.align4(dataStart + fileSize)
                continue
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            entries.append(CPIOEntry(name: name, mode: UInt32(truncatingIfNeeded: mode), dataOffset: dataStart, dataLength: fileSize))
            offset = CPIOArchive.align4(dataStart + fileSize)
        }
        return entries
    }

    static func align4(_ value: Int) -> Int { (value + 3) & ~3 }

    /// The entry at `path`, ignoring a leading `./` or `/`; the last one wins (as when unpacked).
    public func entry(at path: String) -> CPIOEntry? {
        let wanted = CPIOArchive.normalize(Array(path.utf8))
        return entries.last { CPIOArchive.normalize(Array($0.name.utf8)) == wanted }
    }

    /// The data of a regular file at `path`.
    public func contents(at path: String) -> [UInt8]? {
        guard let entry = entry(at: path), entry.isRegularFile else { return nil }
        return Array(bytes[entry.dataOffset..<(entry.dataOffset + entry.dataLength)])
    }

    /// `name` without leading `./` and `/` (how an archive path compares and is served).
    public static func normalize(_ name: [UInt8]) -> [UInt8] {
        var start = 0
        while true {
            if name.count - start >= 2 && name[start] == UInt8(ascii: ".") && name[start + 1] == UInt8(ascii: "/") {
                start += 2
            } else if start < name.count && name[start] == UInt8(ascii: "/") {
                start += 1
            } else {
                break
            }
        }
        return Array(name[start...])
    }
}

// MARK: - Writing

extension CPIOArchive {
    /// A regular file's mode: S_IFREG | 0644.
    public static let regularFileMode: UInt32 = 0o100644

    /// A newc archive ("070701", no checksums) of regular files, in the order given, ending with
    /// TRAILER!!!. Names are stored as given (the caller validates them); inode numbers count
    /// from 1, times and owners are 0, so the same files always give the same bytes.
    public static func emit(files: [(name: String, contents: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var inode: UInt32 = 1
        for file in files {
            appendEntry(name: Array(file.name.utf8), mode: regularFileMode, inode: inode, contents: file.contents, to: &out)
            inode += 1
        }
        appendEntry(name: Array("TRAILER!!!".utf8), mode: 0, inode: 0, contents: [], to: &out)
        return out
    }

    /// Appends one entry: a file, a directory (mode 0o040755, no contents) or the trailer.
    public static func appendEntry(name: [UInt8], mode: UInt32, inode: UInt32, contents: [UInt8], to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [0x30, 0x37, 0x30, 0x37, 0x30, 0x31])  // 070701
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
        // namesize (with the NUL), check
        let fields: [UInt32] = [inode, mode, 0, 0, 1, 0, UInt32(contents.count), 0, 0, 0, 0,
                                UInt32(name.count + 1), 0]
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { digits in
            for field in fields {
                var shift: UInt32 = 28
                for _ in 0..<8 {
                    out.append(digits[Int((field >> shift) & 0xF)])
                    shift &-= 4
                }
            }
        }
        out.append(contentsOf: name)
        out.append(0)
        while (out.count - start) % 4 != 0 { out.append(0) }
        out.append(contentsOf: contents)
        while (out.count - start) % 4 != 0 { out.append(0) }
    }
}
