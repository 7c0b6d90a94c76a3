import ArgumentParser
import Glibc
import SkiffDeploy

/// `skiff run vcenter <image>`: pushes an ISO or VMDK to a datastore, creates a VM for it through
/// the vSphere API, powers it on and follows its console file. The SOAP, inventory, datastore and
/// VM spec code is in SkiffDeploy/VSphere; this file orders the steps and reports them.
struct RunVCenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcenter",
        abstract: "Run a disk or CD image as a VM on vCenter or ESXi.",
        discussion: """
            Looks everything up first (datacenter, datastore, networks, host or cluster and \
            resource pool, VM folder; the name must not be taken), then uploads the image to \
            [DS] <ds-folder>/<file name> unless a file of the same size is there, creates the VM \
            (CreateVM_Task): --memory, --cpus, virtual hardware --hardware-version (default 14), \
            guest other3xLinux64Guest, BIOS, one VMXNET3 NIC per --network (standard or \
            distributed port groups), the ISO on an IDE CD-ROM or the VMDK on an LSI Logic \
            controller, COM1 into [DS] NAME/NAME.serial.log (the console, no VMware Tools \
            needed), and with --disk SIZE an empty thin data disk. Then it powers the VM on \
            (PowerOnVM_Task) unless --no-start, and follows the console file until the VM powers \
            off or skiff gets SIGINT/SIGTERM (the VM keeps running), unless --detach.

            --wait-ip [SECONDS] (default 300) waits for the guest's address and prints \
            `ip: A.B.C.D`: from guest.ipAddress or the guestinfo.ip value that Skiff's kernel \
            publishes over VMware's backdoor, else from the last `net:` line on the console.

            If a step fails after the VM was created, skiff destroys that VM again and says so; \
            the uploaded image stays on the datastore.

            A VMDK from 'skiff build --format vmdk' is monolithicSparse (a hosted format): it is \
            attached as it is. ESXi runs only its own disk formats: convert it on the host \
            (vmkfstools -i) or boot the ISO.

            Examples:
              export GOVC_URL=https://vc.example/sdk GOVC_USERNAME=admin GOVC_PASSWORD=...
              skiff run vcenter hello.iso --network "VM Network" --wait-ip
              skiff run vcenter ping.iso --host cluster1 --network DPortGroup --disk 1G --detach
            """
    )

    @Argument(help: ArgumentHelp("The image: an ISO (skiff build --format iso) or a VMDK (--format vmdk).", valueName: "image"))
    var image: String

    @OptionGroup(title: "Connection and placement")
    var vcenter: VCenterOptions

    @Option(name: .customLong("name"), help: ArgumentHelp("The VM's name (default: the image's file name without its extension).", valueName: "name"))
    var name: String? = nil

    @Option(name: .customLong("memory"), help: ArgumentHelp("Guest memory in MiB (16 to 131072, a multiple of 4).", valueName: "MiB"))
    var memory: String = "256"

    @Option(name: .customLong("cpus"), help: ArgumentHelp("vCPUs (1 to 32; Skiff uses one).", valueName: "n"))
    var cpus: String = "1"

    @Option(name: .customLong("hardware-version"), help: ArgumentHelp("Virtual hardware version, 7 to 21 (vmx-NN).", valueName: "n"))
    var hardwareVersion: String = "14"

    @Option(name: .customLong("disk"), help: ArgumentHelp("Add an empty thin data disk of this size (e.g. 512M, 4G).", valueName: "size"))
    var disk: String? = nil

    @Option(name: .customLong("ds-folder"), help: ArgumentHelp("The datastore folder for the image.", valueName: "path"))
    var dsFolder: String = "skiff"

    @Flag(name: .customLong("force"), help: "Upload the image even when a file of the same size is there.")
    var force = false

    @Flag(name: .customLong("no-start"), help: "Create the VM but do not power it on.")
    var noStart = false

    @Flag(name: .customLong("detach"), help: "Do not follow the console after powering on.")
    var detach = false

    @Option(name: .customLong("wait-ip"), help: ArgumentHelp("Wait up to SECONDS (default 300) for the guest's address and print `ip: ADDRESS`.", valueName: "seconds"))
    var waitIP: Int? = nil

    func run() throws {
        ChildProcess.blockStopSignals()
        let kind = try checkImageForVCenter(image).kind
        let plan = try checkedPlan()
        if let waitIP, noStart || waitIP < 1 || waitIP > 86_400 {
            throw CLIError.usage(noStart ? "--wait-ip needs the VM started (not with --no-start)" : "--wait-ip \(waitIP): not a number of seconds (1 to 86400)")
        }
        let folderPath = try deployStep { () throws(DeployError) in try DatastoreFile.checkRelativePath(dsFolder, flag: "--ds-folder") }

        let connection = try vcenter.connect()
        defer { connection.close() }
        let session = connection.session
        let settings = connection.settings
        let inventory = try connection.inventory()

        // Everything looked up before anything is created.
        let datacenter = try deployStep { () throws(DeployError) in try inventory.datacenter(settings.datacenter) }
        let datastore = try deployStep { () throws(DeployError) in try inventory.datastore(settings.datastore, in: datacenter) }
        let networks = try deployStep { () throws(DeployError) in try chooseNetworks(settings.networks, inventory: inventory, datacenter: datacenter) }
        let compute = try deployStep { () throws(DeployError) in try inventory.compute(host: settings.host, pool: settings.pool, in: datacenter) }
        let folder = try deployStep { () throws(DeployError) in try inventory.vmFolder(settings.vmFolder, in: datacenter) }
        if let note = compute.note { writeStandardError("skiff: \(note)\n") }
        let taken = inventory.tree.all(["VirtualMachine", "VirtualApp", "Folder"], under: folder.reference)
            .filter { $0.parent == folder.reference && $0.name == plan.name }
        if let existing = taken.first {
            throw CLIError.failure("--name \(plan.name): \(folder.path) already has a \(existing.reference.type == "VirtualMachine" ? "VM" : existing.reference.type) of that name (remove it with 'skiff rm vcenter \(plan.name)' or choose another --name)")
        }
        let vmx = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: "\(plan.name)/\(plan.name).vmx")
        if try deployStep({ () throws(DeployError) in try session.datastoreSize(vmx) }) != nil {
            throw CLIError.failure("--name \(plan.name): \(vmx.datastorePath) already exists on the datastore (a VM that is not in the inventory?); choose another --name")
        }

        let boot: VSphereBootMedium
        var vmxPath: String? = nil
        /// Where the image is, for messages after a failure.
        let leftImage: String
        var uploadedFolder: DatastoreFile? = nil
        if kind == .iso {
            let imageFile = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: folderPath + "/" + fileName(of: image))
            _ = try pushImage(image, to: imageFile, session: session, replace: force, reuseSameSize: true)
            boot = .iso(imageFile.datastorePath)
            leftImage = "the image stays at \(imageFile.datastorePath)"
        } else {
            // ESXi runs its own flat format, not the hosted sparse one: the disk is converted here
            // and uploaded into the VM's folder as NAME-boot.vmdk (descriptor) and its -flat extent.
            let disk = try uploadBootDisk(name: plan.name, hardwareVersion: plan.hardwareVersion, datacenter: datacenter,
                                          datastore: datastore.name, session: session)
            boot = .disk(disk.descriptor.datastorePath, capacityKiB: disk.capacitySectors / 2)
            vmxPath = "\(plan.name)/\(plan.name).vmx"
            uploadedFolder = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: plan.name)
            leftImage = "the boot disk's folder was deleted again"
        }

        var spec = VSphereVMSpec(
            name: plan.name, datastore: datastore.name, memoryMiB: plan.memoryMiB, cpus: plan.cpus, hardwareVersion: plan.hardwareVersion,
            boot: boot, networks: networks, dataDiskKiB: plan.dataDiskBytes.map { $0 / 1024 })
        spec.vmxPath = vmxPath
        let body = spec.createVMBody(folder: folder.reference, pool: compute.pool, host: compute.host)
        let result: XML.Element?
        do {
            result = try session.runTask("CreateVM_Task", body)
        } catch {
            var left = leftImage
            // A server may leave the VM's folder behind after a failed create (the simulator does):
            // it had no NAME.vmx before, so what is there now is from this attempt.
            if uploadedFolder == nil, (try? session.datastoreSize(vmx)) != nil {
                uploadedFolder = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: plan.name)
                left += "; the folder the failed create left was deleted"
            }
            if let uploadedFolder {
                do {
                    try session.deleteDatastoreFile(uploadedFolder, datacenter: datacenter.reference)
                } catch let cleanup {
                    left = "the uploaded boot disk is left in \(uploadedFolder.datastorePath): deleting it failed (\(cleanup.message))"
                }
            }
            throw CLIError.failure("\(error.message) (no VM was created; \(left))")
        }
        guard let vm = result.flatMap(ManagedObjectReference.init) else {
            throw CLIError.failure("vSphere: CreateVM_Task finished without naming the new VM; look for \(plan.name) in \(folder.path)")
        }
        writeStandardOutput("created: VM \(plan.name) (\(vm.value)) in \(folder.path)\n")
        writeStandardError("skiff: \(plan.name) on \(compute.label), \(networks.isEmpty ? "no NIC" : "NICs on " + networks.map(\.name).joined(separator: ", ")), console \(spec.serialFile)\n")

        guard !noStart else { return }
        do {
            try session.runTask("PowerOnVM_Task", SOAP.call("PowerOnVM_Task", this: vm))
        } catch {
            throw CLIError.failure(error.message + "; " + undo(vm, name: plan.name, session: session))
        }
        writeStandardOutput("powered on: \(plan.name)\n")
        if detach && waitIP == nil { return }

        let console = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: "\(plan.name)/\(plan.name).serial.log")
        let end = try deployStep { () throws(DeployError) in
            try VSphereWatch.run(
                session: session, vm: vm, console: console, followConsole: !detach, waitIP: waitIP.map(Double.init),
                output: { bytes in writeStandardOutputBytes(bytes) },
                onAddress: { ip, source in
                    writeStandardOutput("ip: \(ip)\n")
                    writeStandardError("skiff: the address is from \(source)\n")
                })
        }
        switch end {
        case .poweredOff:
            writeStandardError("skiff: \(plan.name) powered off\n")
        case .address:
            break
        case .noAddress:
            throw CLIError.failure("--wait-ip: no address after \(waitIP ?? 0) s (neither guest.ipAddress, guestinfo.ip nor a net: line on the console); the VM \(plan.name) keeps running")
        case .signal(let signal):
            writeStandardError("skiff: \(ChildProcess.signalName(signal)): stopped following; the VM still runs (stop it with: skiff stop vcenter \(ShellWords.quote(plan.name)))\n")
            throw ExitCode(128 + signal)
        }
    }

    /// The flags checked before anything is contacted.
    func checkedPlan() throws(CLIError) -> VCenterRunPlan {
        var request = VCenterRunRequest(image: image)
        request.name = name
        request.memory = memory
        request.cpus = cpus
        request.hardwareVersion = hardwareVersion
        request.dataDisk = disk
        return try deployStep { () throws(DeployError) in try request.checked() }
    }

    /// Converts the sparse VMDK into a flat disk in a temporary folder and uploads it as
    /// `[DS] NAME/NAME-boot.vmdk` and `NAME-boot-flat.vmdk`.
    func uploadBootDisk(name: String, hardwareVersion: Int, datacenter: VSphereDatacenter, datastore: String,
                        session: VSphereSession) throws(CLIError) -> (descriptor: DatastoreFile, capacitySectors: UInt64) {
        var template = Array((String(cString: getenv("TMPDIR") ?? strdup("/tmp")) + "/skiff-vcenter.XXXXXX").utf8CString)
        guard let directory = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw CLIError.failure("cannot make a temporary folder for the converted disk: \(String(cString: strerror(errno)))")
        }
        let flatName = "\(name)-boot-flat.vmdk", descriptorName = "\(name)-boot.vmdk"
        let localFlat = directory + "/flat.vmdk", localDescriptor = directory + "/descriptor.vmdk"
        defer {
            unlink(localFlat)
            unlink(localDescriptor)
            rmdir(directory)
        }
        let sectors = try deployStep { () throws(DeployError) in try SparseVMDK.extractFlat(from: image, to: localFlat) }
        let text = SparseVMDK.flatDescriptor(capacitySectors: sectors, flatFileName: flatName, hardwareVersion: hardwareVersion)
        guard let file = fopen(localDescriptor, "w"), fputs(text, file) >= 0, fclose(file) == 0 else {
            throw CLIError.failure("cannot write \(localDescriptor): \(String(cString: strerror(errno)))")
        }
        let flat = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore, path: "\(name)/\(flatName)")
        let descriptor = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore, path: "\(name)/\(descriptorName)")
        writeStandardError("skiff: \(fileName(of: image)) converted to a flat disk of \(sectors * 512) bytes for ESXi (\(descriptor.datastorePath))\n")
        _ = try pushImage(localFlat, to: flat, session: session, replace: false, reuseSameSize: false, label: fileName(of: image))
        _ = try pushImage(localDescriptor, to: descriptor, session: session, replace: false, reuseSameSize: false, label: descriptorName)
        return (descriptor, sectors)
    }

    /// Destroys the VM created a moment ago and says what happened, for the error line.
    func undo(_ vm: ManagedObjectReference, name: String, session: VSphereSession) -> String {
        do {
            try session.runTask("Destroy_Task", SOAP.call("Destroy_Task", this: vm))
            return "the VM \(name) (\(vm.value)) that skiff had just created was destroyed again"
        } catch {
            return "the VM \(name) (\(vm.value)) is left behind: destroying it failed too (\(error.message)); remove it with 'skiff rm vcenter \(name)'"
        }
    }
}

