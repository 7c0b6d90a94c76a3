import Foundation
import SkiffWire

// An application's assets folder packed for the kernel image: every file under the folder, by
// its path relative to it, in a cpio newc archive (CPIOArchive.emit) that `skiff build` links
// into the kernel and `StaticAssets.add(archive:)` serves at "/<path>".
//
// What is packed: regular files, in byte order of their paths, so the same folder always gives
// the same archive. Names starting with "." are left out (.DS_Store, .gitignore, editor files),
// except the ".well-known" folder (RFC 8615). Everything else is checked, and the first problem
// stops the build with a message naming the file: symbolic links and special files, paths that
// are not plain relative paths (empty, absolute, "." or ".." components, backslashes, control
// characters, longer than `maxPathBytes`), files over `maxFileBytes`, more than `maxFiles`
// files, more than `maxTotalBytes` in all. The limits keep a mistake (a video, a build folder)
// from swelling the image, which every boot loads into the VM's memory.

/// Why an assets folder could not be packed; each names the file.
public enum AssetError: Error, Equatable, CustomStringConvertible {
    case notADirectory(String)
    case unreadable(String, reason: String)
    case symbolicLink(String)
    case notARegularFile(String)
    case badPath(String, reason: String)
    case fileTooLarge(String, bytes: Int, limit: Int)
    case tooManyFiles(limit: Int)
    case tooLarge(String, totalBytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            return "assets: \(path) is not a folder"
        case .unreadable(let path, let reason):
            return "assets: cannot read \(path): \(reason)"
        case .symbolicLink(let path):
            return "assets: \(path) is a symbolic link; copy the file into the assets folder instead"
        case .notARegularFile(let path):
            return "assets: \(path) is not a regular file (a device, socket or pipe)"
        case .badPath(let path, let reason):
            return "assets: \(path): \(reason)"
        case .fileTooLarge(let path, let bytes, let limit):
            return "assets: \(path) has \(bytes) bytes; a file may have at most \(limit) (\(limit >> 20) MiB)"
        case .tooManyFiles(let limit):
            return "assets: more than \(limit) files"
        case .tooLarge(let path, let total, let limit):
            return "assets: with \(path) the files reach \(total) bytes; at most \(limit) (\(limit >> 20) MiB) fit in an image"
        }
    }
}

/// The files of an assets folder, checked and ready to pack.
public struct AssetArchive {
    public static let maxFileBytes = 16 << 20
    public static let maxTotalBytes = 32 << 20
    public static let maxFiles = 10_000
    public static let maxPathBytes = 1024

    /// Relative paths ("css/site.css") and contents, sorted by path.
    public private(set) var files: [(path: String, contents: [UInt8])] = []
    public private(set) var totalBytes = 0

    /// Reads and checks every file under `directory`.
    public init(directory: URL) throws(AssetError) {
        let root = directory.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notADirectory(root.path)
        }
        var found: [(path: String, url: URL)] = []
        try AssetArchive.collect(root, relative: "", into: &found)
        found.sort { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        for (path, url) in found {
            let contents: [UInt8]
            do {
                contents = [UInt8](try Data(contentsOf: url))
            } catch {
                throw .unreadable(url.path, reason: error.localizedDescription)
            }
            try add(path: path, contents: contents, displayPath: url.path)
        }
    }

    /// Files given directly (tests, generated content), checked the same way.
    public init(files: [(path: String, contents: [UInt8])]) throws(AssetError) {
        for file in files.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }) {
            try add(path: file.path, contents: file.contents, displayPath: file.path)
        }
    }

    private mutating func add(path: String, contents: [UInt8], displayPath: String) throws(AssetError) {
        try AssetArchive.check(path: path, displayPath: displayPath)
        guard files.count < AssetArchive.maxFiles else { throw .tooManyFiles(limit: AssetArchive.maxFiles) }
        guard contents.count <= AssetArchive.maxFileBytes else {
            throw .fileTooLarge(displayPath, bytes: contents.count, limit: AssetArchive.maxFileBytes)
        }
        guard totalBytes + contents.count <= AssetArchive.maxTotalBytes else {
            throw .tooLarge(displayPath, totalBytes: totalBytes + contents.count, limit: AssetArchive.maxTotalBytes)
        }
        guard !files.contains(where: { $0.path == path }) else {
            throw .badPath(displayPath, reason: "given twice")
        }
        files.append((path, contents))
        totalBytes += contents.count
    }

    /// The cpio newc archive of the files.
    public var archive: [UInt8] {
        CPIOArchive.emit(files: files.map { (name: $0.path, contents: $0.contents) })
    }

    /// Checks that `path` is a plain relative path that serves as "/<path>".
    public static func check(path: String, displayPath: String? = nil) throws(AssetError) {
        let shown = displayPath ?? path
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw .badPath(shown, reason: "an empty path") }
        guard bytes.count <= maxPathBytes else {
            throw .badPath(shown, reason: "the path has \(bytes.count) bytes; at most \(maxPathBytes)")
        }
        guard bytes[0] != UInt8(ascii: "/") else { throw .badPath(shown, reason: "an absolute path") }
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F { throw .badPath(shown, reason: "a control character in the name") }
            if byte == UInt8(ascii: "\\") { throw .badPath(shown, reason: "a backslash in the name") }
        }
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty { throw .badPath(shown, reason: "an empty path component (//)") }
            if component.elementsEqual(".".utf8) || component.elementsEqual("..".utf8) {
                throw .badPath(shown, reason: "a \".\" or \"..\" component")
            }
        }
    }

    /// Whether a folder entry is left out: names starting with "." except ".well-known".
    public static func isSkipped(name: String) -> Bool {
        name.hasPrefix(".") && name != ".well-known"
    }

    private static func collect(_ directory: URL, relative: String, into found: inout [(path: String, url: URL)]) throws(AssetError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .unreadable(directory.path, reason: error.localizedDescription)
        }
        for name in names where !isSkipped(name: name) {
            let url = directory.appendingPathComponent(name)
            let path = relative.isEmpty ? name : relative + "/" + name
            let type: FileAttributeType?
            do {
                // Does not follow symbolic links.
                type = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            } catch {
                throw .unreadable(url.path, reason: error.localizedDescription)
            }
            switch type {
            case .typeDirectory?:
                try collect(url, relative: path, into: &found)
            case .typeRegular?:
                found.append((path, url))
                guard found.count <= maxFiles else { throw .tooManyFiles(limit: maxFiles) }
            case .typeSymbolicLink?:
                throw .symbolicLink(url.path)
            default:
                throw .notARegularFile(url.path)
            }
        }
    }
}
