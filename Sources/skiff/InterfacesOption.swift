import Foundation
import SkiffConfig

/// `skiff build --interfaces FILE`: a default interfaces(5) file for the image, checked with the
/// parser the kernel runs at boot (SkiffConfig's InterfacesFile) before anything is built. Errors
/// stop the build and are printed the way compilers print them, `FILE:LINE:COLUMN: message`;
/// warnings (an unknown option, a command that is not a route) are printed as
/// `FILE:LINE: warning: message` and the file is built in.
struct CheckedInterfacesFile {
    /// The path as the user gave it (for messages and the generated file's comment).
    var path: String
    var bytes: [UInt8]
    var file: InterfacesFile

    /// The most bytes a default file may have: it lives in the kernel's read-only data.
    static let maxBytes = 64 << 10

    /// Reads and checks `path`; prints warnings to standard error through `warn`.
    static func load(_ path: String, relativeTo directory: URL,
                     warn: (String) -> Void = { writeStandardError($0 + "\n") }) throws(CLIError) -> CheckedInterfacesFile {
        let url = URL(fileURLWithPath: path, relativeTo: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .usage("--interfaces \(path): no such file")
        }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw .usage("--interfaces \(path): cannot read it: \(error.localizedDescription)")
        }
        guard bytes.count <= maxBytes else {
            throw .usage("--interfaces \(path): \(bytes.count) bytes; a default interfaces file may have at most \(maxBytes)")
        }
        guard !bytes.contains(0) else {
            throw .usage("--interfaces \(path): not a text file (it holds NUL bytes); give the interfaces(5) file itself")
        }
        let file = InterfacesFile.parse(bytes)
        var errors = 0
        for diagnostic in file.diagnostics {
            let line = describe(diagnostic, path: path)
            if diagnostic.severity == .error { errors += 1 }
            warn(line)
        }
        guard errors == 0 else {
            throw .usage("--interfaces \(path): \(errors) error\(errors == 1 ? "" : "s"); nothing was built")
        }
        guard !file.stanzas.isEmpty else {
            throw .usage("--interfaces \(path): no iface stanza (e.g. iface eth0 inet static / address 198.18.0.10/24)")
        }
        return CheckedInterfacesFile(path: path, bytes: bytes, file: file)
    }

    /// `FILE:LINE:COLUMN: message` for an error, `FILE:LINE: warning: message` for a warning.
    static func describe(_ diagnostic: InterfacesDiagnostic, path: String) -> String {
        switch diagnostic.severity {
        case .error:
            if let column = diagnostic.column { return "\(path):\(diagnostic.line):\(column): \(diagnostic.message)" }
            return "\(path):\(diagnostic.line): \(diagnostic.message)"
        case .warning:
            return "\(path):\(diagnostic.line): warning: \(diagnostic.message)"
        }
    }
}
