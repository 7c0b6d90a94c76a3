// The VirtualMachineConfigSpec of CreateVM_Task for a Skiff image: every element in the WSDL's
// order (vim25's complex types are XML Schema sequences, which vCenter enforces and the simulator
// does not), every value escaped.

/// The datastore path `[LocalDS_0] skiff/hello.iso`.
public func datastorePath(_ datastore: String, _ path: String) -> String {
    path.isEmpty ? "[\(datastore)]" : "[\(datastore)] \(path)"
}

/// What boots the VM.
public enum VSphereBootMedium: Equatable, Sendable {
    /// An ISO on a CD-ROM (the datastore path).
    case iso(String)
    /// A disk (the datastore path of its .vmdk and its capacity), on the LSI Logic controller.
    case disk(String, capacityKiB: UInt64)

}

public struct VSphereVMSpec: Equatable, Sendable {
    public var name: String
    /// The datastore the VM's folder is made on (its `[name]`).
    public var datastore: String
    public var memoryMiB: Int
    public var cpus: Int
    public var hardwareVersion: Int
    public var boot: VSphereBootMedium
    public var networks: [VSphereNetwork]
    /// A thin data disk, created with the VM (KiB).
    public var dataDiskKiB: UInt64?
    /// The .vmx's path inside the datastore when the VM's folder is chosen (it already holds the
    /// boot disk); nil lets the server make a folder named after the VM.
    public var vmxPath: String? = nil

    public init(name: String, datastore: String, memoryMiB: Int, cpus: Int, hardwareVersion: Int, boot: VSphereBootMedium,
                networks: [VSphereNetwork], dataDiskKiB: UInt64? = nil) {
        self.name = name
        self.datastore = datastore
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.hardwareVersion = hardwareVersion
        self.boot = boot
        self.networks = networks
        self.dataDiskKiB = dataDiskKiB
    }

    /// `other3xLinux64Guest` came with virtual hardware 10 (vSphere 5.5); older hardware gets
    /// `otherGuest64`. Both mean a 64-bit guest VMware knows nothing else about.
    public var guestId: String { hardwareVersion >= 10 ? "other3xLinux64Guest" : "otherGuest64" }

    /// The console: COM1 into this file in the VM's folder.
    public var serialFile: String { datastorePath(datastore, "\(name)/\(name).serial.log") }

    // Temporary (negative) device keys, which the server replaces.
    static let scsiKey = -100
    static let bootDiskKey = -101
    static let dataDiskKey = -102
    static let cdromKey = -103
    static let serialKey = -104
    static let ideKey = -105
    static func nicKey(_ index: Int) -> Int { -1 - index }

    var needsSCSI: Bool {
        if case .disk = boot { return true }
        return dataDiskKiB != nil
    }

