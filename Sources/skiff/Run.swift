import ArgumentParser

/// `skiff run <target>`: runs an application on one of the places Skiff runs.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the stack and its services.",
        discussion: """
            Today Skiff runs hosted: the stack as a Linux process on a TAP device. Running \
            images under QEMU and other hypervisors comes with the kernel.
            """,
        subcommands: [RunHosted.self]
    )
}
