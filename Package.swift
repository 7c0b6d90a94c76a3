// swift-tools-version:6.0
import PackageDescription

// Portable modules (SkiffWire, SkiffPlatform, SkiffStack) import neither Foundation nor Glibc and
// also build in Embedded Swift for x86_64-unknown-none-elf (see Kernel/toolset.json and
// Scripts/embedded-check.sh). Only SkiffHosted and the `skiff` command touch the host OS.
let package = Package(
    name: "Skiff",
    products: [
        .executable(name: "skiff", targets: ["skiff"]),
        .library(name: "SkiffWire", targets: ["SkiffWire"]),
        .library(name: "SkiffStack", targets: ["SkiffStack"]),
        // The kernel, linked into an application's bootable ELF by `skiff build` (never on the host).
        .library(name: "SkiffKernel", targets: ["SkiffKernel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "SkiffWire"),
        .target(name: "SkiffPlatform", dependencies: ["SkiffWire"]),
        .target(name: "SkiffStack", dependencies: ["SkiffWire", "SkiffPlatform"]),
        // Kernel: boot code and C shims (empty on Linux hosts), and the Swift kernel, whose hardware
        // parts are `#if os(none)`; the rest (boot information, allocators) is tested on the host.
        .target(name: "SkiffKernelC"),
        .target(name: "SkiffKernel", dependencies: ["SkiffKernelC", "SkiffWire", "SkiffPlatform"]),
        .target(name: "SkiffHosted", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]),
        .executableTarget(
            name: "skiff",
            dependencies: [
                "SkiffWire", "SkiffPlatform", "SkiffStack", "SkiffHosted",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SkiffWireTests", dependencies: ["SkiffWire"]),
        .testTarget(name: "SkiffKernelTests", dependencies: ["SkiffKernel"]),
        .testTarget(name: "SkiffStackTests", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]),
    ],
    swiftLanguageModes: [.v5]
)
