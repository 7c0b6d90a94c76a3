import ArgumentParser
import Foundation
import SkiffImage

extension BootEntries: ExpressibleByArgument {}

/// What `skiff build` writes: the kernel ELF, or a BIOS-bootable image carrying Skiff's own boot
/// loader with the ELF inside (SkiffImage).
enum ImageFormat: String, CaseIterable, ExpressibleByArgument {
    case elf, raw, iso, vmdk, vmdkStream = "vmdk-stream", qcow2, vhd, ova, gce

    var fileExtension: String {
        switch self {
        case .raw: return "img"
        case .vmdkStream: return "stream.vmdk"
        case .gce: return "tar.gz"
        default: return rawValue
        }
    }
}

/// `skiff build <app dir>`: builds an application folder (a main.swift and any other Swift files)
/// into a bootable kernel ELF and prints its size.
struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an application into a bootable kernel ELF.",
        discussion: """
            The ELF boots with QEMU's -kernel, GRUB's `multiboot`, and PVH loaders (QEMU, \
            Firecracker, Xen, Cloud Hypervisor). Under QEMU with isa-debug-exit the guest's exit \
            status N becomes QEMU's status (N << 1) | 1.

            Static files: the folder given with --assets, else the application's `assets` folder \
            when it has one, is packed into the image (a cpio newc archive in the kernel's \
            read-only data); the application serves it with StaticAssets.add(archive: \
            Kernel.assetArchive). Paths are checked (no absolute paths, no "." or "..", no \
            symbolic links), names starting with "." are left out except .well-known, and a \
            file may have at most 16 MiB, all files together 32 MiB.

            Network defaults: --interfaces FILE builds a Debian interfaces(5) file into the \
            image. It is checked first with the parser the kernel uses at boot: errors print as \
            FILE:LINE:COLUMN: message and nothing is built; warnings print and the file is kept. \
            At boot the kernel uses it when no boot module (QEMU -initrd, GRUB `module`) carries \
            an interfaces file; a module replaces it, and the command line (skiff.net=, ip=) wins \
            over both for the interfaces it names.

            The default kernel has every NIC driver (virtio-net, vmxnet3, e1000), so one image \
            runs on QEMU/KVM, VMware and e1000 hypervisors. --drivers keeps only the named ones: \
            the others are compiled out (-D SKIFF_NO_<NAME>) and the linker drops their code.

            --format raw writes a disk image (boot it as an IDE/SATA/SCSI disk) and --format iso \
            an El Torito CD image; both carry Skiff's BIOS boot loader, which loads the ELF through \
            its multiboot header and passes --cmdline and each --module "FILE[ ARGS]" to it.

            The raw disk also comes converted: vmdk (monolithicSparse), vmdk-stream \
            (streamOptimized), qcow2 (v3), vhd (fixed, padded to 1 MiB), gce (disk.raw padded to \
            1 GiB in a tar.gz) and ova (OVF 1.0 descriptor, SHA-256 manifest and a streamOptimized \
            disk; --memory, --nics and --hardware-version set its virtual hardware).
            """
    )

    @Argument(help: "The application folder (it holds main.swift).")
    var appDirectory: String

    @Option(name: .shortAndLong, help: "Where to write the ELF or image (default: <scratch>/<app>.elf, .img or .iso).")
    var output: String?

    @Option(help: "What to write: elf (the kernel), raw (a BIOS-bootable disk image), iso (an El Torito CD image), or the disk as vmdk, vmdk-stream, qcow2, vhd, ova or gce.")
    var format: ImageFormat = .elf

    @Option(help: "OVA: the virtual machine's memory in MiB (default 256).")
    var memory: Int?

    @Option(help: "OVA: how many VMXNET3 NICs the virtual machine has (default 1).")
    var nics: Int?

    @Option(help: "OVA: the VMware virtual hardware version, vmx-N (default 13).")
    var hardwareVersion: Int?

    @Option(help: "The kernel command line the image's boot loader passes (raw, iso and the disk formats).")
    var cmdline: String?

    @Option(name: .customLong("module"), help: ArgumentHelp(
        "A file for the image's boot loader to load as a multiboot module (raw, iso and the disk formats; repeatable).",
        valueName: "FILE[ ARGS]"))
    var modules: [String] = []

    @Option(help: "Boot entries to include: both, multiboot or pvh (single-entry builds are for testing).")
    var boot: BootEntries = .both

    @Option(help: "NIC drivers to include, comma-separated: virtio, vmxnet3, e1000 (default: all three, the universal image).")
    var drivers: String?

    @Option(help: ArgumentHelp("A folder of static files to pack into the image (default: the application's assets folder, if it has one).",
                               valueName: "dir"))
    var assets: String?

    @Option(help: ArgumentHelp("A Debian interfaces(5) file to build into the image as its default network configuration (a boot module or the command line overrides it).",
                               valueName: "file"))
    var interfaces: String?

    @Flag(help: "Build without optimization.")
    var debug = false

    @Flag(help: "Keep DWARF debug information in the ELF (function symbols are always kept).")
    var keepDebugInfo = false

    @Option(help: "The Skiff checkout (default: found above the application or the current folder).")
    var skiffRoot: String?

    @Option(help: "Scratch folder for the generated package and build products (default: <skiff root>/.build-kernel).")
    var scratchPath: String?

    func run() throws {
        let current = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let selected = try drivers.map { text throws(CLIError) in try NICDriver.parseList(text) } ?? NICDriver.allCases
        func resolve(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: current).standardizedFileURL }
        // Image options are checked before the (slow) kernel build.
        let imageRequest = try checkedImageRequest()
        let defaultInterfaces = try interfaces.map { path throws(CLIError) in
            try CheckedInterfacesFile.load(path, relativeTo: current)
        }
        let request = KernelBuildRequest(
            appDirectory: resolve(appDirectory), output: format == .elf ? output.map(resolve) : nil, bootEntries: boot,
            release: !debug, keepDebugInfo: keepDebugInfo, drivers: selected, assetsDirectory: assets.map(resolve),
            interfaces: defaultInterfaces, skiffRoot: skiffRoot.map(resolve), scratchPath: scratchPath.map(resolve))
        let result = try KernelBuilder(request: request).build()
        if let packed = result.assets {
            print("\(result.appName): assets \(packed.files) files, \(packed.bytes) bytes from \(packed.directory.path)")
        }
        if let defaultInterfaces {
            print("\(result.appName): interfaces \(defaultInterfaces.file.stanzas.count) iface stanzas, "
                  + "\(defaultInterfaces.bytes.count) bytes from \(defaultInterfaces.path)")
            if result.interfacesLinked == false {
                writeStandardError("warning: \(result.appName) never reads the image's interfaces file (Kernel.interfacesFile), "
                                   + "so --interfaces has no effect on it; Examples/ping passes it to NetworkConfiguration(image:)\n")
            }
        }
        print("\(result.appName): \(result.size) bytes, \(result.elf.path) (\(result.image.summary))")
        if let imageRequest {
            let path = output.map(resolve) ?? result.elf.deletingPathExtension().appendingPathExtension(format.fileExtension)
            let clock = ContinuousClock()
            let started = clock.now
            let layout = try KernelBuilder.writeImage(format, kernel: result.elf, commandLine: imageRequest.commandLine,
                                                      modules: imageRequest.modules, appName: result.appName, to: path,
                                                      hardware: imageRequest.hardware)
            let elapsed = clock.now - started
            let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            print("\(result.appName): \(format.rawValue) image, \(layout.totalBytes) bytes, \(path.path), written in \(milliseconds) ms")
        }
    }

    /// The command line and modules for --format raw|iso (nil for an ELF), checked: module files
    /// exist, the command line and strings fit the image header.
    private func checkedImageRequest() throws(CLIError) -> (commandLine: String, modules: [ModuleFile], hardware: OVAImage.Hardware)? {
        if format != .ova && (memory != nil || nics != nil || hardwareVersion != nil) {
            throw .usage("--memory, --nics and --hardware-version describe an OVA's virtual machine: use --format ova")
        }
        var hardware = OVAImage.Hardware()
        if let memory {
            guard (4...1_048_576).contains(memory) else { throw .usage("--memory \(memory): give MiB between 4 and 1048576") }
            hardware.memoryMiB = memory
        }
        if let nics {
            guard (0...10).contains(nics) else { throw .usage("--nics \(nics): a VMware virtual machine has 0 to 10 NICs") }
            hardware.nics = nics
        }
        if let hardwareVersion {
            guard (4...99).contains(hardwareVersion) else { throw .usage("--hardware-version \(hardwareVersion): give N of vmx-N, 4 or more") }
            hardware.version = hardwareVersion
        }
        guard format != .elf else {
            if cmdline != nil || !modules.isEmpty {
                throw .usage("--cmdline and --module need --format raw or iso (an ELF gets them from its loader: QEMU -append/-initrd, GRUB)")
            }
            return nil
        }
        guard boot != .pvh else {
            throw .usage("--format \(format.rawValue) boots through the multiboot header: use --boot both or multiboot")
        }
        do {
            let files = try modules.map { argument throws(ImageError) in try ModuleFile(argument: argument) }
            try ImageHeader.check(commandLine: cmdline ?? "", moduleStrings: files.map(\.string))
            return (cmdline ?? "", files, hardware)
        } catch {
            throw .usage(error.description)
        }
    }
}
