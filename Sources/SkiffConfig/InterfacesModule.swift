import SkiffWire

// A boot module that carries an interfaces file, in one of three forms told apart by their first
// bytes: a gzip file (1F 8B) holding a cpio archive or the file itself, a cpio "newc" archive
// ("070701"/"070702") with `etc/network/interfaces` (also `./etc/...`, `/etc/...`), or the plain
// text file (anything else that has no NUL byte).

/// How a module carried its interfaces file.
public enum InterfacesModuleFormat: Equatable, Sendable, CustomStringConvertible {
    case plain, cpio, gzip, gzipCPIO

    public var description: String {
        switch self {
        case .plain: return "plain"
        case .cpio: return "cpio"
        case .gzip: return "gzip"
        case .gzipCPIO: return "gzip'd cpio"
        }
    }
}

/// Why a module that looked like it carries an interfaces file could not be read.
public enum InterfacesModuleError: Error, Equatable, Sendable, CustomStringConvertible {
    case gzip(InflateError)
    case cpio(CPIOError)
    /// A cpio archive without `etc/network/interfaces`.
    case noInterfacesFile

    public var description: String {
        switch self {
        case .gzip(let error): return error.description
        case .cpio(let error): return error.description
        case .noInterfacesFile: return "cpio: no etc/network/interfaces in the archive"
        }
    }
}

/// An interfaces file read from boot module `module` (1-based, in the loader's order).
public struct InterfacesModule: Equatable, Sendable {
    public var module: Int
    public var format: InterfacesModuleFormat
    public var file: InterfacesFile

    public init(module: Int, format: InterfacesModuleFormat, file: InterfacesFile) {
        self.module = module
        self.format = format
        self.file = file
    }

    /// The path looked for inside archives.
    public static let archivePath = "etc/network/interfaces"
    /// The default bound on decompressed bytes.
    public static let defaultLimit = 4 << 20

    /// The interfaces file in `bytes`, or nil when the module is not one (binary data that is
    /// neither gzip nor cpio). Throws when it is gzip or cpio but broken or without the file.
    public static func read(_ bytes: [UInt8], module: Int, limit: Int = defaultLimit) throws(InterfacesModuleError) -> InterfacesModule? {
        var data = bytes
        var compressed = false
        if Inflate.isGzip(data) {
            do {
                data = try Inflate.gunzip(data, limit: limit)
            } catch {
                throw .gzip(error)
            }
            compressed = true
        }
        if CPIOArchive.hasMagic(data) {
            let archive: CPIOArchive
            do {
                archive = try CPIOArchive(data)
            } catch {
                throw .cpio(error)
            }
            guard let contents = archive.contents(at: archivePath) else { throw .noInterfacesFile }
            return InterfacesModule(module: module, format: compressed ? .gzipCPIO : .cpio,
                                    file: InterfacesFile.parse(contents))
        }
        // Text: no NUL (an ELF, an image or a cpio in another format has some early on).
        guard !data.isEmpty, !data.contains(0) else { return nil }
        return InterfacesModule(module: module, format: compressed ? .gzip : .plain, file: InterfacesFile.parse(data))
    }

    public static func read(_ bytes: UnsafeRawBufferPointer, module: Int, limit: Int = defaultLimit) throws(InterfacesModuleError) -> InterfacesModule? {
        try read(Array(bytes), module: module, limit: limit)
    }
}
