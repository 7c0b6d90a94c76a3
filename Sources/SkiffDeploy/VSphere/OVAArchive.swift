import Glibc

// The members of an OVA (DMTF DSP0243 §5.3: a ustar archive, the .ovf descriptor first), found by
// walking the 512-byte headers (POSIX.1-1988 ustar: name 0–99, size 124–135 in octal, typeflag
// 156, magic "ustar" at 257, prefix 345–499). The archive is a file the user names: sizes and
// offsets are checked against the file, the walk is bounded, nothing traps.

public struct OVAArchive: Sendable {
    public struct Member: Equatable, Sendable {
        public var name: String
        /// Where the member's bytes start in the archive.
        public var offset: UInt64
        public var size: UInt64
    }

    public let path: String
    public let members: [Member]

    public static let blockSize: UInt64 = 512

    /// Whether these first bytes are a ustar header ("ustar" at byte 257).
    public static func isTar(_ header: [UInt8]) -> Bool {
        header.count >= 262 && Array(header[257..<262]) == Array("ustar".utf8)
    }

    public init(path: String) throws(DeployError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .usage("\(path): cannot read: \(HostFile.errnoText(errno))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .failure("\(path): \(HostFile.errnoText(errno))") }
        let fileSize = UInt64(info.st_size)
        var found: [Member] = []
        var offset: UInt64 = 0
        var longName: String? = nil
        var ended = false
        while offset + Self.blockSize <= fileSize {
            guard found.count < 1_000 else { throw .usage("\(path): more than 1000 members; not an OVA") }
            let header = try Self.read(descriptor, Self.blockSize, at: offset, path: path)
            if header.allSatisfy({ $0 == 0 }) {  // the end-of-archive blocks
                ended = true
                break
            }
            guard Self.isTar(header) else { throw .usage("\(path): a damaged tar header at byte \(offset) (not an OVA?)") }
            guard Self.checksumMatches(header) else { throw .usage("\(path): the tar header at byte \(offset) has a wrong checksum") }
            guard let size = Self.octal(header[124..<136]) else { throw .usage("\(path): the tar header at byte \(offset) has no valid size") }
            let dataOffset = offset + Self.blockSize
            guard size <= fileSize - dataOffset else {
                throw .usage("\(path): the member at byte \(offset) is \(size) bytes, past the end of the file (a truncated OVA?)")
            }
            let type = header[156]
            var name = Self.string(header[0..<100])
            let prefix = Self.string(header[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
            if let longName {
                name = longName
            }
            longName = nil
            switch type {
            case UInt8(ascii: "L"):
                // A GNU long name: the next member's name is this member's data.
                guard size <= 4096 else { throw .usage("\(path): a long tar name of \(size) bytes") }
                longName = Self.string(try Self.read(descriptor, size, at: dataOffset, path: path)[...])
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                found.append(Member(name: name, offset: dataOffset, size: size))
            default:
                break  // directories, links, pax headers: nothing an OVA needs
            }
            offset = dataOffset + (size + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        }
        guard ended || offset == fileSize else {
            throw .usage("\(path): the archive ends inside a header at byte \(offset) (a truncated OVA?)")
        }
        guard let first = found.first, first.name.hasSuffix(".ovf") else {
            throw .usage("\(path): not an OVA (its first member is \(found.first.map { "'\($0.name)'" } ?? "missing"), not an .ovf descriptor)")
        }
        members = found
    }

    /// The descriptor: the first member (at most 4 MiB).
    public func descriptorText() throws(DeployError) -> String {
        guard let first = members.first else { throw .usage("\(path): no members") }
        guard first.size <= 4 << 20 else { throw .usage("\(path): the OVF descriptor is \(first.size) bytes (more than 4 MiB)") }
        return String(decoding: try bytes(of: first), as: UTF8.self)
    }

    /// The member a descriptor's `ovf:href` names.
    public func member(named href: String) -> Member? {
        members.first { $0.name == href } ?? members.first { $0.name.split(separator: "/").last.map(String.init) == href }
    }

    public func bytes(of member: Member) throws(DeployError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .usage("\(path): cannot read: \(HostFile.errnoText(errno))") }
        defer { close(descriptor) }
        return try Self.read(descriptor, member.size, at: member.offset, path: path)
    }

    /// Copies a member into its own file (to upload it as a body of known length).
    public func extract(_ member: Member, to target: String) throws(DeployError) {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .usage("\(path): cannot read: \(HostFile.errnoText(errno))") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .failure("\(target): cannot create: \(HostFile.errnoText(errno))") }
        defer { close(output) }
        var done: UInt64 = 0
        while done < member.size {
            let chunk = try Self.read(input, min(1 << 20, member.size - done), at: member.offset + done, path: path)
            if let shortfall = HostFile.writeFully(output, chunk) {
                throw .failure("\(target): write failed: \(HostFile.errnoText(shortfall.code))")
            }
            done += UInt64(chunk.count)
        }
    }

    static func read(_ descriptor: Int32, _ count: UInt64, at offset: UInt64, path: String) throws(DeployError) -> [UInt8] {
        switch HostFile.readFully(descriptor, Int(count), at: offset) {
        case .success(let bytes): return bytes
        case .failure(let shortfall): throw .failure("\(path): read failed at byte \(offset + UInt64(shortfall.done))")
        }
    }

    /// NUL-terminated text.
    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal number, space- or NUL-terminated (at most 11 digits: 8 GiB; OVA disks bigger
    /// than that would need the base-256 form, which is refused).
    static func octal(_ field: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in field {
            if byte == 0 || byte == 0x20 {
                if digits > 0 { break }
                continue
            }
            guard byte >= 0x30 && byte <= 0x37, digits < 21 else { return nil }
            value = value << 3 | UInt64(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// The header checksum: the byte sum with the checksum field taken as spaces.
    static func checksumMatches(_ header: [UInt8]) -> Bool {
        guard let stored = octal(header[148..<156]) else { return false }
        var sum: UInt64 = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 0x20 : UInt64(byte) }
        return sum == stored
    }
}
