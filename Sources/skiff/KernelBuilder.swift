import Foundation
import SkiffImage

// Building an application into a bootable kernel ELF (DESIGN.md, "Where the kernel's executable
// lives"): the kernel is library targets of the Skiff package; the application's executable lives
// in a small package generated under the scratch directory, which depends on the Skiff checkout by
// absolute path, named by that folder's actual name. SwiftPM then links the application's
// `main`, the kernel and boot.S into one ELF with Kernel/linker.ld.
//
// Assets: the folder given with --assets, else the application's `assets` folder when it has one,
// is packed into a cpio newc archive (SkiffImage's AssetArchive: paths and sizes checked) and
// linked in as read-only data by a generated C target whose assembly file `.incbin`s it between
// the symbols skiff_assets_start and skiff_assets_end (read by `Kernel.assetArchive`).
//
// A default interfaces(5) file (--interfaces, checked by Build before anything is built) is linked
// in the same way by a second generated target, between skiff_interfaces_start and
// skiff_interfaces_end (read by `Kernel.interfacesFile`).

/// Which boot entries the ELF carries. Both is the product; the single-entry variants exist to
/// test each path (QEMU prefers multiboot when an ELF has both).
enum BootEntries: String, CaseIterable, Sendable {
    case both, multiboot, pvh
}

/// The NIC drivers a kernel can include (`skiff build --drivers`). A driver left out is compiled
/// out of `KernelPlatform`'s probe with `-D SKIFF_NO_<NAME>` (in the generated toolset, so it
/// reaches the Skiff package's modules too), and `--gc-sections` then drops its code.
enum NICDriver: String, CaseIterable, Sendable, Comparable {
    case virtio, vmxnet3, e1000

    static func < (l: NICDriver, r: NICDriver) -> Bool {
        allCases.firstIndex(of: l)! < allCases.firstIndex(of: r)!
    }

    /// The compiler define that leaves this driver out.
    var exclusionDefine: String { "SKIFF_NO_\(rawValue.uppercased())" }

    /// `virtio,vmxnet3,e1000` (any order, repeats allowed) → the drivers, in canonical order.
    static func parseList(_ text: String, flag: String = "--drivers") throws(CLIError) -> [NICDriver] {
        let choices = allCases.map(\.rawValue).joined(separator: ", ")
        var drivers = Set<NICDriver>()
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let driver = NICDriver(rawValue: trimmed.lowercased()) else {
                throw .usage("\(flag) \(text): \(trimmed.isEmpty ? "an empty driver name" : "'\(trimmed)' is not a NIC driver") (choose from \(choices))")
            }
            drivers.insert(driver)
        }
        return drivers.sorted()
    }
}

struct KernelBuildRequest {
    var appDirectory: URL
    var output: URL?
    var bootEntries: BootEntries = .both
    var release = true
    /// Keep DWARF debug information in the output (function symbols are always kept).
    var keepDebugInfo = false
    /// The NIC drivers compiled in (all: the universal image).
    var drivers: [NICDriver] = NICDriver.allCases
    /// The assets folder to pack (nil: the application's `assets` folder, if it has one).
    var assetsDirectory: URL?
    /// The default interfaces file to build in, already checked (nil: none).
    var interfaces: CheckedInterfacesFile?
    var skiffRoot: URL?
    var scratchPath: URL?
}

struct KernelBuildResult {
    var elf: URL
    var size: Int
    var appName: String
    var image: KernelImage
    /// The packed assets folder and what it held (nil: none).
    var assets: (directory: URL, files: Int, bytes: Int)?
    /// With --interfaces: whether the file is in the ELF. The linker drops it (--gc-sections) when
    /// the application never reads `Kernel.interfacesFile`.
    var interfacesLinked: Bool?
}

struct KernelBuildError: Error, CustomStringConvertible {
    var description: String
}

struct KernelBuilder {
    static let triple = "x86_64-unknown-none-elf"
    var request: KernelBuildRequest
    var fileManager = FileManager.default

