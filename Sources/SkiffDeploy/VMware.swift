import Glibc
import SkiffWire

// `skiff run vmware`: VMware Workstation (Linux, Windows) and Fusion (macOS). What can be decided
// without VMware lives here: checking the flags and the image, the `.vmx` (VMXFile.swift), the
// files next to the image, and vmrun's command lines. Sources/skiff/RunVMware.swift writes the
// files, creates the data disk (SkiffImage's VMDK writer), runs vmrun and follows the console
// (SerialLogFollower).

/// vmrun's host type (`-T`).
public enum VMwareProduct: String, CaseIterable, Equatable, Sendable {
    /// Workstation (Linux and Windows hosts).
    case ws
    /// Fusion (macOS hosts).
    case fusion

    /// Fusion on macOS, Workstation elsewhere.
    public static var hostDefault: VMwareProduct {
        #if os(macOS)
        return .fusion
        #else
        return .ws
        #endif
    }
}

/// How a virtual NIC connects (`ethernetN.connectionType`).
public enum VMwareConnection: Equatable, Sendable {
    case nat
    case bridged
    case hostonly
    /// A named virtual network (`ethernetN.vnet`), e.g. vmnet2.
    case custom(vnet: String)

    public var connectionType: String {
        switch self {
        case .nat: return "nat"
        case .bridged: return "bridged"
        case .hostonly: return "hostonly"
        case .custom: return "custom"
        }
    }

    /// `nat`, `bridged`, `hostonly`, `custom:vmnetN` or `vmnetN` (as `--net` takes it).
    public static func parse(_ text: String) throws(DeployError) -> VMwareConnection {
        switch text {
        case "nat": return .nat
        case "bridged": return .bridged
        case "hostonly", "host-only": return .hostonly
        default:
            let vnet = text.hasPrefix("custom:") ? String(text.dropFirst("custom:".count)) : text
            if isVirtualNetworkName(vnet) { return .custom(vnet: vnet) }
            throw .usage("--net \(text): not a network (nat, bridged, hostonly, custom:vmnetN or vmnetN; none for no NIC)")
        }
    }

    /// `vmnet0` … `vmnet255` (Linux and macOS spell it in lower case, Windows `VMnet`).
    static func isVirtualNetworkName(_ name: String) -> Bool {
        guard name.lowercased().hasPrefix("vmnet") else { return false }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = Int(digits) else { return false }
        return number <= 255
    }
}

/// One virtual NIC: a VMXNET3 on a network, with a MAC VMware generates or a static one.
public struct VMwareNIC: Equatable, Sendable {
    public var connection: VMwareConnection
    /// nil: `addressType = "generated"`.
    public var mac: MACAddress?

    public init(connection: VMwareConnection, mac: MACAddress? = nil) {
        self.connection = connection
        self.mac = mac
    }

    /// VMware accepts static MACs only in its own block 00:50:56:00:00:00 – 00:50:56:3F:FF:FF
    /// (the rest of 00:50:56 and 00:0C:29 are what it generates itself).
    public static func isStaticRange(_ mac: MACAddress) -> Bool {
        let o = mac.octets
        return o.0 == 0x00 && o.1 == 0x50 && o.2 == 0x56 && o.3 <= 0x3F
    }
}

/// The controller a disk hangs on.
public enum VMwareDiskBus: String, CaseIterable, Equatable, Sendable {
    /// LSI Logic parallel SCSI (`scsi0.virtualDev = "lsilogic"`), which every VMware BIOS boots.
    case scsi
    /// AHCI (virtual hardware 10 or later).
    case sata
    case ide

    /// The first disk's and the second disk's device names: scsi0:0 and scsi0:1, and so on.
    func unit(_ index: Int) -> String { "\(rawValue)0:\(index)" }
}

/// What `skiff build` wrote, as far as VMware is concerned.
public enum VMwareImageKind: Equatable, Sendable {
    /// A monolithicSparse VMDK (`skiff build --format vmdk`): the boot disk.
    case vmdk
    /// An El Torito ISO 9660 image (`--format iso`): a CD-ROM.
    case iso

