import SkiffWire

// `skiff run qemu`: booting a kernel ELF with qemu-system-x86_64 -kernel. What can be decided
// without running QEMU lives here: checking the flags, the command line, and what QEMU's exit
// status says about the guest. KVMProbe.swift decides between KVM and TCG.

/// The accelerator asked for with `--accel`.
public enum QEMUAcceleratorChoice: String, CaseIterable, Equatable, Sendable {
    /// KVM when a probe guest shows that it really works (KVMProbe), else TCG.
    case auto
    case kvm
    case tcg
}

/// The accelerator QEMU runs with.
public enum QEMUAccelerator: String, Equatable, Sendable {
    case kvm
    case tcg
}

/// The flags of `skiff run qemu` as given, before they are checked.
public struct QEMURunRequest: Sendable {
    public var kernel: String
    /// `--nic`: one model for every NIC, or one per NIC in order (TAP NICs first, then user-mode NICs).
    public var nics: [String] = []
    public var taps: [String] = []
    public var userNets: [String] = []
    /// `--mac`: the MACs of the first NICs, in NIC order (TAP NICs first); the others keep
    /// `QEMUNIC.mac(forIndex:)`.
    public var macs: [String] = []
    public var append: String? = nil
    public var initrd: String? = nil
    public var memory: String = "128"
    public var accel: String = "auto"
    public var serial: String? = nil

    public init(kernel: String) {
        self.kernel = kernel
    }

    public static let memoryRange = 16...65_536

    /// The checked settings; each failure names the flag and the value. Files are looked at (the
    /// kernel, --initrd, --serial's directory); nothing is created.
    public func checked() throws(DeployError) -> QEMUMachine {
        try KernelFile.check(kernel)
        guard let accelerator = QEMUAcceleratorChoice(rawValue: accel) else {
            throw .usage("--accel \(accel): not an accelerator (auto, kvm or tcg)")
        }
        let memoryMiB = try Self.integer(memory, flag: "--memory", in: Self.memoryRange, meaning: "a memory size in MiB")

        var backends: [QEMUNIC.Backend] = []
        for (index, tap) in taps.enumerated() {
            try QEMUNIC.checkTapName(tap)
            if taps[..<index].contains(tap) {
                throw .usage("--tap \(tap): given twice; each NIC needs its own TAP device")
            }
            backends.append(.tap(interface: tap))
        }
        var forwarded: [QEMUHostForward] = []
        for value in userNets {
            let forwards = try QEMUHostForward.parseUserNet(value)
            for forward in forwards {
                if forwarded.contains(where: { $0.transport == forward.transport && $0.hostPort == forward.hostPort
                                               && $0.hostAddress == forward.hostAddress }) {
                    throw .usage("--user-net \(value): \(forward.transport.rawValue) \(forward.hostAddress):\(forward.hostPort) is forwarded twice")
                }
                forwarded.append(forward)
            }
            backends.append(.user(forwards: forwards))
        }
        guard backends.count <= QEMUNIC.maximumCount else {
            throw .usage("--tap/--user-net: \(backends.count) NICs; at most \(QEMUNIC.maximumCount)")
        }
        let models = try nics.map { (text: String) throws(DeployError) -> QEMUNICModel in try QEMUNICModel.parse(text) }
        if !models.isEmpty && backends.isEmpty {
            throw .usage("--nic \(nics[0]): there is no NIC to apply it to; add --tap IF or --user-net \(QEMUHostForward.example)")
        }
        if models.count > 1 && models.count != backends.count {
            throw .usage("--nic: given \(models.count) times for \(backends.count) NIC\(backends.count == 1 ? "" : "s"); give one --nic for all NICs, or one per NIC (TAP NICs first, then user-mode NICs)")
        }
        guard macs.count <= backends.count else {
            throw .usage("--mac: given \(macs.count) times for \(backends.count) NIC\(backends.count == 1 ? "" : "s"); give at most one per NIC (TAP NICs first, then user-mode NICs)")
        }
        var chosen: [MACAddress] = []
        for text in macs {
            chosen.append(try QEMUNIC.parseMAC(text))
        }
        var nicList: [QEMUNIC] = []
        for (index, backend) in backends.enumerated() {
            let model = models.isEmpty ? .default : models[models.count == 1 ? 0 : index]
            let mac = index < chosen.count ? chosen[index] : QEMUNIC.mac(forIndex: index)
            if let other = nicList.firstIndex(where: { $0.mac == mac }) {
                throw .usage("--mac: NIC \(index) and NIC \(other) would both have \(mac); give each NIC its own MAC")
            }
            nicList.append(QEMUNIC(backend: backend, model: model, mac: mac))
        }

        if let initrd {
            try HostFile.requireRegularFile(initrd, label: "--initrd \(initrd)")
            // QEMU's multiboot loader splits -initrd at ',' (modules) and ' ' (a module's command line).
            if initrd.contains(",") || initrd.contains(" ") {
                throw .usage("--initrd \(initrd): QEMU reads ',' and ' ' in -initrd as separators; use a path without them")
            }
        }
        if let serial {
            guard !serial.isEmpty else { throw .usage("--serial: needs a file name") }
            try HostFile.requireWritable(serial, label: "--serial \(serial)")
        }
        return QEMUMachine(kernel: kernel, memoryMiB: memoryMiB, nics: nicList, commandLine: append,
                           initrd: initrd, serialFile: serial, accelerator: accelerator)
    }

    /// A decimal integer in `range` (the same wording as the CLI's other integer flags).
    static func integer(_ text: String, flag: String, in range: ClosedRange<Int>, meaning: String) throws(DeployError) -> Int {
        let digitsOnly = !text.isEmpty && text.utf8.count <= 9
            && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digitsOnly, let value = Int(text), range.contains(value) else {
            throw .usage("\(flag) \(text): not \(meaning) (\(range.lowerBound) to \(range.upperBound))")
        }
        return value
    }
}

