import Foundation

/// A file a module comes from, and the string the kernel sees for it.
public struct ModuleFile: Equatable, Sendable {
    public var path: String
    public var string: String
    public var length: Int

    /// Checks that the file exists and records its length (the image streams it later).
    public init(path: String, string: String) throws(ImageError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .moduleMissing(path: path) }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "it is a directory") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw .unreadable(path: path, reason: "permission denied") }
        let size: Int
        do {
            size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw .unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        guard size < Int(UInt32.max) - 0x10_0000 else { throw .tooLarge("module \(path)") }
        self.path = path
        self.string = string
        self.length = size
    }

    /// `FILE[ ARGS]` (as `skiff build --module` takes it, like GRUB's `module FILE ARGS`): the
    /// file, and the words after it as the module's string.
    public init(argument: String) throws(ImageError) {
        let trimmed = argument.drop { $0 == " " }
        let path = trimmed.prefix { $0 != " " }
        let string = trimmed.dropFirst(path.count).drop { $0 == " " }
        try self.init(path: String(path), string: String(string))
    }
}

/// What goes into a disk or ISO image besides the boot loader.
public struct ImagePayload: Sendable {
    /// The kernel ELF's bytes.
    public var kernelFile: [UInt8]
    public var kernel: MultibootKernel
    public var commandLine: String
    public var modules: [ModuleFile]

    public init(kernelFile: [UInt8], commandLine: String = "", modules: [ModuleFile] = []) throws(ImageError) {
        try ImageHeader.check(commandLine: commandLine, moduleStrings: modules.map(\.string))
        self.kernelFile = kernelFile
        self.kernel = try MultibootKernel(file: kernelFile)
        self.commandLine = commandLine
        self.modules = modules
    }
}

/// Where a writer put each part, in bytes from the image's start (for the CLI and tests).
public struct ImageLayout: Equatable, Sendable {
    public struct Part: Equatable, Sendable {
        public var name: String
        public var offset: Int
        public var length: Int
    }

    public var sectorSize: Int
    public var parts: [Part] = []
    public var totalBytes = 0

    public func part(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// One line per part: `LBA first-last  name  bytes`.
    public var sectorMap: String {
        parts.map { part in
            let first = part.offset / sectorSize
            let last = (part.offset + max(part.length, 1) - 1) / sectorSize
            return "\(first)-\(last)\t\(part.name)\t\(part.length) bytes"
        }.joined(separator: "\n")
    }
}

/// Sequential output to a file: parts are written in order, with zero padding between them;
/// modules are streamed from their files in 1 MiB chunks.
final class ImageOutput {
    let path: String
    private let handle: FileHandle
    private(set) var position = 0

    init(path: String) throws(ImageError) {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw .writeFailed(path: path, reason: "cannot create the file")
        }
        self.handle = handle
    }

    func write(_ bytes: [UInt8]) throws(ImageError) {
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw .writeFailed(path: path, reason: error.localizedDescription)
        }
        position += bytes.count
    }

    /// Zeros up to `offset`, which must not lie behind the current position.
    func pad(to offset: Int) throws(ImageError) {
        precondition(offset >= position, "image parts written out of order")
        var left = offset - position
        let zeros = [UInt8](repeating: 0, count: min(left, 1 << 20))
        while left > 0 {
            let count = min(left, zeros.count)
            try write(count == zeros.count ? zeros : Array(zeros[0..<count]))
            left -= count
        }
    }

    /// Streams `module`'s bytes; fails if the file no longer has the length measured earlier.
    func copy(_ module: ModuleFile) throws(ImageError) {
        guard let input = FileHandle(forReadingAtPath: module.path) else {
            throw .unreadable(path: module.path, reason: "cannot open it")
        }
        defer { try? input.close() }
        var copied = 0
        while copied < module.length {
            let chunk: Data?
            do {
                chunk = try input.read(upToCount: min(1 << 20, module.length - copied))
            } catch {
                throw .unreadable(path: module.path, reason: error.localizedDescription)
            }
            guard let chunk, !chunk.isEmpty else { break }
            try write([UInt8](chunk))
            copied += chunk.count
        }
        guard copied == module.length else {
            throw .unreadable(path: module.path, reason: "it changed size while the image was written")
        }
    }

    func close() throws(ImageError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
