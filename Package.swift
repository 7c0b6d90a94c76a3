// swift-tools-version:6.0
import PackageDescription

// Portable modules (SkiffWire, SkiffPlatform, SkiffStack, SkiffServices) import neither Foundation
// nor Glibc and also build in Embedded Swift for x86_64-unknown-none-elf (see Kernel/toolset.json
// and Scripts/embedded-check.sh). Only SkiffHosted and the `skiff` command touch the host OS.
let package = Package(
    name: "Skiff",
    products: [
        .executable(name: "skiff", targets: ["skiff"]),
        .library(name: "SkiffWire", targets: ["SkiffWire"]),
        .library(name: "SkiffPlatform", targets: ["SkiffPlatform"]),
        .library(name: "SkiffStack", targets: ["SkiffStack"]),
        .library(name: "SkiffServices", targets: ["SkiffServices"]),
        .library(name: "SkiffConfig", targets: ["SkiffConfig"]),
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
        .target(name: "SkiffServices", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]),
        // Boot-time configuration: the kernel command line (`ip=`), applied to a stack, and the
        // `net:`/`route:` report lines. Portable, like the modules above.
        .target(name: "SkiffConfig", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]),
        .target(name: "SkiffHosted", dependencies: ["SkiffWire", "SkiffPlatform"]),
        // Deploy backends, hosted only (may use Foundation): one file per hypervisor (QEMU today).
        .target(name: "SkiffDeploy", dependencies: ["SkiffWire", "SkiffTLSC", "SkiffImage"]),
        // OpenSSL 3 (libssl-dev) for SkiffDeploy's HTTPS client: the calls Swift cannot make
        // directly (macros), behind one opaque handle.
        .target(
            name: "SkiffTLSC",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // Skiff's BIOS boot loader, assembled on the host as data (x86 hosts only), and the raw
        // and ISO image writers that carry it; hosted only.
        .target(name: "SkiffBootLoader"),
        .target(name: "SkiffImage", dependencies: ["SkiffBootLoader", "SkiffWire"]),
        // Kernel: boot code and C shims (empty on Linux hosts), and the Swift kernel, whose hardware
        // parts are `#if os(none)`; the rest (boot information, allocators) is tested on the host.
        .target(name: "SkiffKernelC"),
        .target(name: "SkiffKernel", dependencies: ["SkiffKernelC", "SkiffWire", "SkiffPlatform"]),
        .executableTarget(
            name: "skiff",
            dependencies: [
                "SkiffWire", "SkiffPlatform", "SkiffStack", "SkiffServices", "SkiffHosted", "SkiffConfig", "SkiffDeploy", "SkiffImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Workloads for Scripts/bench.sh (instruction counts under callgrind); never a test.
        .executableTarget(
            name: "skiff-bench",
            dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]
        ),
        .testTarget(name: "SkiffWireTests", dependencies: ["SkiffWire"]),
        .testTarget(name: "SkiffKernelTests", dependencies: ["SkiffKernel"]),
        .testTarget(name: "SkiffStackTests", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack"]),
        .testTarget(name: "SkiffServicesTests", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack", "SkiffServices"]),
        .testTarget(name: "SkiffConfigTests", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack", "SkiffConfig"]),
        .testTarget(name: "SkiffHostedTests", dependencies: ["SkiffWire", "SkiffPlatform", "SkiffStack", "SkiffHosted"]),
        .testTarget(name: "SkiffDeployTests", dependencies: ["SkiffWire", "SkiffDeploy"]),
        .testTarget(name: "SkiffImageTests", dependencies: ["SkiffImage", "SkiffWire"]),
    ],
    swiftLanguageModes: [.v5]
)