    func build() throws -> KernelBuildResult {
        let appDirectory = request.appDirectory.standardizedFileURL
        let root = try skiffRoot(near: appDirectory)
        let appName = appDirectory.lastPathComponent
        let module = Self.moduleName(for: appName)
        let assetsDirectory = try self.assetsDirectory(for: appDirectory)
        let sources = try appSources(in: appDirectory, excluding: assetsDirectory)
        let assets: AssetArchive?
        do {
            assets = try assetsDirectory.map { directory throws(AssetError) in try AssetArchive(directory: directory) }
        } catch {
            throw KernelBuildError(description: error.description)
        }

        let scratch = (request.scratchPath ?? root.appendingPathComponent(".build-kernel")).standardizedFileURL
        let package = scratch.appendingPathComponent("app-package")
        try writePackage(at: package, module: module, root: root, sources: sources, appDirectory: appDirectory,
                         assets: assets, assetsDirectory: assetsDirectory, interfaces: request.interfaces,
                         bootEntries: request.bootEntries)

        // One build directory per driver selection: drivers differ in compile flags (-D for the
        // kernel module), and a build directory keeps the flags of the toolsets it was first built
        // with. Everything that varies per application or per boot-entry variant (the debug prefix
        // map, the --defsym that drops an entry) is a setting of the generated executable target
        // only, so switching application or boot entries recompiles the application alone and
        // relinks, never the Skiff modules.
        let buildDirectory = scratch.appendingPathComponent("build-\(variant)")
        let toolsets = try writeToolsets(root: root, scratch: scratch)
        try resetIfToolsetsChanged(buildDirectory, toolsets: toolsets)

        let configuration = request.release ? "release" : "debug"
        let product = buildDirectory.appendingPathComponent(Self.triple).appendingPathComponent(configuration)
            .appendingPathComponent(module)
        // Always relink, so that a changed Kernel/linker.ld (which SwiftPM does not track) takes effect.
        try? fileManager.removeItem(at: product)

        var arguments = ["build", "--package-path", package.path, "--scratch-path", buildDirectory.path,
                         "--triple", Self.triple, "-c", configuration, "--product", module]
        for toolset in toolsets { arguments += ["--toolset", toolset.path] }
        try run("swift", arguments)

        guard fileManager.fileExists(atPath: product.path) else {
            throw KernelBuildError(description: "swift build succeeded but left no kernel at \(product.path)")
        }
        let output = (request.output ?? scratch.appendingPathComponent("\(appName).elf")).standardizedFileURL
        try? fileManager.removeItem(at: output)
        try fileManager.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        // DWARF is most of the file and no loader reads it; the symbol table stays, so
        // `addr2line -f -e <ELF>` still names the functions in an exception's backtrace.
        if request.keepDebugInfo {
            try fileManager.copyItem(at: product, to: output)
        } else {
            try run("llvm-objcopy", ["--strip-debug", product.path, output.path])
        }

        let bytes = try Data(contentsOf: output)
        let image = try KernelImage(bytes)
        try image.check(expecting: request.bootEntries)
        var interfacesLinked: Bool? = nil
        // Best effort: without llvm-nm there is no warning, and the build still succeeds.
        if request.interfaces != nil, let listing = try? capture("llvm-nm", ["--defined-only", output.path]) {
            let symbols = String(decoding: listing, as: UTF8.self)
            interfacesLinked = symbols.split(separator: "\n").contains { $0.hasSuffix(" skiff_interfaces_start") }
        }
        return KernelBuildResult(elf: output, size: bytes.count, appName: appName, image: image,
                                 assets: assets.map { (assetsDirectory!, $0.files.count, $0.totalBytes) },
                                 interfacesLinked: interfacesLinked)
    }

    // MARK: Images

