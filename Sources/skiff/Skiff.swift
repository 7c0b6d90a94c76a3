import ArgumentParser

@main
struct Skiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Build, run and deploy Swift unikernels.",
        subcommands: [Build.self]
    )
}
