import ArgumentParser
import Glibc
import SkiffDeploy

@main
struct Skiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Build, run and deploy Swift unikernels.",
        subcommands: [Build.self, Run.self, Push.self, Stop.self, Remove.self, Relay.self]
    )

    /// Parses and runs, turning every failure into one line on standard error, `error: ...`, at
    /// this one place. Help and version requests print as usual.
    static func main() {
        do {
            var command = try parseAsRoot(VCenterArguments.normalize(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as CLIError {
            writeStandardError("error: \(error.message)\n")
            Glibc.exit(error.status)
        } catch {
            let code = exitCode(for: error)
            guard code != .success, !(error is ExitCode) else { exit(withError: error) }
            writeStandardError("error: \(message(for: error))\n")
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
    }
}

/// A failure reported as `error: <message>` with an exit status: 64 (EX_USAGE) for bad flags,
/// 1 for everything else.
struct CLIError: Error {
    var message: String
    var status: Int32

    static func usage(_ message: String) -> CLIError { CLIError(message: message, status: 64) }
    static func failure(_ message: String) -> CLIError { CLIError(message: message, status: 1) }
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        // In bounds: offset < bytes.count.
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