/// A checked `skiff run qemu` machine.
public struct QEMUMachine: Equatable, Sendable {
    public var kernel: String
    public var memoryMiB: Int
    public var nics: [QEMUNIC]
    /// `-append`: the kernel command line.
    public var commandLine: String?
    /// `-initrd`: one file, a multiboot module for Skiff's kernels.
    public var initrd: String?
    /// The console goes to this file; nil: to standard output.
    public var serialFile: String?
    public var accelerator: QEMUAcceleratorChoice

    public static let program = "qemu-system-x86_64"

    /// Kernel status N reaches QEMU as its exit status (N << 1) | 1 through this device
    /// (Kernel/README.md, "Exit").
    public static let debugExitDevice = "isa-debug-exit,iobase=0xf4,iosize=0x04"

    /// The whole command line, `qemu` (the program's path) first.
    public func arguments(qemu: String, accelerator: QEMUAccelerator) -> [String] {
        var arguments = [qemu, "-accel", accelerator.rawValue, "-m", String(memoryMiB)]
        // No window, no monitor, and a reset (a triple fault) ends QEMU instead of rebooting.
        arguments += ["-no-reboot", "-nographic", "-display", "none", "-monitor", "none"]
        arguments += ["-serial", serialFile.map { "file:" + $0 } ?? "stdio"]
        arguments += ["-device", Self.debugExitDevice]
        arguments += ["-kernel", kernel]
        if let commandLine { arguments += ["-append", commandLine] }
        if let initrd { arguments += ["-initrd", initrd] }
        if nics.isEmpty {
            // Without this QEMU adds an e1000 on its user-mode network.
            arguments += ["-nic", "none"]
        }
        for (index, nic) in nics.enumerated() {
            arguments += nic.arguments(index: index)
        }
        return arguments
    }
}

/// What QEMU's end says about the guest.
///
/// QEMU exits with status 1 on errors of its own (a bad option, a TAP device it cannot open) and
/// also when the guest writes 0 to isa-debug-exit: the two are told apart by QEMU's error message
/// on standard error (`QEMUDiagnostics`).
public enum QEMUOutcome: Equatable, Sendable {
    /// The guest wrote its status to isa-debug-exit: QEMU's status was (status << 1) | 1.
    case guestExited(status: Int32)
    /// QEMU exited 0: the guest reset (with -no-reboot, e.g. a triple fault) or powered off
    /// without a status, or QEMU was asked to quit (it exits 0 on SIGINT/SIGTERM).
    case noGuestStatus
    /// QEMU failed by itself (it printed why): an even non-zero status, or 1 with an error message.
    case qemuFailed(status: Int32)
    /// QEMU stopped the guest on a KVM internal error (it then waits forever; skiff stops it).
    case kvmInternalError
    /// QEMU was killed by a signal.
    case qemuKilled(signal: Int32)

    public init(_ termination: ProcessTermination, qemuReportedError: Bool = false) {
        switch termination {
        case .exited(1) where qemuReportedError:
            self = .qemuFailed(status: 1)
        case .exited(let status) where status & 1 == 1:
            self = .guestExited(status: status >> 1)
        case .exited(0):
            self = .noGuestStatus
        case .exited(let status):
            self = .qemuFailed(status: status)
        case .signaled(let signal):
            self = .qemuKilled(signal: signal)
        }
    }

    /// skiff's exit status: the guest's own, or 1 when the guest gave none.
    public var exitStatus: Int32 {
        if case .guestExited(let status) = self { return status }
        return 1
    }

    /// The `error:` line for an outcome without a guest status; nil when the guest gave one.
    public var failureMessage: String? {
        switch self {
        case .guestExited:
            return nil
        case .noGuestStatus:
            return "the guest stopped without an exit status (QEMU exited 0): it reset, e.g. on a triple fault (-no-reboot turns a reset into an exit), or powered off, or QEMU was told to quit"
        case .qemuFailed(let status):
            return "\(QEMUMachine.program) failed with status \(status) (its message is above)"
        case .kvmInternalError:
            return "QEMU stopped the guest on a KVM internal error (above), so skiff stopped QEMU; KVM does not run this guest here: use --accel tcg"
        case .qemuKilled(let signal):
            return "\(QEMUMachine.program) was killed by \(ChildProcess.signalName(signal))"
        }
    }
}

/// Reads QEMU's standard error as it passes through: did QEMU report an error of its own
/// (`qemu-system-x86_64: <message>`, not a `warning:` or `info:`, and not the notice it prints
/// when told to quit), and did it stop the guest on a KVM internal error?
public struct QEMUDiagnostics: Sendable {
    public private(set) var reportedError = false
    public private(set) var kvmInternalError = false
    private var line: [UInt8] = []

    public init() {}

    public mutating func consume(_ bytes: [UInt8]) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                finishLine()
            } else if line.count < 4096 {
                line.append(byte)
            }
        }
    }

    /// Looks at a last line without a newline.
    public mutating func finish() {
        if !line.isEmpty { finishLine() }
    }

    private mutating func finishLine() {
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        if text.hasPrefix("KVM internal error") { kvmInternalError = true }
        if Self.isError(text) { reportedError = true }
    }

    /// Whether one line of QEMU's standard error is an error of its own.
    public static func isError(_ line: String) -> Bool {
        let prefix = QEMUMachine.program + ": "
        guard line.hasPrefix(prefix) else { return false }
        let message = line.dropFirst(prefix.count)
        return !message.contains("warning: ") && !message.hasPrefix("info: ")
            && !message.hasPrefix("terminating on signal")
    }
}