/// The NICs' networks: each --network (or GOVC_NETWORK/VCNETWORK), `none` for no NIC; by default
/// "VM Network" when the datacenter has one, else its only network.
func chooseNetworks(_ given: [String], inventory: VSphereInventory, datacenter: VSphereDatacenter) throws(DeployError) -> [VSphereNetwork] {
    if given == ["none"] { return [] }
    if !given.isEmpty {
        guard given.count <= 10 else { throw .usage("--network: at most 10 NICs (given \(given.count))") }
        var result: [VSphereNetwork] = []
        for name in given {
            guard name != "none" else { throw .usage("--network none: only alone (no NIC at all)") }
            result.append(try inventory.network(name, in: datacenter))
        }
        return result
    }
    let all = inventory.tree.all(["Network", "DistributedVirtualPortgroup"], under: datacenter.networkFolder)
    if all.contains(where: { $0.name == "VM Network" }) { return [try inventory.network("VM Network", in: datacenter)] }
    guard all.count == 1, let only = all.first else {
        throw .usage("--network: several networks in datacenter \(datacenter.name) (\(all.map(\.name).joined(separator: ", "))); name one with --network, GOVC_NETWORK or VCNETWORK (none for no NIC)")
    }
    return [try inventory.network(only.name, in: datacenter)]
}

func writeStandardOutputBytes(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        // In bounds: offset < bytes.count.
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