    /// Writes the kernel at `kernel` into a raw disk or ISO image (SkiffImage) at `path`. The other
    /// disk formats are converted from the raw disk, written first next to `path` and then removed.
    static func writeImage(_ format: ImageFormat, kernel: URL, commandLine: String, modules: [ModuleFile],
                           appName: String, to path: URL, hardware: OVAImage.Hardware = OVAImage.Hardware()) throws -> ImageLayout {
        do {
            let payload = try ImagePayload(kernelFile: [UInt8](try Data(contentsOf: kernel)), commandLine: commandLine, modules: modules)
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            switch format {
            case .raw: return try RawImage.write(payload, to: path.path)
            case .iso: return try ISOImage.write(payload, to: path.path, volumeIdentifier: appName, date: ISOImage.buildDate())
            case .elf: preconditionFailure("an ELF is not an image")
            default: break
            }
            let raw = path.path + ".raw.partial"
            defer { try? FileManager.default.removeItem(atPath: raw) }
            try RawImage.write(payload, to: raw)
            switch format {
            case .vmdk: return try VMDKImage.convert(raw: raw, to: path.path, variant: .monolithicSparse)
            case .vmdkStream: return try VMDKImage.convert(raw: raw, to: path.path, variant: .streamOptimized)
            case .qcow2: return try Qcow2Image.convert(raw: raw, to: path.path)
            case .vhd: return try VHDImage.convert(raw: raw, to: path.path)
            case .gce: return try GCEImage.convert(raw: raw, to: path.path)
            case .ova: return try OVAImage.convert(raw: raw, to: path.path, name: appName, hardware: hardware)
            case .elf, .raw, .iso: preconditionFailure("written above")
            }
        } catch let error as ImageError {
            throw KernelBuildError(description: error.description)
        }
    }

    // MARK: Finding things

    /// The Skiff checkout: the explicit one, else the nearest directory above the application
    /// or the current directory, else above this executable, that holds Sources/SkiffKernel.
    func skiffRoot(near appDirectory: URL) throws -> URL {
        if let root = request.skiffRoot {
            let root = root.standardizedFileURL
            guard isSkiffRoot(root) else {
                throw KernelBuildError(description: "\(root.path) is not a Skiff checkout (no Sources/SkiffKernel)")
            }
            return root
        }
        var starts = [appDirectory, URL(fileURLWithPath: fileManager.currentDirectoryPath)]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() { starts.append(executable) }
        for start in starts {
            var directory = start.standardizedFileURL
            while directory.path != "/" {
                if isSkiffRoot(directory) { return directory }
                directory.deleteLastPathComponent()
            }
        }
        throw KernelBuildError(description: "cannot find the Skiff checkout above \(appDirectory.path); pass --skiff-root")
    }

    private func isSkiffRoot(_ directory: URL) -> Bool {
        fileManager.fileExists(atPath: directory.appendingPathComponent("Package.swift").path)
            && fileManager.fileExists(atPath: directory.appendingPathComponent("Sources/SkiffKernel").path)
            && fileManager.fileExists(atPath: directory.appendingPathComponent("Kernel/linker.ld").path)
    }

    /// A Swift module name for the application: its folder name with non-identifier characters
    /// replaced, prefixed when it does not start with a letter.
    static func moduleName(for appName: String) -> String {
        var name = String(appName.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
        if name.first.map({ !$0.isLetter && $0 != "_" }) ?? true { name = "App" + name }
        return name
    }

    /// The folder whose files are packed as assets: --assets (which must exist), else the
    /// application's `assets` folder when it has one, else none.
    func assetsDirectory(for appDirectory: URL) throws -> URL? {
        if let explicit = request.assetsDirectory?.standardizedFileURL {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: explicit.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw KernelBuildError(description: "--assets \(explicit.path): no such folder")
            }
            return explicit
        }
        let conventional = appDirectory.appendingPathComponent(Self.assetsFolderName).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: conventional.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        return conventional
    }

    /// The folder inside an application that is packed as its assets unless --assets names another.
    static let assetsFolderName = "assets"

    /// The application's Swift files, as paths relative to its directory (hidden folders, build
    /// folders and the assets folder skipped); main.swift must be among them.
    func appSources(in directory: URL, excluding assets: URL? = nil) throws -> [String] {
        guard let walker = fileManager.enumerator(at: directory, includingPropertiesForKeys: [.isDirectoryKey],
                                                  options: [.skipsHiddenFiles]) else {
            throw KernelBuildError(description: "cannot read \(directory.path)")
        }
        var sources: [String] = []
        for case let url as URL in walker {
            if url.lastPathComponent.hasPrefix(".build") || url.standardizedFileURL.path == assets?.path {
                walker.skipDescendants()
                continue
            }
            guard url.pathExtension == "swift" else { continue }
            sources.append(String(url.standardizedFileURL.path.dropFirst(directory.path.count + 1)))
        }
        guard sources.contains("main.swift") else {
            throw KernelBuildError(description: "\(directory.path) has no main.swift (an application is a folder with a main.swift)")
        }
        return sources.sorted()
    }