    /// Recognises the image from its first bytes (at least 32774 for an ISO) and names the fix
    /// for a format VMware cannot boot from a `.vmx`.
    public static func detect(_ header: [UInt8], path: String) throws(DeployError) -> VMwareImageKind {
        let build = "build it with 'skiff build <app> --format vmdk' (a disk) or '--format iso' (a CD-ROM)"
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            header.count >= offset + magic.count && Array(header[offset..<offset + magic.count]) == magic
        }
        if starts(Array("KDMV".utf8)) {
            // SparseExtentHeader.version: 1 monolithicSparse, 2 and 3 (markers) streamOptimized.
            let version = header.count >= 8 ? UInt32(header[4]) | UInt32(header[5]) << 8 | UInt32(header[6]) << 16 | UInt32(header[7]) << 24 : 0
            if version == 1 { return .vmdk }
            throw .usage("\(path): a streamOptimized VMDK (version \(version)), which is for OVF/OVA import and ESXi, not for a .vmx; build it with 'skiff build <app> --format vmdk' (monolithicSparse)")
        }
        // ISO 9660 §8.4: the primary volume descriptor at byte 32768, "CD001" from byte 32769.
        if starts(Array("CD001".utf8), at: 32769) { return .iso }
        if starts([0x7F, 0x45, 0x4C, 0x46]) {
            throw .usage("\(path): a kernel ELF; VMware boots a disk or CD image: \(build)")
        }
        if starts([0x51, 0x46, 0x49, 0xFB]) {
            throw .usage("\(path): a qcow2 image, which VMware does not read; \(build)")
        }
        if starts(Array("conectix".utf8)) {
            throw .usage("\(path): a VHD image, which VMware does not read; \(build)")
        }
        if starts([0x55, 0xAA], at: 510) {
            throw .usage("\(path): a raw disk image; VMware needs a VMDK: \(build)")
        }
        throw .usage("\(path): not a VMDK or ISO image; \(build)")
    }

    /// How many bytes `detect` needs to see.
    public static let headerBytes = 32774
}

/// The flags of `skiff run vmware` as given, before they are checked.
public struct VMwareRunRequest: Sendable {
    public var image: String
    /// `--name`: the VM's display name and the stem of the files written (default: the image's
    /// file name without its extension).
    public var name: String? = nil
    public var memory: String = "256"
    public var cpus: String = "1"
    public var hardwareVersion: String = "14"
    /// `--net`, once per NIC: nat, bridged, hostonly, custom:vmnetN; `none` for no NIC. Default: one NAT NIC.
    public var networks: [String] = []
    /// `--mac`: static MACs for the first NICs, in order.
    public var macs: [String] = []
    public var diskBus: String = "scsi"
    /// `--disk SIZE`: a data disk (e.g. 512M, 4G).
    public var dataDisk: String? = nil
    public var product: String? = nil
    public var force = false

    public init(image: String) {
        self.image = image
    }

    public static let memoryRange = 16...131_072
    public static let cpuRange = 1...32
    /// Virtual hardware 7 brought VMXNET3; 21 is the newest Workstation 17.5 and Fusion 13.5 know.
    public static let hardwareVersionRange = 7...21
    public static let maximumNICs = 10
    /// A data disk from 1 MiB to 1 TiB (a monolithicSparse extent stays below 2 TiB: its grain
    /// tables hold 32-bit sector numbers).
    public static let dataDiskRange: ClosedRange<UInt64> = (1 << 20)...(1 << 40)

