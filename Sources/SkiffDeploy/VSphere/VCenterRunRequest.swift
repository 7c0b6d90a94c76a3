// The flags of `skiff run vcenter` that can be checked before anything is contacted.

public struct VCenterRunRequest: Sendable {
    public var image: String
    /// `--name` (default: the image's file name without .iso/.vmdk/.ova/.img).
    public var name: String? = nil
    public var memory = "256"
    public var cpus = "1"
    public var hardwareVersion = "14"
    /// `--disk SIZE`: a thin data disk.
    public var dataDisk: String? = nil

    public init(image: String) {
        self.image = image
    }

    /// vSphere sizes disks in KiB; a thin disk from 1 MiB to 62 TiB (VMFS's limit).
    public static let dataDiskRange: ClosedRange<UInt64> = (1 << 20)...(62 << 40)

    public func checked() throws(DeployError) -> VCenterRunPlan {
        var stem = image.split(separator: "/").last.map(String.init) ?? image
        for suffix in [".iso", ".vmdk", ".ova", ".img"] where stem.hasSuffix(suffix) && stem.count > suffix.count {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        let vmName = name ?? stem
        guard !vmName.isEmpty, vmName.count <= 80 else {
            throw .usage("--name \(vmName): a VM name has 1 to 80 characters")
        }
        // Kept out: what vSphere escapes in names (/ \ %), what datastore paths cannot carry ([ ]).
        guard !vmName.contains(where: { "/\\%[]".contains($0) }), !vmName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
              vmName.first != " ", vmName.last != " " else {
            throw .usage("--name \(VSphereFault.oneLine(vmName)): '/', '\\', '%', '[', ']', control characters and leading or trailing spaces cannot be in a VM name")
        }
        let memoryMiB = try QEMURunRequest.integer(memory, flag: "--memory", in: VMwareRunRequest.memoryRange, meaning: "a memory size in MiB")
        guard memoryMiB % 4 == 0 else { throw .usage("--memory \(memory): vSphere needs a multiple of 4 MiB") }
        let cpuCount = try QEMURunRequest.integer(cpus, flag: "--cpus", in: VMwareRunRequest.cpuRange, meaning: "a number of vCPUs")
        let hardware = try QEMURunRequest.integer(hardwareVersion, flag: "--hardware-version", in: VMwareRunRequest.hardwareVersionRange,
                                                  meaning: "a virtual hardware version")
        var dataDiskBytes: UInt64? = nil
        if let dataDisk {
            guard let bytes = VMwareRunRequest.size(dataDisk), Self.dataDiskRange.contains(bytes) else {
                throw .usage("--disk \(dataDisk): not a disk size (a number with K, M, G or T, e.g. 512M or 4G; 1M to 62T)")
            }
            dataDiskBytes = (bytes + 1023) / 1024 * 1024
        }
        return VCenterRunPlan(name: vmName, memoryMiB: memoryMiB, cpus: cpuCount, hardwareVersion: hardware, dataDiskBytes: dataDiskBytes)
    }
}

public struct VCenterRunPlan: Equatable, Sendable {
    public var name: String
    public var memoryMiB: Int
    public var cpus: Int
    public var hardwareVersion: Int
    public var dataDiskBytes: UInt64?
}