    // MARK: Generated files

    /// The root package's products an application may import.
    static let rootProducts = ["SkiffKernel", "SkiffPlatform", "SkiffWire", "SkiffStack", "SkiffServices", "SkiffConfig"]

    /// The generated C target that links the assets archive into the kernel.
    static let assetsTarget = "SkiffApplicationAssets"
    /// The generated C target that links the default interfaces file into the kernel.
    static let interfacesTarget = "SkiffApplicationInterfaces"

    private func writePackage(at package: URL, module: String, root: URL, sources: [String], appDirectory: URL,
                              assets: AssetArchive?, assetsDirectory: URL?, interfaces: CheckedInterfacesFile?,
                              bootEntries: BootEntries) throws {
        let sourceDirectory = package.appendingPathComponent("Sources")
        var dataTargets: [String] = []
        if assets != nil { dataTargets.append(Self.assetsTarget) }
        if interfaces != nil { dataTargets.append(Self.interfacesTarget) }
        // Only this module's sources (and the data targets) stay; files are rewritten only when
        // they changed, so an unchanged application is not recompiled.
        if let existing = try? fileManager.contentsOfDirectory(atPath: sourceDirectory.path) {
            for name in existing where name != module && !dataTargets.contains(name) {
                try fileManager.removeItem(at: sourceDirectory.appendingPathComponent(name))
            }
        }
        let interfacesFile = package.appendingPathComponent("interfaces")
        if let interfaces {
            try writeInterfacesTarget(interfaces, file: interfacesFile,
                                      target: sourceDirectory.appendingPathComponent(Self.interfacesTarget))
        } else {
            try? fileManager.removeItem(at: interfacesFile)
        }
        let archiveFile = package.appendingPathComponent("assets.cpio")
        if let assets, let assetsDirectory {
            try writeAssetsTarget(assets, from: assetsDirectory, archive: archiveFile,
                                  target: sourceDirectory.appendingPathComponent(Self.assetsTarget))
        } else {
            try? fileManager.removeItem(at: archiveFile)
        }
        let moduleDirectory = sourceDirectory.appendingPathComponent(module)
        try fileManager.createDirectory(at: moduleDirectory, withIntermediateDirectories: true)
        var wanted = Set<String>()
        for source in sources {
            wanted.insert(source)
            let contents = try Data(contentsOf: appDirectory.appendingPathComponent(source))
            try writeIfChanged(contents, to: moduleDirectory.appendingPathComponent(source))
        }
        if let walker = fileManager.enumerator(atPath: moduleDirectory.path) {
            for case let path as String in walker where path.hasSuffix(".swift") && !wanted.contains(path) {
                try fileManager.removeItem(at: moduleDirectory.appendingPathComponent(path))
            }
        }

        let rootName = Self.swiftLiteral(root.lastPathComponent)
        let products = Self.rootProducts
            .map { ".product(name: \"\($0)\", package: \(rootName))," }
            .joined(separator: "\n" + String(repeating: " ", count: 16))
        let dataDependencies = dataTargets.map { "\n" + String(repeating: " ", count: 16) + "\"\($0)\"," }.joined()
        let dataTargetDeclarations = dataTargets.map { "\n" + String(repeating: " ", count: 8) + ".target(name: \"\($0)\")," }.joined()
        // Debug information names the application's own files, not this package's copies.
        let copies = sourceDirectory.appendingPathComponent(module).path
        let swiftFlags = ["-debug-prefix-map", "\(copies)=\(appDirectory.path)"].map(Self.swiftLiteral)
        // A single-entry variant gives the other entry's marker the value that makes the boot
        // code leave it out (Kernel/boot.S).
        var linkerFlags: [String] = []
        switch bootEntries {
        case .both: break
        case .multiboot: linkerFlags = ["-Xlinker", "--defsym=skiff_pvh_note_type=0"]
        case .pvh: linkerFlags = ["-Xlinker", "--defsym=skiff_multiboot_magic=0"]
        }
        let linkerSettings = linkerFlags.isEmpty ? ""
            : ",\n" + String(repeating: " ", count: 12)
                + "linkerSettings: [.unsafeFlags([\(linkerFlags.map(Self.swiftLiteral).joined(separator: ", "))])]"
        let manifest = """
            // swift-tools-version:6.0
            // Generated by `skiff build` from \(appDirectory.path); rewritten on every build.
            import PackageDescription

            let package = Package(
                name: "SkiffApplication",
                dependencies: [.package(path: \(Self.swiftLiteral(root.path)))],
                targets: [
                    .executableTarget(
                        name: \(Self.swiftLiteral(module)),
                        dependencies: [
                            \(products)\(dataDependencies)
                        ],
                        swiftSettings: [.unsafeFlags([\(swiftFlags.joined(separator: ", "))])]\(linkerSettings)
                    ),\(dataTargetDeclarations)
                ],
                swiftLanguageModes: [.v5]
            )

            """
        try writeIfChanged(Data(manifest.utf8), to: package.appendingPathComponent("Package.swift"))
    }