    /// The checked machine. The image is read (its first bytes); nothing is created.
    public func checked() throws(DeployError) -> VMwareMachine {
        try HostFile.requireRegularFile(image, label: image,
                                        missingHint: " (build one with 'skiff build <app> --format vmdk' or '--format iso')")
        let header: [UInt8]
        do {
            header = try HostFile.readPrefix(image, count: VMwareImageKind.headerBytes)
        } catch {
            throw .usage("\(image): cannot read: \(error.message)")
        }
        let kind = try VMwareImageKind.detect(header, path: image)

        let fileName = image.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? image
        let directory = HostFile.parentDirectory(of: image)
        var stem = fileName
        for suffix in [".vmdk", ".iso", ".img"] where stem.hasSuffix(suffix) && stem.count > suffix.count {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        let vmName = name ?? stem
        guard !vmName.isEmpty, !vmName.contains("/"), vmName != ".", vmName != ".." else {
            throw .usage("--name \(vmName): not usable as a file name (no '/', not empty)")
        }
        guard !vmName.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw .usage("--name: control characters cannot be in a file name")
        }

        let memoryMiB = try QEMURunRequest.integer(memory, flag: "--memory", in: Self.memoryRange, meaning: "a memory size in MiB")
        guard memoryMiB % 4 == 0 else {
            throw .usage("--memory \(memory): VMware needs a multiple of 4 MiB")
        }
        let cpuCount = try QEMURunRequest.integer(cpus, flag: "--cpus", in: Self.cpuRange, meaning: "a number of vCPUs")
        let hardware = try QEMURunRequest.integer(hardwareVersion, flag: "--hardware-version", in: Self.hardwareVersionRange,
                                                  meaning: "a virtual hardware version")
        guard let bus = VMwareDiskBus(rawValue: diskBus) else {
            throw .usage("--disk-bus \(diskBus): not a disk controller (scsi, sata or ide)")
        }
        if bus == .sata && hardware < 10 {
            throw .usage("--disk-bus sata needs --hardware-version 10 or later (given \(hardware))")
        }
        let productChoice: VMwareProduct
        if let product {
            guard let parsed = VMwareProduct(rawValue: product) else {
                throw .usage("--product \(product): not a VMware product (ws or fusion)")
            }
            productChoice = parsed
        } else {
            productChoice = .hostDefault
        }

        var connections: [VMwareConnection] = []
        if networks == ["none"] {
            connections = []
        } else if networks.isEmpty {
            connections = [.nat]
        } else {
            for text in networks {
                if text == "none" { throw .usage("--net none: means no NIC at all; do not combine it with other --net") }
                connections.append(try VMwareConnection.parse(text))
            }
        }
        guard connections.count <= Self.maximumNICs else {
            throw .usage("--net: \(connections.count) NICs; a VMware virtual machine has at most \(Self.maximumNICs)")
        }
        guard macs.count <= connections.count else {
            throw .usage("--mac: given \(macs.count) times for \(connections.count) NIC\(connections.count == 1 ? "" : "s"); give at most one --mac per --net")
        }
        var nics = connections.map { VMwareNIC(connection: $0) }
        for (index, text) in macs.enumerated() {
            guard let mac = MACAddress(text) else {
                throw .usage("--mac \(text): not a MAC address (aa:bb:cc:dd:ee:ff)")
            }
            guard VMwareNIC.isStaticRange(mac) else {
                throw .usage("--mac \(text): VMware accepts static MAC addresses only from 00:50:56:00:00:00 to 00:50:56:3f:ff:ff")
            }
            if nics[..<index].contains(where: { $0.mac == mac }) {
                throw .usage("--mac \(text): given twice; each NIC needs its own address")
            }
            nics[index].mac = mac
        }

        var dataDiskBytes: UInt64? = nil
        if let dataDisk {
            guard let bytes = Self.size(dataDisk), Self.dataDiskRange.contains(bytes) else {
                throw .usage("--disk \(dataDisk): not a disk size (a number with K, M, G or T, e.g. 512M or 4G; 1M to 1T)")
            }
            dataDiskBytes = (bytes + 511) / 512 * 512
        }

        return VMwareMachine(
            name: vmName, directory: directory, bootImage: fileName, bootKind: kind, memoryMiB: memoryMiB, cpus: cpuCount,
            hardwareVersion: hardware, nics: nics, diskBus: bus, dataDiskBytes: dataDiskBytes, product: productChoice)
    }

    /// `512M`, `4G`, `1T`, `65536K` or bytes; binary units (K = 1024).
    public static func size(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var scale: UInt64 = 1
        if let last = digits.last, !last.isNumber {
            switch last {
            case "K", "k": scale = 1 << 10
            case "M", "m": scale = 1 << 20
            case "G", "g": scale = 1 << 30
            case "T", "t": scale = 1 << 40
            default: return nil
            }
            digits = digits.dropLast()
            if digits.last == "i" { return nil }
        }
        guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
}

/// A checked `skiff run vmware` machine and the files it consists of, all in `directory` (the
/// image's folder) and named after `name`: `<name>.vmx`, `<name>.serial.log` (the console),
/// `<name>.nvram` (VMware writes it), `<name>-data.vmdk` (with `--disk`).
public struct VMwareMachine: Equatable, Sendable {
    public var name: String
    public var directory: String
    /// The image's file name in `directory` (the `.vmx` names it relative to its own folder).
    public var bootImage: String
    public var bootKind: VMwareImageKind
    public var memoryMiB: Int
    public var cpus: Int
    public var hardwareVersion: Int
    public var nics: [VMwareNIC]
    public var diskBus: VMwareDiskBus
    public var dataDiskBytes: UInt64?
    public var product: VMwareProduct

    public static let program = "vmrun"

    public var vmxFileName: String { name + ".vmx" }
    public var serialFileName: String { name + ".serial.log" }
    public var dataDiskFileName: String { name + "-data.vmdk" }
    public var vmxPath: String { path(vmxFileName) }
    public var serialPath: String { path(serialFileName) }
    public var dataDiskPath: String { path(dataDiskFileName) }

    func path(_ file: String) -> String { directory == "." ? file : directory + "/" + file }

