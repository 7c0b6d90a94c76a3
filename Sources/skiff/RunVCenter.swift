import ArgumentParser
import Glibc
import SkiffDeploy

/// `skiff run vcenter <image>`: pushes an ISO or VMDK to a datastore, creates a VM for it through
/// the vSphere API, powers it on and follows its console file. The SOAP, inventory, datastore and
/// VM spec code is in SkiffDeploy/VSphere; this file orders the steps and reports them.
struct RunVCenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcenter",
        abstract: "Run a disk or CD image or an OVA as a VM on vCenter or ESXi.",
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
            the uploaded image stays on the datastore. A failed upload leaves no partial file, \
            and what a failed create left in [DS] NAME/ is deleted (all of it when the folder is \
            new, else only what this run added). SIGINT or SIGTERM before the VM runs stops \
            skiff at the next step (an upload at once) and undoes the same way (exit status \
            128 + the signal).

            A VMDK from 'skiff build --format vmdk' is monolithicSparse, a hosted format ESXi does \
            not run: skiff reads it into ESXi's flat format and uploads that into the VM's folder \
            as [DS] NAME/NAME-boot.vmdk and NAME-boot-flat.vmdk (the whole disk, zeros included). \
            An OVA ('skiff build --format ova') is imported instead: OvfManager.CreateImportSpec \
            (the OVF's networks mapped onto --network in order), ImportVApp and its NFC lease \
            (the streamOptimized disk uploaded), then the serial port, --cpus, --memory and \
            --disk set with ReconfigVM_Task.

            Examples:
              export GOVC_URL=https://vc.example/sdk GOVC_USERNAME=admin GOVC_PASSWORD=...
              skiff run vcenter hello.iso --network "VM Network" --wait-ip
              skiff run vcenter ping.iso --host cluster1 --network DPortGroup --disk 1G --detach
            """
    )

    @Argument(help: ArgumentHelp("The image: an ISO (skiff build --format iso), a VMDK (--format vmdk) or an OVA (--format ova).", valueName: "image"))
    var image: String

    @OptionGroup(title: "Connection")
    var vcenter: VCenterOptions

    @OptionGroup(title: "Placement")
    var datastoreOption: VCenterDatastoreOption

    @OptionGroup(title: "Placement")
    var folderOption: VCenterFolderOption

    @OptionGroup(title: "Placement")
    var placement: VCenterPlacementOptions

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
        let kind = try checkImageForVCenter(image, allowOVA: true).kind
        let plan = try checkedPlan()
        if let waitIP, noStart || waitIP < 1 || waitIP > 86_400 {
            throw CLIError.usage(noStart ? "--wait-ip needs the VM started (not with --no-start)" : "--wait-ip \(waitIP): not a number of seconds (1 to 86400)")
        }
        let folderPath = try deployStep { () throws(DeployError) in try DatastoreFile.checkRelativePath(dsFolder, flag: "--ds-folder") }

        StopSignal.block()
        let connection = try vcenter.connect(datastore: datastoreOption, folder: folderOption, placement: placement)
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

        try StopSignal.checkpoint("before anything was created")

        let vm: ManagedObjectReference
        /// Takes away what this run made in [DS] NAME/ (not for an OVA: its lease and the VM's
        /// destruction do).
        var cleanUp: () -> String = { "" }
        if kind == .ova {
            vm = try importOVA(plan: plan, session: session, datacenter: datacenter, datastore: datastore, networks: networks,
                               compute: compute, folder: folder.reference)
        } else {
            let vmFolder = try VMFolderCleanup(session: session, datacenter: datacenter, datastore: datastore, name: plan.name)
            cleanUp = vmFolder.run
            vm = try createVM(kind: kind, plan: plan, session: session, datacenter: datacenter, datastore: datastore.name, networks: networks,
                              compute: compute, folder: folder, folderPath: folderPath, vmFolder: vmFolder)
        }
        // From here on, once the VM runs, SIGINT/SIGTERM are taken by the console follower (skiff
        // says what it leaves running); until then they undo what this run made.
        try StopSignal.checkpoint("after creating the VM") { "; " + undo(vm, name: plan.name, session: session) + cleanUp() }
        writeStandardOutput("created: VM \(plan.name) (\(vm.value)) in \(folder.path)\n")
        writeStandardError("skiff: \(plan.name) on \(compute.label), \(networks.isEmpty ? "no NIC" : "NICs on " + networks.map(\.name).joined(separator: ", ")), console \(datastorePath(datastore.name, "\(plan.name)/\(plan.name).serial.log"))\n")

        guard !noStart else { return }
        do {
            try session.runTask("PowerOnVM_Task", SOAP.call("PowerOnVM_Task", this: vm))
        } catch {
            throw CLIError(message: error.message + "; " + undo(vm, name: plan.name, session: session) + cleanUp(), status: StopSignal.status(1))
        }
        writeStandardOutput("powered on: \(plan.name)\n")
        if detach && waitIP == nil { return }

        let console = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: "\(plan.name)/\(plan.name).serial.log")
        let end: VSphereWatch.End
        do {
            end = try VSphereWatch.run(
                session: session, vm: vm, console: console, followConsole: !detach, waitIP: waitIP.map(Double.init),
                output: { bytes in writeStandardOutputBytes(bytes) },
                onAddress: { ip, source in
                    writeStandardOutput("ip: \(ip)\n")
                    writeStandardError("skiff: the address is from \(source)\n")
                })
        } catch {
            throw CLIError.failure("\(error.message); the VM \(plan.name) keeps running (skiff stop vcenter \(ShellWords.quote(plan.name)))")
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

    /// Uploads the image (an ISO to --ds-folder, a VMDK converted into the VM's folder) and
    /// creates the VM with CreateVM_Task. On failure nothing is left but the pushed ISO.
    func createVM(kind: VCenterImageKind, plan: VCenterRunPlan, session: VSphereSession, datacenter: VSphereDatacenter, datastore: String,
                  networks: [VSphereNetwork], compute: VSphereCompute, folder: (reference: ManagedObjectReference, path: String),
                  folderPath: String, vmFolder: VMFolderCleanup) throws(CLIError) -> ManagedObjectReference {
        let boot: VSphereBootMedium
        /// Where the image is, for messages after a failure.
        var leftImage = ""
        if kind == .iso {
            let imageFile = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore, path: folderPath + "/" + fileName(of: image))
            // Into NAME/ itself (--ds-folder NAME): the image stays, whatever else goes.
            vmFolder.keep(imageFile)
            do {
                _ = try pushImage(image, to: imageFile, session: session, datacenter: datacenter.reference, replace: force, reuseSameSize: true)
            } catch {
                throw CLIError(message: error.message + " (no VM was created" + vmFolder.run() + ")", status: error.status)
            }
            boot = .iso(imageFile.datastorePath)
            leftImage = "; the image stays at \(imageFile.datastorePath)"
        } else {
            // ESXi runs its own flat format, not the hosted sparse one: the disk is converted here
            // and uploaded into the VM's folder as NAME-boot.vmdk (descriptor) and its -flat extent.
            let disk: (descriptor: DatastoreFile, capacitySectors: UInt64)
            do {
                disk = try uploadBootDisk(name: plan.name, hardwareVersion: plan.hardwareVersion, datacenter: datacenter,
                                          datastore: datastore, session: session)
            } catch {
                throw CLIError(message: error.message + " (no VM was created" + vmFolder.run() + ")", status: error.status)
            }
            boot = .disk(disk.descriptor.datastorePath, capacityKiB: disk.capacitySectors / 2)
        }
        try StopSignal.checkpoint("before creating the VM") { vmFolder.run() + leftImage }

        var spec = VSphereVMSpec(
            name: plan.name, datastore: datastore, memoryMiB: plan.memoryMiB, cpus: plan.cpus, hardwareVersion: plan.hardwareVersion,
            boot: boot, networks: networks, dataDiskKiB: plan.dataDiskBytes.map { $0 / 1024 })
        // When NAME/ is there already (the boot disk's, or a folder of the user's), the VM goes
        // into it, not into one the server names NAME_1 where a failed create's files would hide;
        // otherwise the server makes NAME/.
        if kind == .vmdk || vmFolder.existedBefore || vmFolder.keepsSomething {
            spec.vmxPath = "\(plan.name)/\(plan.name).vmx"
        }
        let body = spec.createVMBody(folder: folder.reference, pool: compute.pool, host: compute.host)
        let result: XML.Element?
        do {
            result = try session.runTask("CreateVM_Task", body)
        } catch {
            // A server may leave files after a failed create (the simulator: NAME.vmx, the
            // nvram, vmware.log, a new data disk): what this run added to NAME/ goes.
            throw CLIError(message: "\(error.message) (no VM was created\(leftImage)\(vmFolder.run()))", status: StopSignal.status(1))
        }
        guard let vm = result.flatMap(ManagedObjectReference.init) else {
            throw CLIError.failure("vSphere: CreateVM_Task finished without naming the new VM; look for \(plan.name) in \(folder.path)")
        }
        return vm
    }

    /// Imports an OVA (OvfManager.CreateImportSpec, ImportVApp, the disks through the NFC lease),
    /// then sets what the OVF does not: the serial port's file, vCPUs, memory, the data disk. On
    /// failure the lease is aborted and the VM it made destroyed.
    func importOVA(plan: VCenterRunPlan, session: VSphereSession, datacenter: VSphereDatacenter,
                   datastore: (reference: ManagedObjectReference, name: String), networks: [VSphereNetwork],
                   compute: VSphereCompute, folder: ManagedObjectReference) throws(CLIError) -> ManagedObjectReference {
        let archive = try deployStep { () throws(DeployError) in try OVAArchive(path: image) }
        let text = try deployStep { () throws(DeployError) in try archive.descriptorText() }
        let ovf = try deployStep { () throws(DeployError) in try OVFDescriptor(text) }
        // The OVF's networks in order onto the --network ones (the last one takes the rest).
        var mapping: [(ovfName: String, network: ManagedObjectReference)] = []
        if !networks.isEmpty {
            for (index, name) in ovf.networks.enumerated() {
                mapping.append((name, networks[min(index, networks.count - 1)].reference))
            }
        }
        let spec = try deployStep { () throws(DeployError) in
            try session.createImportSpec(descriptor: text, pool: compute.pool, datastore: datastore.reference, name: plan.name,
                                         networkMapping: mapping)
        }
        if let error = spec.errors.first {
            throw CLIError.failure("vSphere: CreateImportSpec: \(error) (nothing was created)")
        }
        for warning in spec.warnings { writeStandardError("skiff: import warning: \(warning)\n") }
        if !spec.unsupported.isEmpty {
            writeStandardError("skiff: the server maps no serial port from the OVF; skiff adds one after the import\n")
        }
        var uploads: [(item: OVFImportSpec.FileItem, member: OVAArchive.Member)] = []
        for item in spec.fileItems {
            guard let member = archive.member(named: item.path) else {
                throw CLIError.usage("\(image): the OVF names \(item.path), which is not in the archive")
            }
            uploads.append((item, member))
        }

        try StopSignal.checkpoint("before the import")
        let lease = try deployStep { () throws(DeployError) in
            try session.importVApp(spec, pool: compute.pool, folder: folder, host: compute.host)
        }
        var entity: ManagedObjectReference? = nil
        do throws(DeployError) {
            let info = try session.waitForLease(lease)
            entity = info.entity
            try StopSignal.throwIfPending()
            let total = uploads.reduce(UInt64(0)) { $0 + $1.member.size }
            // The lease expires without HttpNfcLeaseProgress: one before each file (extracting it
            // takes a while) and every 30 s while it goes, on the session's connection (the
            // upload has its own).
            let leaseProgress = NFCLeaseProgress(session: session, lease: lease, total: total)
            var done: UInt64 = 0
            for upload in uploads {
                guard let url = info.deviceURLs.first(where: { $0.importKey == upload.item.deviceId }) else {
                    throw DeployError.failure("vSphere: the import lease has no URL for \(upload.item.deviceId) (\(upload.item.path))")
                }
                let local = try temporaryCopy(of: upload.member, in: archive)
                defer { unlink(local) }
                try StopSignal.throwIfPending()
                leaseProgress.reportNow(done: done)
                let progress = UploadProgress(label: upload.item.path)
                let before = done
                try session.nfcUpload(local, to: url, create: upload.item.create) { (sent, size) throws(DeployError) in
                    progress.update(sent, size)
                    leaseProgress.report(done: before + sent)
                    try StopSignal.throwIfPending()
                }
                done += upload.member.size
            }
            try StopSignal.throwIfPending()
            try session.leaseComplete(lease)
        } catch {
            var left: String
            do {
                try session.leaseAbort(lease, reason: "skiff: \(error.message)")
                left = "the import was aborted"
            } catch let abort {
                left = "aborting the import lease failed too (\(abort.message))"
            }
            if let entity, (try? session.properties(of: entity, ["name"])) != nil {
                left += "; " + undo(entity, name: plan.name, session: session)
            }
            throw CLIError(message: "\(error.message) (\(left))", status: StopSignal.status(1))
        }
        guard let vm = entity else {
            throw CLIError.failure("vSphere: the import lease named no VM; look for \(plan.name) in the inventory")
        }
        writeStandardOutput("imported: \(fileName(of: image)) as \(plan.name)\n")
        do {
            let devices = VSphereDevice.list(try session.properties(of: vm, ["config.hardware.device"])?.properties["config.hardware.device"])
            let reconfiguration = VSphereImportReconfiguration(
                cpus: plan.cpus, memoryMiB: plan.memoryMiB, serialFile: datastorePath(datastore.name, "\(plan.name)/\(plan.name).serial.log"),
                dataDiskKiB: plan.dataDiskBytes.map { $0 / 1024 }, devices: devices)
            try session.runTask("ReconfigVM_Task", try reconfiguration.body(vm: vm))
        } catch {
            throw CLIError(message: error.message + "; " + undo(vm, name: plan.name, session: session), status: StopSignal.status(1))
        }
        return vm
    }

    /// The member copied into a temporary file (a body of known length for the client).
    func temporaryCopy(of member: OVAArchive.Member, in archive: OVAArchive) throws(DeployError) -> String {
        var template = Array(((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/skiff-ova.XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw .failure("cannot make a temporary file: \(String(cString: strerror(errno)))") }
        close(descriptor)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        do {
            try archive.extract(member, to: path)
        } catch {
            unlink(path)
            throw error
        }
        return path
    }

    /// Converts the sparse VMDK into a flat disk in a temporary folder and uploads it as
    /// `[DS] NAME/NAME-boot.vmdk` and `NAME-boot-flat.vmdk`.
    func uploadBootDisk(name: String, hardwareVersion: Int, datacenter: VSphereDatacenter, datastore: String,
                        session: VSphereSession) throws(CLIError) -> (descriptor: DatastoreFile, capacitySectors: UInt64) {
        var template = Array(((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/skiff-vcenter.XXXXXX").utf8CString)
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
        _ = try pushImage(localFlat, to: flat, session: session, datacenter: datacenter.reference, replace: force, reuseSameSize: false,
                          label: fileName(of: image))
        _ = try pushImage(localDescriptor, to: descriptor, session: session, datacenter: datacenter.reference, replace: force,
                          reuseSameSize: false, label: descriptorName)
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

/// [DS] NAME/ as it was before the run wrote anything (listed with SearchDatastore_Task), and
/// after a failure what this run added to it taken away again: the whole folder when it is new,
/// else the new entries, never the image this run leaves there on purpose.
final class VMFolderCleanup {
    let session: VSphereSession
    let datacenter: ManagedObjectReference
    let datastore: ManagedObjectReference
    let folder: DatastoreFile
    let before: [String]?
    private var kept: Set<String> = []

    init(session: VSphereSession, datacenter: VSphereDatacenter, datastore: (reference: ManagedObjectReference, name: String),
         name: String) throws(CLIError) {
        self.session = session
        self.datacenter = datacenter.reference
        self.datastore = datastore.reference
        folder = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: name)
        let folder = self.folder
        before = try deployStep { () throws(DeployError) in try session.datastoreFolderEntries(folder, datastore: datastore.reference) }
    }

    var existedBefore: Bool { before != nil }
    var keepsSomething: Bool { !kept.isEmpty }

    /// A file this run leaves on purpose: if it is inside NAME/, its entry there is kept.
    func keep(_ file: DatastoreFile) {
        guard file.datastore == folder.datastore, file.path.hasPrefix(folder.path + "/") else { return }
        let rest = file.path.dropFirst(folder.path.count + 1)
        if let entry = rest.split(separator: "/").first { kept.insert(String(entry)) }
    }

    /// Deletes what this run added; returns "; what happened" for the error line ("" for nothing).
    func run() -> String {
        let now: [String]?
        do {
            now = try session.datastoreFolderEntries(folder, datastore: datastore)
        } catch {
            return "; what this run put in \(folder.datastorePath) may be left: listing it failed (\(error.message))"
        }
        let leftovers = DatastoreLeftovers.decide(before: before, now: now, keep: kept)
        let failed = session.deleteLeftovers(leftovers, in: folder, datacenter: datacenter)
        if !failed.isEmpty {
            return "; left behind, deleting failed: " + failed.joined(separator: ", ")
        }
        switch leftovers {
        case .nothing: return ""
        case .folder: return "; \(folder.datastorePath), which this run made, was deleted again"
        case .entries(let names): return "; what this run added to \(folder.datastorePath) (\(names.joined(separator: ", "))) was deleted again"
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