    /// The assets target: the archive next to the package, and an assembly file that includes it
    /// between the symbols the kernel reads. The assembly names the archive's SHA-256, so it
    /// changes (and is reassembled) whenever the archive does: SwiftPM does not track `.incbin`.
    private func writeAssetsTarget(_ assets: AssetArchive, from directory: URL, archive: URL, target: URL) throws {
        let bytes = assets.archive
        try writeIfChanged(Data(bytes), to: archive)
        var hash = SHA256()
        hash.update(bytes)
        let digest = SHA256.hex(hash.finish())
        let assembly = """
            // Generated by `skiff build`: the assets of \(directory.path.replacingOccurrences(of: "\n", with: " "))
            // (\(assets.files.count) files, \(assets.totalBytes) bytes; cpio newc, \(bytes.count) bytes, SHA-256 \(digest)).
                .section .rodata.skiff_assets, "a", @progbits
                .balign 16
                .globl skiff_assets_start
            skiff_assets_start:
                .incbin \(Self.assemblerString(archive.path))
                .globl skiff_assets_end
            skiff_assets_end:
                .section .note.GNU-stack, "", @progbits

            """
        try writeIfChanged(Data(assembly.utf8), to: target.appendingPathComponent("assets.S"))
        let header = "// Generated by `skiff build`. The assets are read through SkiffKernel's `Kernel.assetArchive`.\n"
        try writeIfChanged(Data(header.utf8), to: target.appendingPathComponent("include/\(Self.assetsTarget).h"))
    }

    /// The interfaces target: the checked file next to the package, and an assembly file that
    /// includes it between the symbols the kernel reads (`Kernel.interfacesFile`). As for the
    /// assets, the assembly names the file's SHA-256 so that a changed file is reassembled.
    private func writeInterfacesTarget(_ interfaces: CheckedInterfacesFile, file: URL, target: URL) throws {
        try writeIfChanged(Data(interfaces.bytes), to: file)
        var hash = SHA256()
        hash.update(interfaces.bytes)
        let digest = SHA256.hex(hash.finish())
        let assembly = """
            // Generated by `skiff build --interfaces`: \(interfaces.path.replacingOccurrences(of: "\n", with: " "))
            // (\(interfaces.file.stanzas.count) iface stanzas, \(interfaces.bytes.count) bytes, SHA-256 \(digest)).
                .section .rodata.skiff_interfaces, "a", @progbits
                .globl skiff_interfaces_start
            skiff_interfaces_start:
                .incbin \(Self.assemblerString(file.path))
                .globl skiff_interfaces_end
            skiff_interfaces_end:
                .section .note.GNU-stack, "", @progbits

            """
        try writeIfChanged(Data(assembly.utf8), to: target.appendingPathComponent("interfaces.S"))
        let header = "// Generated by `skiff build`. The file is read through SkiffKernel's `Kernel.interfacesFile`.\n"
        try writeIfChanged(Data(header.utf8), to: target.appendingPathComponent("include/\(Self.interfacesTarget).h"))
    }

    /// A string literal for the assembler: quotes and backslashes escaped.
    static func assemblerString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `all` (every driver), `virtio-e1000` etc. for a subset, `nonics`: names the build directory
    /// and the generated toolset.
    var variant: String {
        let drivers = Set(request.drivers)
        if drivers.isEmpty { return "nonics" }
        return drivers == Set(NICDriver.allCases) ? "all" : drivers.sorted().map(\.rawValue).joined(separator: "-")
    }