    /// The `<config>` element (VirtualMachineConfigSpec).
    public func write(_ xml: inout XMLWriter) {
        xml.group("config") { xml in
            xml.element("name", name)
            xml.element("version", "vmx-\(hardwareVersion < 10 ? "0" : "")\(hardwareVersion)")
            xml.element("guestId", guestId)
            xml.group("files") { xml in
                // The datastore only: the server makes the folder `name/` and the files in it.
                xml.element("vmPathName", datastorePath(datastore, vmxPath ?? ""))
            }
            xml.element("numCPUs", cpus)
            xml.element("memoryMB", memoryMiB)
            if needsSCSI {
                // LSI Logic parallel: every VMware BIOS boots from it.
                deviceChange(&xml) { xml in
                    xml.group("device", type: "VirtualLsiLogicController") { xml in
                        xml.element("key", Self.scsiKey)
                        xml.element("busNumber", 0)
                        xml.element("sharedBus", "noSharing")
                    }
                }
            }
            var scsiUnit = 0
            if case .disk(let path, let capacityKiB) = boot {
                deviceChange(&xml) { xml in
                    xml.group("device", type: "VirtualDisk") { xml in
                        xml.element("key", Self.bootDiskKey)
                        xml.group("backing", type: "VirtualDiskFlatVer2BackingInfo") { xml in
                            xml.element("fileName", path)
                            xml.element("diskMode", "persistent")
                        }
                        xml.element("controllerKey", Self.scsiKey)
                        xml.element("unitNumber", scsiUnit)
                        // The existing disk's size (its header's capacity).
                        xml.element("capacityInKB", Int64(clamping: capacityKiB))
                    }
                }
                scsiUnit += 1
            }
            if let dataDiskKiB {
                deviceChange(&xml, fileOperation: "create") { xml in
                    xml.group("device", type: "VirtualDisk") { xml in
                        xml.element("key", Self.dataDiskKey)
                        xml.group("backing", type: "VirtualDiskFlatVer2BackingInfo") { xml in
                            // Empty: the server names it after the VM, in the VM's folder.
                            xml.element("fileName", "")
                            xml.element("diskMode", "persistent")
                            xml.element("thinProvisioned", true)
                        }
                        xml.element("controllerKey", Self.scsiKey)
                        xml.element("unitNumber", scsiUnit)
                        xml.element("capacityInKB", Int64(clamping: dataDiskKiB))
                    }
                }
            }
            for (index, network) in networks.enumerated() {
                deviceChange(&xml) { xml in
                    xml.group("device", type: "VirtualVmxnet3") { xml in
                        xml.element("key", Self.nicKey(index))
                        switch network {
                        case .standard(let reference, let name):
                            xml.group("backing", type: "VirtualEthernetCardNetworkBackingInfo") { xml in
                                xml.element("deviceName", name)
                                xml.reference("network", reference)
                            }
                        case .distributed(_, _, let switchUUID, let portgroupKey):
                            xml.group("backing", type: "VirtualEthernetCardDistributedVirtualPortBackingInfo") { xml in
                                xml.group("port") { xml in
                                    xml.element("switchUuid", switchUUID)
                                    xml.element("portgroupKey", portgroupKey)
                                }
                            }
                        }
                        connectable(&xml)
                        xml.element("addressType", "generated")
                    }
                }
            }
            if case .iso(let path) = boot {
                // The CD-ROM's controller, named in the spec as govc's vm.create does for -iso
                // (cli/vm/create.go): IDE bus 0. Every VM has IDE 0 and 1 among its default devices
                // (keys 200 and 201); a server takes this one as IDE 0 and moves the CD-ROM's
                // temporary controller key onto it (vcsim does the same since govmomi a9a1a9e;
                // older simulators add it as a third IDE controller). So the spec names no key the
                // server has not made yet (200 before it adds the default devices).
                deviceChange(&xml) { xml in
                    xml.group("device", type: "VirtualIDEController") { xml in
                        xml.element("key", Self.ideKey)
                        xml.element("busNumber", 0)
                    }
                }
                deviceChange(&xml) { xml in
                    xml.group("device", type: "VirtualCdrom") { xml in
                        xml.element("key", Self.cdromKey)
                        xml.group("backing", type: "VirtualCdromIsoBackingInfo") { xml in
                            xml.element("fileName", path)
                        }
                        connectable(&xml)
                        xml.element("controllerKey", Self.ideKey)
                        xml.element("unitNumber", 0)
                    }
                }
            }
            deviceChange(&xml) { xml in
                xml.group("device", type: "VirtualSerialPort") { xml in
                    xml.element("key", Self.serialKey)
                    xml.group("backing", type: "VirtualSerialPortFileBackingInfo") { xml in
                        xml.element("fileName", serialFile)
                    }
                    connectable(&xml)
                    // The guest polls the UART: give the CPU back while it does.
                    xml.element("yieldOnPoll", true)
                }
            }
            if case .iso = boot {
                // The CD-ROM first: the BIOS would otherwise try the data disk before it. (A disk
                // boot needs no order: the boot disk is the first disk.)
                xml.group("bootOptions") { xml in
                    xml.group("bootOrder", type: "VirtualMachineBootOptionsBootableCdromDevice") { _ in }
                }
            }
            // Skiff's images carry a BIOS boot loader.
            xml.element("firmware", "bios")
        }
    }

    func deviceChange(_ xml: inout XMLWriter, fileOperation: String? = nil, _ device: (inout XMLWriter) -> Void) {
        xml.group("deviceChange") { xml in
            xml.element("operation", "add")
            if let fileOperation { xml.element("fileOperation", fileOperation) }
            device(&xml)
        }
    }

    func connectable(_ xml: inout XMLWriter) {
        xml.group("connectable") { xml in
            xml.element("startConnected", true)
            xml.element("allowGuestControl", false)
            xml.element("connected", true)
        }
    }

    /// The whole CreateVM_Task request body.
    public func createVMBody(folder: ManagedObjectReference, pool: ManagedObjectReference, host: ManagedObjectReference?) -> String {
        SOAP.call("CreateVM_Task", this: folder) { xml in
            write(&xml)
            xml.reference("pool", pool)
            if let host { xml.reference("host", host) }
        }
    }
}