    /// The `.vmx`, key by key.
    public var vmx: VMXFile {
        var vmx = VMXFile()
        vmx[".encoding"] = "UTF-8"
        vmx["config.version"] = "8"
        vmx["virtualHW.version"] = String(hardwareVersion)
        vmx["displayName"] = name
        vmx["guestOS"] = "other-64"
        // Skiff's images carry a BIOS boot loader (Sources/SkiffBootLoader).
        vmx["firmware"] = "bios"
        vmx["memsize"] = String(memoryMiB)
        vmx["numvcpus"] = String(cpus)
        vmx["nvram"] = name + ".nvram"
        // The PCI and PCIe bridges VMware's own wizards add: VMXNET3 NICs are placed behind the
        // root ports (the kernel's PCI scan follows bridges).
        vmx["pciBridge0.present"] = "TRUE"
        for bridge in 4...7 {
            vmx["pciBridge\(bridge).present"] = "TRUE"
            vmx["pciBridge\(bridge).virtualDev"] = "pcieRootPort"
            vmx["pciBridge\(bridge).functions"] = "8"
        }

        var disks: [String] = []
        if bootKind == .vmdk { disks.append(bootImage) }
        if dataDiskBytes != nil { disks.append(dataDiskFileName) }
        if !disks.isEmpty {
            let controller = "\(diskBus.rawValue)0"
            vmx["\(controller).present"] = "TRUE"
            if diskBus == .scsi { vmx["\(controller).virtualDev"] = "lsilogic" }
            for (index, file) in disks.enumerated() {
                let unit = diskBus.unit(index)
                vmx["\(unit).present"] = "TRUE"
                vmx["\(unit).fileName"] = file
            }
        }
        if bootKind == .iso {
            // The secondary IDE channel's master, where VMware puts a CD-ROM.
            vmx["ide1:0.present"] = "TRUE"
            vmx["ide1:0.deviceType"] = "cdrom-image"
            vmx["ide1:0.fileName"] = bootImage
            vmx["ide1:0.startConnected"] = "TRUE"
        }

        for (index, nic) in nics.enumerated() {
            let prefix = "ethernet\(index)"
            vmx["\(prefix).present"] = "TRUE"
            vmx["\(prefix).virtualDev"] = "vmxnet3"
            vmx["\(prefix).connectionType"] = nic.connection.connectionType
            if case .custom(let vnet) = nic.connection { vmx["\(prefix).vnet"] = vnet }
            if let mac = nic.mac {
                vmx["\(prefix).addressType"] = "static"
                vmx["\(prefix).address"] = mac.description
            } else {
                vmx["\(prefix).addressType"] = "generated"
            }
            vmx["\(prefix).startConnected"] = "TRUE"
        }

        // COM1, which the kernel's console writes, into a file next to the .vmx.
        vmx["serial0.present"] = "TRUE"
        vmx["serial0.fileType"] = "file"
        vmx["serial0.fileName"] = serialFileName
        vmx["serial0.yieldOnMsrRead"] = "TRUE"

        // Boot the image, not the data disk.
        if bootKind == .iso {
            vmx["bios.bootOrder"] = "cdrom"
        } else {
            vmx["bios.bootOrder"] = "hdd"
            vmx["bios.hddOrder"] = diskBus.unit(0)
        }
        // No dialogs under `nogui` (e.g. "moved or copied?"): the default answer is taken.
        vmx["msg.autoAnswer"] = "TRUE"
        vmx["tools.syncTime"] = "FALSE"
        return vmx
    }

    /// `vmrun -T ws start <vmx> nogui`, `vmrun` being the program's path.
    public func startArguments(vmrun: String) -> [String] {
        [vmrun, "-T", product.rawValue, "start", vmxPath, "nogui"]
    }

    /// `vmrun -T ws list`: its output names the running VMs' .vmx files, one per line.
    public func listArguments(vmrun: String) -> [String] {
        [vmrun, "-T", product.rawValue, "list"]
    }

    /// `vmrun -T ws stop <vmx> soft`, for the hint printed when skiff stops following.
    public func stopArguments(vmrun: String) -> [String] {
        [vmrun, "-T", product.rawValue, "stop", vmxPath, "soft"]
    }

    /// Whether `vmrun list`'s output names this machine's .vmx (given as an absolute path).
    public static func listOutput(_ output: String, contains absoluteVMX: String) -> Bool {
        output.split(separator: "\n").contains { $0.trimmingSpacesAndReturns == absoluteVMX }
    }
}

extension Substring {
    var trimmingSpacesAndReturns: String { String(self).trimmingSpaces }
}

/// Where vmrun is: the first `vmrun` on PATH, else where Fusion keeps it on macOS.
public enum VMwareTools {
    public static let fusionVMRun = "/Applications/VMware Fusion.app/Contents/Library/vmrun"

    public static func findVMRun(path: String? = nil) -> String? {
        if let found = Executables.find(VMwareMachine.program, path: path) { return found }
        #if os(macOS)
        if access(fusionVMRun, X_OK) == 0 { return fusionVMRun }
        #endif
        return nil
    }
}