    /// The toolsets, in order: the Embedded compile flags (Kernel/toolset.json, shared with the
    /// library check), the kernel link flags (Kernel/kernel-toolset.json), and a generated one with
    /// what must be absolute or varies by build directory: the linker script's path and the
    /// excluded drivers.
    private func writeToolsets(root: URL, scratch: URL) throws -> [URL] {
        var linkerOptions = ["-T", root.appendingPathComponent("Kernel/linker.ld").path]
        // String comparison, hashing and Character need the Unicode tables, which the toolchain
        // ships as a static library beside the Embedded stdlib; --gc-sections keeps only what is used.
        if let tables = try unicodeDataTables() { linkerOptions.append(tables.path) }
        var generated: [String: Any] = [
            "schemaVersion": "1.0",
            "linker": ["extraCLIOptions": linkerOptions],
        ]
        let excluded = NICDriver.allCases.filter { !request.drivers.contains($0) }
        if !excluded.isEmpty {
            generated["swiftCompiler"] = ["extraCLIOptions": excluded.map { "-D" + $0.exclusionDefine }]
        }
        let data = try JSONSerialization.data(withJSONObject: generated, options: [.prettyPrinted, .sortedKeys])
        let link = scratch.appendingPathComponent("kernel-link-\(variant).json")
        try fileManager.createDirectory(at: scratch, withIntermediateDirectories: true)
        try writeIfChanged(data, to: link)
        return [root.appendingPathComponent("Kernel/toolset.json"),
                root.appendingPathComponent("Kernel/kernel-toolset.json"), link]
    }

    /// The toolchain's libswiftUnicodeDataTables.a for the kernel triple, if it has one.
    private func unicodeDataTables() throws -> URL? {
        let info = try capture("swiftc", ["-print-target-info", "-target", Self.triple])
        guard let json = try? JSONSerialization.jsonObject(with: info) as? [String: Any],
              let paths = json["paths"] as? [String: Any],
              let resources = paths["runtimeResourcePath"] as? String else {
            throw KernelBuildError(description: "cannot read `swiftc -print-target-info` for \(Self.triple)")
        }
        let library = URL(fileURLWithPath: resources)
            .appendingPathComponent("embedded/\(Self.triple)/libswiftUnicodeDataTables.a")
        return fileManager.fileExists(atPath: library.path) ? library : nil
    }

    /// Empties `buildDirectory` when the toolsets differ from those it was built with.
    private func resetIfToolsetsChanged(_ buildDirectory: URL, toolsets: [URL]) throws {
        var fingerprint = Data()
        for toolset in toolsets {
            fingerprint.append(Data(toolset.path.utf8))
            fingerprint.append(try Data(contentsOf: toolset))
        }
        let stamp = buildDirectory.appendingPathComponent("skiff-toolsets.stamp")
        if let previous = try? Data(contentsOf: stamp), previous == fingerprint { return }
        try? fileManager.removeItem(at: buildDirectory)
        try fileManager.createDirectory(at: buildDirectory, withIntermediateDirectories: true)
        try fingerprint.write(to: stamp)
    }

