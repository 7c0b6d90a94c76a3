import ArgumentParser
import Glibc
import SkiffDeploy

/// `skiff run qemu <kernel>`: boots a kernel ELF under QEMU, streams its console and exits with the
/// guest's status. The QEMU-specific decisions (checked settings, the command line, status mapping,
/// the KVM probe) are in SkiffDeploy; this file turns flags into a request and outcomes into exits.
struct RunQemu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qemu",
        abstract: "Boot a kernel ELF under QEMU and exit with the guest's status.",
        discussion: """
            Runs qemu-system-x86_64 -kernel <kernel> with no display and no monitor. The guest's \
            serial console goes to standard output (or to the --serial file only); skiff's own \
            lines go to standard error. The guest's exit status (QEMU's isa-debug-exit device: \
            status N makes QEMU exit with (N << 1) | 1) becomes skiff's: 0 for a clean exit, 70 \
            for a CPU exception or a Swift runtime trap. A guest that resets (e.g. a triple fault; \
            QEMU runs with -no-reboot) or powers off without a status, or a QEMU that fails, gives \
            an error and status 1. SIGINT and SIGTERM are forwarded to QEMU; skiff then exits \
            130 or 143.

            NICs: each --tap adds one NIC on that TAP device (QEMU creates it if missing; set its \
            Linux side up yourself), then each --user-net adds one on QEMU's user-mode network \
            with restrict=on: the guest reaches the host only through the given forwards, which \
            must listen on 127.0.0.0/8. NIC i (TAP NICs first) has MAC 52:54:00:12:34:5i (hex \
            digit i, at most 16 NICs) unless the i-th --mac gives another, and the model of the \
            i-th --nic, or of the only --nic, default virtio (virtio-net-pci).

            --accel auto uses KVM only when /dev/kvm opens read-write and a probe guest that \
            executes SSE instructions exits correctly under it (nested KVM on some hosts starts \
            QEMU but fails the guest's first SSE instruction); otherwise it prints why and uses \
            TCG.

            Examples:
              skiff run qemu .build-kernel/hello.elf
              skiff run qemu app.elf --tap tap0 --tap tap1 --nic vmxnet3 --memory 256
              skiff run qemu app.elf --tap tap0 --mac 02:00:00:00:00:0a --append "skiff.net=mac=02:00:00:00:00:0a:dhcp"
              skiff run qemu app.elf --user-net hostfwd=tcp:127.0.0.1:8080-:80 --append "ip=dhcp"
            """
    )

    @Argument(help: ArgumentHelp("The kernel ELF (from `skiff build`).", valueName: "kernel"))
    var kernel: String

    @Option(name: .customLong("nic"), help: ArgumentHelp("The NIC model: virtio, vmxnet3 or e1000; once for all NICs or once per NIC.", valueName: "model"))
    var nics: [String] = []

    @Option(name: .customLong("tap"), help: ArgumentHelp("Add a NIC on this TAP device; repeat for more.", valueName: "name"))
    var taps: [String] = []

    @Option(name: .customLong("user-net"), help: ArgumentHelp("Add a NIC on QEMU's user-mode network (restrict=on) with these comma-separated forwards; repeat for more NICs.", valueName: "hostfwd=…"))
    var userNets: [String] = []

    @Option(name: .customLong("mac"), help: ArgumentHelp("The MAC of the next NIC (TAP NICs first), instead of 52:54:00:12:34:5i; repeat for more.", valueName: "aa:bb:cc:dd:ee:ff"))
    var macs: [String] = []

    @Option(name: .customLong("append"), help: ArgumentHelp("The kernel command line.", valueName: "text"))
    var append: String? = nil

    @Option(name: .customLong("initrd"), help: ArgumentHelp("A file handed to the kernel as a multiboot module.", valueName: "file"))
    var initrd: String? = nil

    @Option(name: .customLong("memory"), help: ArgumentHelp("Guest memory in MiB (16 to 65536).", valueName: "MiB"))
    var memory: String = "128"

    @Option(name: .customLong("accel"), help: ArgumentHelp("auto (KVM if a probe guest runs under it, else TCG), kvm or tcg.", valueName: "auto|kvm|tcg"))
    var accel: String = "auto"

    @Option(name: .customLong("serial"), help: ArgumentHelp("Write the console to this file instead of standard output.", valueName: "file"))
    var serial: String? = nil

    @Flag(name: .customLong("dry-run"), help: "Print QEMU's command line (shell-quoted) and exit 0 without booting.")
    var dryRun = false

    func run() throws {
        // Before anything else, so that no thread can take SIGINT/SIGTERM in our place.
        ChildProcess.blockStopSignals()
        var request = QEMURunRequest(kernel: kernel)
        request.nics = nics
        request.taps = taps
        request.userNets = userNets
        request.macs = macs
        request.append = append
        request.initrd = initrd
        request.memory = memory
        request.accel = accel
        request.serial = serial
        let machine = try deploy { () throws(DeployError) in try request.checked() }

        guard let qemu = Executables.find(QEMUMachine.program) else {
            throw CLIError.failure("\(QEMUMachine.program) not found; install qemu-system-x86 (apt-get install qemu-system-x86)")
        }
        let accelerator = try chooseAccelerator(machine.accelerator, qemu: qemu)
        let arguments = machine.arguments(qemu: qemu, accelerator: accelerator)
        if dryRun {
            print(ShellWords.join(arguments))
            return
        }

        // QEMU's standard error passes through skiff, which reads it to tell QEMU's own failure
        // (status 1 with a message) from a guest's exit status 0 (also QEMU status 1).
        let child = try deploy { () throws(DeployError) in
            try ChildProcess.spawn(qemu, arguments: Array(arguments.dropFirst()), stderr: .pipe)
        }
        var diagnostics = QEMUDiagnostics()
        let result = child.wait(
            errorOutput: { bytes in
                copyToStandardError(bytes)
                diagnostics.consume(bytes)
            },
            shouldStop: { diagnostics.kvmInternalError })
        diagnostics.finish()
        switch result.stoppedBy {
        case .signal(let signal)?:
            writeStandardError("skiff: \(ChildProcess.signalName(signal)): stopped QEMU (pid \(child.pid))\n")
            throw ExitCode(128 + signal)
        case .requested?:
            throw CLIError.failure(QEMUOutcome.kvmInternalError.failureMessage!)
        case .timeout?, nil:
            break
        }
        let outcome = QEMUOutcome(result.termination, qemuReportedError: diagnostics.reportedError)
        if let message = outcome.failureMessage {
            throw CLIError.failure(message)
        }
        if outcome.exitStatus != 0 {
            writeStandardError("skiff: the guest exited with status \(outcome.exitStatus)\n")
            throw ExitCode(outcome.exitStatus)
        }
    }

    /// KVM or TCG, as asked; for `auto`, KVM only if the probe guest works under it.
    func chooseAccelerator(_ choice: QEMUAcceleratorChoice, qemu: String) throws -> QEMUAccelerator {
        switch choice {
        case .tcg:
            return .tcg
        case .kvm:
            if let problem = KVMProbe.checkDevice() {
                throw CLIError.failure("--accel kvm: \(problem.reason) (use --accel tcg or auto)")
            }
            return .kvm
        case .auto:
            let result = KVMProbe.run(qemu: qemu, accelerator: .kvm)
            switch result {
            case .works:
                return .kvm
            case .interrupted(let signal):
                writeStandardError("skiff: \(ChildProcess.signalName(signal)) during the KVM probe\n")
                throw ExitCode(128 + signal)
            default:
                writeStandardError("skiff: KVM unusable here (\(result.reason)); using TCG\n")
                return .tcg
            }
        }
    }

    /// Copies bytes to standard error as they are (QEMU's messages, possibly cut mid-character).
    func copyToStandardError(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            // In bounds: offset < bytes.count.
            let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
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
