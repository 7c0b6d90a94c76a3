import ArgumentParser
import Foundation

extension BootEntries: ExpressibleByArgument {}

/// `skiff build <app dir>`: builds an application folder (a main.swift and any other Swift files)
/// into a bootable kernel ELF and prints its size.
struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an application into a bootable kernel ELF.",
        discussion: """
            The ELF boots with QEMU's -kernel, GRUB's `multiboot`, and PVH loaders (QEMU, \
            Firecracker, Xen, Cloud Hypervisor). Under QEMU with isa-debug-exit the guest's exit \
            status N becomes QEMU's status (N << 1) | 1.

            The default kernel has every NIC driver (virtio-net, vmxnet3, e1000), so one image \
            runs on QEMU/KVM, VMware and e1000 hypervisors. --drivers keeps only the named ones: \
            the others are compiled out (-D SKIFF_NO_<NAME>) and the linker drops their code.
            """
    )

    @Argument(help: "The application folder (it holds main.swift).")
    var appDirectory: String

    @Option(name: .shortAndLong, help: "Where to write the ELF (default: <scratch>/<app>.elf).")
    var output: String?

    @Option(help: "Boot entries to include: both, multiboot or pvh (single-entry builds are for testing).")
    var boot: BootEntries = .both

    @Option(help: "NIC drivers to include, comma-separated: virtio, vmxnet3, e1000 (default: all three, the universal image).")
    var drivers: String?

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
        let request = KernelBuildRequest(
            appDirectory: resolve(appDirectory), output: output.map(resolve), bootEntries: boot,
            release: !debug, keepDebugInfo: keepDebugInfo, drivers: selected, skiffRoot: skiffRoot.map(resolve), scratchPath: scratchPath.map(resolve))
        let result = try KernelBuilder(request: request).build()
        print("\(result.appName): \(result.size) bytes, \(result.elf.path) (\(result.image.summary))")
    }
}