    private func writeIfChanged(_ data: Data, to url: URL) throws {
        if let existing = try? Data(contentsOf: url), existing == data { return }
        try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    static func swiftLiteral(_ text: String) -> String {
        var escaped = "\""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            default: escaped.append(character)
            }
        }
        return escaped + "\""
    }

    private func capture(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            throw KernelBuildError(description: "cannot run \(tool): \(error)")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw KernelBuildError(description: "\(tool) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
        return output
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        do {
            try process.run()
        } catch {
            throw KernelBuildError(description: "cannot run \(tool): \(error)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw KernelBuildError(description: "\(tool) \(arguments.first ?? "") failed with status \(process.terminationStatus)")
        }
    }
}

/// What `skiff build` checks in the ELF it produced: the multiboot header and the a.out-kludge
/// layout it depends on, and the PVH note.
struct KernelImage {
    var multibootHeaderOffset: Int?
    var multibootEntry: UInt32?
    var pvhEntry: UInt64?
    var loadSegments: [(offset: UInt64, address: UInt64, fileSize: UInt64, memorySize: UInt64)] = []

    init(_ bytes: Data) throws {
        let elf = [UInt8](bytes)
        func u16(_ at: Int) -> UInt64 { at + 2 <= elf.count ? UInt64(elf[at]) | UInt64(elf[at + 1]) << 8 : 0 }
        func u32(_ at: Int) -> UInt64 { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> UInt64 { u32(at) | u32(at + 4) << 32 }

        // ELF-64 header (System V gABI): class 2 (64-bit), data 1 (little-endian), machine 62 (x86-64).
        guard elf.count >= 64, elf[0] == 0x7F, elf[1] == 0x45, elf[2] == 0x4C, elf[3] == 0x46,
              elf[4] == 2, elf[5] == 1, u16(18) == 62 else {
            throw KernelBuildError(description: "the kernel is not an ELF-64 x86-64 file")
        }
        let programHeaders = Int(u64(32))
        let entrySize = Int(u16(54))
        let count = Int(u16(56))
        for index in 0..<min(count, 64) {
            let header = programHeaders + index * entrySize
            guard header + 56 <= elf.count else { break }
            let type = u32(header)
            if type == 1 {  // PT_LOAD
                loadSegments.append((u64(header + 8), u64(header + 24), u64(header + 32), u64(header + 40)))
            } else if type == 4 {  // PT_NOTE: look for name "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY)
                var note = Int(u64(header + 8))
                let end = min(note + Int(u64(header + 32)), elf.count)
                while note + 12 <= end {
                    let nameSize = Int(u32(note)), descriptorSize = Int(u32(note + 4)), noteType = u32(note + 8)
                    let name = note + 12
                    let descriptor = name + (nameSize + 3) & ~3
                    if noteType == 18, nameSize == 4, elf[name..<name + 3].elementsEqual("Xen".utf8), descriptorSize >= 4 {
                        pvhEntry = descriptorSize >= 8 ? u64(descriptor) : u32(descriptor)
                    }
                    note = descriptor + (descriptorSize + 3) & ~3
                }
            }
        }
        // Multiboot 0.6.96 §3.1.1: the header is 32-bit aligned within the first 8192 bytes, and
        // magic + flags + checksum is 0 modulo 2^32.
        var offset = 0
        while offset + 32 <= min(elf.count, 8192) {
            if u32(offset) == 0x1BAD_B002, (u32(offset) + u32(offset + 4) + u32(offset + 8)) & 0xFFFF_FFFF == 0 {
                multibootHeaderOffset = offset
                multibootEntry = UInt32(u32(offset + 28))
                let headerAddress = u32(offset + 12), loadAddress = u32(offset + 16)
                // a.out kludge: the file is loaded flat, so each byte's file offset must equal its
                // address minus load_addr.
                for segment in loadSegments where segment.fileSize > 0 {
                    guard segment.address >= loadAddress, segment.address - loadAddress == segment.offset else {
                        throw KernelBuildError(description: String(
                            format: "segment at 0x%llx lies at file offset 0x%llx, not 0x%llx as the multiboot a.out kludge needs",
                            segment.address, segment.offset, segment.address &- loadAddress))
                    }
                }
                guard headerAddress - loadAddress == UInt64(offset) else {
                    throw KernelBuildError(description: "the multiboot header_addr does not match its file offset")
                }
                break
            }
            offset += 4
        }
    }

    func check(expecting entries: BootEntries) throws {
        let wantsMultiboot = entries != .pvh, wantsPVH = entries != .multiboot
        if wantsMultiboot != (multibootHeaderOffset != nil) {
            throw KernelBuildError(description: wantsMultiboot ? "the kernel has no multiboot header"
                                                               : "the PVH-only kernel still has a multiboot header")
        }
        if wantsPVH != (pvhEntry != nil) {
            throw KernelBuildError(description: wantsPVH ? "the kernel has no PVH entry note"
                                                         : "the multiboot-only kernel still has a PVH note")
        }
    }

    var summary: String {
        var parts: [String] = []
        if let multibootEntry { parts.append(String(format: "multiboot entry 0x%x", multibootEntry)) }
        if let pvhEntry { parts.append(String(format: "PVH entry 0x%llx", pvhEntry)) }
        return parts.joined(separator: ", ")
    }
}
