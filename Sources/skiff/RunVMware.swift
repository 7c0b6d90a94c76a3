import ArgumentParser
import Foundation
import SkiffDeploy
import SkiffImage

/// `skiff run vmware <image>`: writes a `.vmx` next to a VMDK or ISO from `skiff build`, starts it
/// with vmrun (Workstation or Fusion) and follows its console file. The decisions (checked flags,
/// the image's format, the `.vmx` key by key, vmrun's arguments) are in SkiffDeploy/VMware.swift;
/// this file writes the files, runs vmrun and copies the console out.
struct RunVMware: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmware",
        abstract: "Run a disk or CD image under VMware Workstation or Fusion (vmrun).",
        discussion: """
            Writes <name>.vmx next to the image (name: --name, default the image's file name \
            without its extension): virtual hardware --hardware-version (default 14), guest OS \
            other-64, BIOS firmware, --memory and --cpus, one VMXNET3 NIC per --net (default one \
            on NAT), the image as the boot disk (a monolithicSparse VMDK from 'skiff build \
            --format vmdk', on --disk-bus) or on a CD-ROM (an ISO from --format iso), and COM1 \
            into <name>.serial.log, so the kernel's console is captured without VMware Tools. \
            --disk SIZE adds <name>-data.vmdk, an empty sparse disk that skiff creates (an \
            existing one is kept). An existing .vmx is replaced only with --force.

            Then it runs `vmrun -T ws|fusion start <vmx> nogui` and follows the console file \
            until the VM stops (vmrun list no longer shows it) or skiff gets SIGINT/SIGTERM, \
            which ends the following only: the VM keeps running (stop it with the printed vmrun \
            command). --no-start only writes the files.

            Networks: nat, bridged, hostonly, custom:vmnetN (or just vmnetN). MACs: VMware \
            generates one per NIC unless --mac gives a static one (only 00:50:56:00:00:00 to \
            00:50:56:3f:ff:ff), one --mac per NIC in order.

            Examples:
              skiff build Examples/ping --format vmdk --cmdline "ip=dhcp"
              skiff run vmware .build-kernel/ping.vmdk --net nat --disk 1G
              skiff run vmware ping.iso --net bridged --net custom:vmnet2 --mac 00:50:56:00:00:01 --no-start
            """
    )

    @Argument(help: ArgumentHelp("The image: a VMDK (skiff build --format vmdk) or an ISO (--format iso).", valueName: "image"))
    var image: String

    @Option(name: .customLong("name"), help: ArgumentHelp("The VM's name and the stem of the files written (default: the image's name).", valueName: "name"))
    var name: String? = nil

    @Option(name: .customLong("memory"), help: ArgumentHelp("Guest memory in MiB (16 to 131072, a multiple of 4).", valueName: "MiB"))
    var memory: String = "256"

    @Option(name: .customLong("cpus"), help: ArgumentHelp("vCPUs (1 to 32; Skiff uses one).", valueName: "n"))
    var cpus: String = "1"

    @Option(name: .customLong("hardware-version"), help: ArgumentHelp("virtualHW.version, 7 to 21.", valueName: "n"))
    var hardwareVersion: String = "14"

    @Option(name: .customLong("net"), help: ArgumentHelp("Add a VMXNET3 NIC on this network: nat, bridged, hostonly, custom:vmnetN; none for no NIC (default: one on nat).", valueName: "network"))
    var networks: [String] = []

    @Option(name: .customLong("mac"), help: ArgumentHelp("A static MAC for the next NIC (00:50:56:00:00:00 to 00:50:56:3f:ff:ff).", valueName: "mac"))
    var macs: [String] = []

    @Option(name: .customLong("disk-bus"), help: ArgumentHelp("The disks' controller: scsi (LSI Logic), sata or ide.", valueName: "scsi|sata|ide"))
    var diskBus: String = "scsi"

    @Option(name: .customLong("disk"), help: ArgumentHelp("Add an empty data disk of this size (e.g. 512M, 4G), created by skiff.", valueName: "size"))
    var disk: String? = nil

    @Option(name: .customLong("product"), help: ArgumentHelp("vmrun's host type: ws (Workstation) or fusion (default: fusion on macOS, else ws).", valueName: "ws|fusion"))
    var product: String? = nil

    @Flag(name: .customLong("no-start"), help: "Write the files only; do not run vmrun.")
    var noStart = false

    @Flag(name: .customLong("force"), help: "Replace an existing .vmx.")
    var force = false

    func run() throws {
        ChildProcess.blockStopSignals()
        let current = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var request = VMwareRunRequest(image: URL(fileURLWithPath: image, relativeTo: current).standardizedFileURL.path)
        request.name = name
        request.memory = memory
        request.cpus = cpus
        request.hardwareVersion = hardwareVersion
        request.networks = networks
        request.macs = macs
        request.diskBus = diskBus
        request.dataDisk = disk
        request.product = product
        request.force = force
        let machine = try deploy { () throws(DeployError) in try request.checked() }

        let files = FileManager.default
        if files.fileExists(atPath: machine.vmxPath) && !force {
            throw CLIError.usage("\(machine.vmxPath) exists; use --force to replace it (or --name for another VM)")
        }
        var vmrun: String? = nil
        if !noStart {
            guard let found = VMwareTools.findVMRun() else {
                throw CLIError.failure("vmrun not found on PATH; install VMware Workstation or Fusion (vmrun comes with them), or use --no-start to write the .vmx only")
            }
            vmrun = found
        }

        if let bytes = machine.dataDiskBytes {
            if files.fileExists(atPath: machine.dataDiskPath) {
                writeStandardError("skiff: keeping the existing data disk \(machine.dataDiskPath)\n")
            } else {
                do {
                    let layout = try VMDKImage.createEmpty(capacityBytes: bytes, to: machine.dataDiskPath, adapter: machine.diskBus == .ide ? .ide : .lsilogic)
                    writeStandardError("skiff: data disk \(machine.dataDiskPath), \(bytes) bytes (a sparse VMDK of \(layout.totalBytes) bytes)\n")
                } catch {
                    throw CLIError.failure("cannot create the data disk \(machine.dataDiskPath): \(error.description)")
                }
            }
        }
        do {
            // Written beside and renamed, so a failed write never leaves half a .vmx.
            let temporary = machine.vmxPath + ".skiff-tmp"
            try Data(machine.vmx.text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, machine.vmxPath) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw CLIError.failure("cannot write \(machine.vmxPath): \(reason)")
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.failure("cannot write \(machine.vmxPath): \(error.localizedDescription)")
        }
        writeStandardError("skiff: wrote \(machine.vmxPath) (\(machine.bootKind == .iso ? "CD-ROM" : "disk") \(machine.bootImage), console \(machine.serialFileName))\n")
        guard let vmrun else { return }

        // The console file of an earlier run would be followed from its old start.
        unlink(machine.serialPath)
        let start = machine.startArguments(vmrun: vmrun)
        writeStandardError("skiff: \(ShellWords.join(start))\n")
        let child = try deploy { () throws(DeployError) in try ChildProcess.spawn(vmrun, arguments: Array(start.dropFirst()), stdin: .null) }
        let result = child.wait()
        if case .signal(let signal)? = result.stoppedBy {
            writeStandardError("skiff: \(ChildProcess.signalName(signal)) while vmrun was starting the VM\n")
            throw ExitCode(128 + signal)
        }
        guard result.termination == .exited(0) else {
            throw CLIError.failure("vmrun start failed (\(describe(result.termination)); its message is above)")
        }

        let end = SerialLogFollower.follow(
            path: machine.serialPath,
            output: { bytes in FileHandle.standardOutput.write(Data(bytes)) },
            isRunning: { isRunning(machine, vmrun: vmrun) })
        switch end {
        case .stopped:
            writeStandardError("skiff: the VM stopped (vmrun list no longer shows it)\n")
        case .signal(let signal):
            writeStandardError("skiff: \(ChildProcess.signalName(signal)): stopped following; the VM still runs (stop it with: \(ShellWords.join(machine.stopArguments(vmrun: vmrun))))\n")
            throw ExitCode(128 + signal)
        }
    }

    /// Asks `vmrun list` whether the VM runs; when vmrun cannot tell, it is taken as running.
    func isRunning(_ machine: VMwareMachine, vmrun: String) -> Bool {
        let listing = NSTemporaryDirectory() + "skiff-vmrun-list.\(getpid())"
        defer { unlink(listing) }
        let arguments = machine.listArguments(vmrun: vmrun)
        guard let child = try? ChildProcess.spawn(vmrun, arguments: Array(arguments.dropFirst()), stdin: .null, stdout: .file(listing)) else {
            return true
        }
        let result = child.wait(timeout: 30)
        guard result.termination == .exited(0), result.stoppedBy == nil,
              let output = try? String(contentsOfFile: listing, encoding: .utf8) else { return true }
        return VMwareMachine.listOutput(output, contains: machine.vmxPath)
    }

    func describe(_ termination: ProcessTermination) -> String {
        switch termination {
        case .exited(let status): return "status \(status)"
        case .signaled(let signal): return "killed by \(ChildProcess.signalName(signal))"
        }
    }

    /// Runs a SkiffDeploy step, turning its error into the CLI's one-line error.
    func deploy<T>(_ body: () throws(DeployError) -> T) throws(CLIError) -> T {
        do {
            return try body()
        } catch {
            throw CLIError(message: error.message, status: error.kind == .usage ? 64 : 1)
        }
    }
}
