import ArgumentParser
import SkiffDeploy

/// `skiff stop <target>`: powers a VM off.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Power off a VM.",
        discussion: "`skiff stop vcenter <name>` powers off a VM on vCenter or ESXi.",
        subcommands: [StopVCenter.self]
    )
}

/// `skiff rm <target>`: deletes a VM.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a VM.",
        discussion: "`skiff rm vcenter <name>` deletes a VM and its files on vCenter or ESXi.",
        subcommands: [RemoveVCenter.self]
    )
}

struct StopVCenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcenter",
        abstract: "Power off a VM on vCenter or ESXi.",
        discussion: """
            Finds the VM by name (or by its path below the datacenter's vm folder) and powers it \
            off (PowerOffVM_Task: a hard power-off; Skiff's kernels keep no state to flush). A VM \
            that is already off is left as it is (exit status 0). Prints `stopped: NAME`.
            """
    )

    @Argument(help: ArgumentHelp("The VM's name or path.", valueName: "name"))
    var name: String

    @OptionGroup(title: "Connection")
    var vcenter: VCenterOptions

    @OptionGroup(title: "Placement")
    var folderOption: VCenterFolderOption

    func run() throws {
        let connection = try vcenter.connect(folder: folderOption)
        defer { connection.close() }
        let (vm, label) = try findVM(name, connection: connection)
        let state = try powerState(of: vm, connection: connection)
        if state == "poweredOff" {
            writeStandardOutput("stopped: \(label) (it was already powered off)\n")
            return
        }
        try deployStep { () throws(DeployError) in
            try connection.session.runTask("PowerOffVM_Task", SOAP.call("PowerOffVM_Task", this: vm))
        }
        writeStandardOutput("stopped: \(label)\n")
    }
}

struct RemoveVCenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcenter",
        abstract: "Delete a VM and its files on vCenter or ESXi.",
        discussion: """
            Finds the VM by name (or path) and destroys it (Destroy_Task: the VM and the files in \
            its folder, the console file included). A VM that is powered on is an error unless \
            --force, which powers it off first. Images pushed with 'skiff push vcenter' stay on \
            the datastore. Prints `removed: NAME`.
            """
    )

    @Argument(help: ArgumentHelp("The VM's name or path.", valueName: "name"))
    var name: String

    @OptionGroup(title: "Connection")
    var vcenter: VCenterOptions

    @OptionGroup(title: "Placement")
    var folderOption: VCenterFolderOption

    @Flag(name: .customLong("force"), help: "Power the VM off first when it runs.")
    var force = false

    func run() throws {
        let connection = try vcenter.connect(folder: folderOption)
        defer { connection.close() }
        let (vm, label) = try findVM(name, connection: connection)
        let state = try powerState(of: vm, connection: connection)
        if state != "poweredOff" {
            guard force else {
                throw CLIError.failure("\(label) is \(state); stop it first ('skiff stop vcenter \(name)') or use --force")
            }
            try deployStep { () throws(DeployError) in
                try connection.session.runTask("PowerOffVM_Task", SOAP.call("PowerOffVM_Task", this: vm))
            }
            writeStandardOutput("stopped: \(label)\n")
        }
        try deployStep { () throws(DeployError) in
            try connection.session.runTask("Destroy_Task", SOAP.call("Destroy_Task", this: vm))
        }
        writeStandardOutput("removed: \(label)\n")
    }
}

/// The one VM named `name` in the datacenter (below --vm-folder when given), and its name.
func findVM(_ name: String, connection: VCenterConnection) throws(CLIError) -> (ManagedObjectReference, String) {
    let inventory = try connection.inventory()
    let datacenter = try deployStep { () throws(DeployError) in try inventory.datacenter(connection.settings.datacenter) }
    var folder: ManagedObjectReference? = nil
    if connection.settings.vmFolder != nil {
        folder = try deployStep { () throws(DeployError) in try inventory.vmFolder(connection.settings.vmFolder, in: datacenter).reference }
    }
    let vm = try deployStep { () throws(DeployError) in try inventory.virtualMachine(name, in: datacenter, folder: folder) }
    return (vm.reference, vm.name)
}

/// runtime.powerState: poweredOn, poweredOff or suspended.
func powerState(of vm: ManagedObjectReference, connection: VCenterConnection) throws(CLIError) -> String {
    let properties = try deployStep { () throws(DeployError) in try connection.session.properties(of: vm, ["runtime.powerState"]) }
    guard let state = properties?.text("runtime.powerState") else {
        throw CLIError.failure("vSphere: cannot read the power state of \(vm.value)")
    }
    return state
}
