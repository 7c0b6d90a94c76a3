import Glibc

// Checks on the files a backend hands to a hypervisor, made before the hypervisor starts so that a
// wrong path or a wrong file gives one clear line instead of the hypervisor's own message.

public enum KernelFile {
    /// The ELF-64 header fields Skiff kernels must have (System V gABI §4 "ELF Header"):
    /// e_ident[EI_MAG0..3] = 7F 'E' 'L' 'F', e_ident[EI_CLASS] = 2 (ELFCLASS64),
    /// e_machine (offset 18, little-endian) = 62 (EM_X86_64).
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    static let classOffset = 4
    static let class64: UInt8 = 2
    static let machineOffset = 18
    static let machineX86_64: UInt16 = 0x3E

    /// Checks that `path` is a readable x86-64 ELF-64 file: what `skiff build` writes.
    public static func check(_ path: String) throws(DeployError) {
        try HostFile.requireRegularFile(path, label: path,
                                        missingHint: " (build a kernel with 'skiff build <app folder>')")
        let header: [UInt8]
        do {
            header = try HostFile.readPrefix(path, count: 64)
        } catch {
            throw .usage("\(path): cannot read: \(error.message)")
        }
        try checkHeader(header, path: path)
    }

    /// The same checks on the first bytes of a file (at least 20 are needed).
    static func checkHeader(_ header: [UInt8], path: String) throws(DeployError) {
        guard header.count >= 4, Array(header[0..<4]) == magic else {
            throw .usage("\(path): not an ELF file (a Skiff kernel is the ELF that 'skiff build' writes)")
        }
        guard header.count >= machineOffset + 2 else {
            throw .usage("\(path): a truncated ELF file (\(header.count) bytes)")
        }
        guard header[classOffset] == class64 else {
            throw .usage("\(path): a 32-bit ELF file; Skiff kernels are ELF-64 for x86-64")
        }
        let machine = UInt16(header[machineOffset]) | UInt16(header[machineOffset + 1]) << 8
        guard machine == machineX86_64 else {
            throw .usage("\(path): an ELF file for machine \(hex(machine)) (\(machineName(machine))), not x86-64 (0x3e)")
        }
    }

    static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case 0x03: return "i386"
        case 0x28: return "ARM"
        case 0xB7: return "AArch64"
        case 0xF3: return "RISC-V"
        case 0x14, 0x15: return "PowerPC"
        case 0x16: return "s390"
        default: return "not x86-64"
        }
    }

    static func hex(_ value: UInt16) -> String {
        "0x" + String(value, radix: 16)
    }
}

/// Small file-system checks with errno text, shared by the backends.
enum HostFile {
    struct Failure: Error {
        var message: String
    }

    /// The text of an errno value, e.g. "No such file or directory".
    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Where a whole read or write stopped: bytes done, and the errno (0: the file ended first).
    struct Shortfall: Error {
        var done: Int
        var code: Int32
    }

    /// `count` bytes at `offset` (pread, again after EINTR and short reads).
    static func readFully(_ fd: Int32, _ count: Int, at offset: UInt64) -> Result<[UInt8], Shortfall> {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            // In bounds: at most count - done bytes at offset done.
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(Shortfall(done: done, code: n < 0 ? errno : 0)) }
            done += n
        }
        return .success(bytes)
    }

    /// All of `bytes`, at `offset` (pwrite) or at the file position (nil: write), again after
    /// EINTR and short writes; nil when all were written.
    static func writeFully(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64? = nil) -> Shortfall? {
        var done = 0
        while done < bytes.count {
            // In bounds: at most bytes.count - done bytes at offset done.
            let n = bytes.withUnsafeBytes { buffer in
                offset.map { pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t($0) + off_t(done)) }
                    ?? Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return Shortfall(done: done, code: n < 0 ? errno : 0) }
            done += n
        }
        return nil
    }

    /// Checks that `path` exists, is not a directory and is readable. `label` starts the message
    /// (the path, or the flag and the path).
    static func requireRegularFile(_ path: String, label: String, missingHint: String = "") throws(DeployError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { throw .usage("\(label): no such file\(missingHint)") }
            throw .usage("\(label): \(errnoText(code))")
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw .usage("\(label): a directory, not a file")
        }
        guard access(path, R_OK) == 0 else {
            throw .usage("\(label): cannot read: \(errnoText(errno))")
        }
    }

    /// Checks that a file can be written at `path` (it may not exist yet: then its directory must
    /// exist and be writable), without creating or changing anything.
    static func requireWritable(_ path: String, label: String) throws(DeployError) {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR {
                throw .usage("\(label): a directory, not a file")
            }
            guard access(path, W_OK) == 0 else {
                throw .usage("\(label): cannot write: \(errnoText(errno))")
            }
            return
        }
        let directory = parentDirectory(of: path)
        guard stat(directory, &info) == 0 else {
            throw .usage("\(label): cannot create: \(directory) does not exist")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw .usage("\(label): cannot create: \(directory) is not a directory")
        }
        guard access(directory, W_OK) == 0 else {
            throw .usage("\(label): cannot create in \(directory): \(errnoText(errno))")
        }
    }

    /// "." for "file", "/" for "/file", "a/b" for "a/b/file".
    static func parentDirectory(of path: String) -> String {
        var components = path.split(separator: "/", omittingEmptySubsequences: false)
        while components.count > 1, components.last == "" { components.removeLast() }
        guard components.count > 1 else { return "." }
        components.removeLast()
        let parent = components.joined(separator: "/")
        return parent.isEmpty ? "/" : parent
    }

    /// Up to `count` bytes from the start of the file.
    static func readPrefix(_ path: String, count: Int) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(message: errnoText(errno)) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            // In bounds: filled < count == bytes.count.
            let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(message: errnoText(errno))
            }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[0..<filled])
    }

    /// Writes `bytes` to a new temporary file (mkstemp under $TMPDIR or /tmp) and returns its path.
    static func writeTemporary(_ bytes: [UInt8], prefix: String) throws(Failure) -> String {
        var directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if directory.isEmpty { directory = "/tmp" }
        var template = Array("\(directory)/\(prefix).XXXXXX".utf8CString)
        // In bounds: mkstemp rewrites the six X's in place inside the NUL-terminated template.
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw Failure(message: "cannot create a temporary file in \(directory): \(errnoText(errno))")
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            // In bounds: offset < bytes.count.
            let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = "cannot write \(path): \(errnoText(errno))"
                unlink(path)
                throw Failure(message: message)
            }
            offset += n
        }
        return path
    }

    /// The whole file as text (invalid UTF-8 repaired); nil if it cannot be read.
    static func readText(_ path: String, limit: Int = 65_536) -> String? {
        guard let bytes = try? readPrefix(path, count: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
