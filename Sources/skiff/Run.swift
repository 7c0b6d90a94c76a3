import ArgumentParser

/// `skiff run <target>`: runs an application on one of the places Skiff runs.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the stack and its services.",
        discussion: """
            `skiff run qemu <kernel>` boots a kernel ELF from `skiff build` under QEMU (KVM when \
            it really works here, else TCG), streams its console and exits with the guest's \
            status. `skiff run vmware <image>` writes a .vmx next to a VMDK or ISO image, starts it \
            with vmrun (Workstation or Fusion) and follows its console file. `skiff run hosted` \
            runs the stack as a Linux process on a TAP device. `skiff run vcenter <image>` uploads an ISO \
            or VMDK to a vSphere datastore, creates a VM for it, powers it on and follows its \
            console file. libvirt comes later.
            """,
        subcommands: [RunQemu.self, RunVMware.self, RunVCenter.self, RunHosted.self]
    )
}
