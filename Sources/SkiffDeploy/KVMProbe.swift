import Glibc

// Does KVM really run a Skiff guest here? /dev/kvm existing is not enough: on nested hosts whose
// KVM is a page-table-based implementation, QEMU starts but the guest's first SSE instruction
// fails ("KVM internal error. Suberror: 1 ... emulation failure", and QEMU stops the guest), and
// Swift code uses SSE from its first lines. So `--accel auto` boots a tiny probe guest under KVM
// that enables SSE the way boot.S does, executes SSE instructions, and exits through isa-debug-exit
// with a value computed by them; only QEMU's matching exit status counts as "KVM works".

public enum KVMProbe {
    public static let devicePath = "/dev/kvm"

    /// The probe guest's exit value, computed with SSE2 as 21 + 21; QEMU then exits with
    /// (42 << 1) | 1 = 85.
    public static let exitValue: UInt32 = 42
    public static var expectedQEMUStatus: Int32 { Int32(exitValue << 1 | 1) }

    /// How long the probe may take (QEMU and SeaBIOS start in about 0.2 s).
    public static let timeoutSeconds = 5.0

    // MARK: The probe image

    /// Where QEMU's multiboot loader puts the image (1 MiB, above the BIOS areas).
    public static let loadAddress: UInt32 = 0x10_0000
    /// The image's size: the whole file is loaded (load_end_addr = loadAddress + imageSize).
    public static let imageSize = 512
    /// Multiboot 0.6.96 §3.1.1: magic, flags, checksum (the three sum to 0 mod 2^32).
    public static let multibootMagic: UInt32 = 0x1BAD_B002
    /// Bit 16: the header's address fields are valid (the "a.out kludge"), so the loader needs no
    /// ELF or a.out headers: the file is loaded flat at load_addr and entered at entry_addr.
    public static let multibootFlags: UInt32 = 1 << 16
    static let headerSize = 32
    /// A 16-byte-aligned scratch slot inside the image for the movaps store and load.
    static let scratchOffset = 0x100

    static let cr0EM: UInt8 = 1 << 2, cr0TS: UInt8 = 1 << 3, cr0MP: UInt8 = 1 << 1
    /// CR4.OSFXSR (bit 9) | CR4.OSXMMEXCPT (bit 10): the OS supports FXSAVE and SSE exceptions.
    static let cr4SSE: UInt32 = 1 << 9 | 1 << 10

    /// The probe guest: a multiboot v1 image entered in 32-bit protected mode, paging off (Multiboot
    /// 0.6.96 §3.2 "Machine state"), with flat segments. Written here byte by byte, so running
    /// skiff needs no assembler.
    public static func image() -> [UInt8] {
        let entry = loadAddress + UInt32(headerSize)
        let scratch = le32(loadAddress + UInt32(scratchOffset))
        var bytes: [UInt8] = []
        for field in [multibootMagic, multibootFlags, 0 &- (multibootMagic &+ multibootFlags),
                      loadAddress,                                // header_addr: the header is at offset 0
                      loadAddress,                                // load_addr
                      loadAddress + UInt32(imageSize),            // load_end_addr
                      0,                                          // bss_end_addr: no bss
                      entry] {                                    // entry_addr
            bytes += le32(field)
        }
        var code: [UInt8] = []
        code += [0xFA]                                            // cli
        code += [0x0F, 0x20, 0xC0]                                // mov eax, cr0
        code += [0x83, 0xE0, ~(cr0EM | cr0TS)]                    // and eax, ~(EM | TS)  (imm8, sign-extended)
        code += [0x83, 0xC8, cr0MP]                               // or eax, MP
        code += [0x0F, 0x22, 0xC0]                                // mov cr0, eax
        code += [0x0F, 0x20, 0xE0]                                // mov eax, cr4
        code += [0x0D] + le32(cr4SSE)                             // or eax, OSFXSR | OSXMMEXCPT
        code += [0x0F, 0x22, 0xE0]                                // mov cr4, eax
        code += [0x0F, 0x57, 0xC0]                                // xorps xmm0, xmm0       (SSE)
        code += [0xB8] + le32(exitValue / 2)                      // mov eax, 21
        code += [0x66, 0x0F, 0x6E, 0xC8]                          // movd xmm1, eax         (SSE2)
        code += [0x66, 0x0F, 0xFE, 0xC1]                          // paddd xmm0, xmm1       → 21
        code += [0x66, 0x0F, 0xFE, 0xC1]                          // paddd xmm0, xmm1       → 42
        code += [0x0F, 0x29, 0x05] + scratch                      // movaps [scratch], xmm0 (SSE)
        code += [0x0F, 0x28, 0x15] + scratch                      // movaps xmm2, [scratch]
        code += [0x66, 0x0F, 0x7E, 0xD0]                          // movd eax, xmm2
        code += [0xE7, 0xF4]                                      // out 0xF4, eax: isa-debug-exit
        code += [0xF4, 0xEB, 0xFD]                                // hlt; jmp back to hlt
        precondition(exitValue % 2 == 0, "the probe computes its exit value as two equal halves")
        precondition(headerSize + code.count <= scratchOffset, "probe code overlaps its scratch slot")
        bytes += code
        // Zero padding up to imageSize; the scratch slot lies in it.
        bytes += [UInt8](repeating: 0, count: imageSize - bytes.count)
        return bytes
    }

    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
         UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)]
    }

    /// QEMU's command line for the probe: no console, no NIC, no disks, a small machine.
    public static func arguments(qemu: String, imagePath: String, accelerator: QEMUAccelerator) -> [String] {
        [qemu, "-accel", accelerator.rawValue, "-m", "32",
         "-no-reboot", "-nographic", "-display", "none", "-monitor", "none",
         "-serial", "none", "-parallel", "none", "-nic", "none",
         "-device", QEMUMachine.debugExitDevice, "-kernel", imagePath]
    }

    // MARK: Running it

    public enum Result: Equatable, Sendable {
        /// The probe guest exited with the expected status.
        case works
        case noDevice
        case deviceNotOpenable(String)
        /// QEMU reported a KVM internal error (emulation failure) and stopped the guest.
        case emulationFailure
        /// QEMU exited 0: the guest reset (a triple fault: no IDT, so any exception is one).
        case guestFaulted
        case timedOut
        /// QEMU could not start under KVM (its last error line).
        case qemuFailed(status: Int32, message: String)
        case unexpectedStatus(Int32)
        case qemuKilled(signal: Int32)
        /// skiff received SIGINT or SIGTERM during the probe (forwarded to QEMU).
        case interrupted(signal: Int32)
        case cannotRun(String)

        /// Why KVM is not used, for `skiff: KVM unusable here (<reason>); using TCG`.
        public var reason: String {
            switch self {
            case .works: return "it works"
            case .noDevice: return "no \(devicePath)"
            case .deviceNotOpenable(let text): return "cannot open \(devicePath) read-write: \(text)"
            case .emulationFailure: return "the probe guest's SSE instruction failed: KVM internal error, emulation failure"
            case .guestFaulted: return "the probe guest faulted"
            case .timedOut: return "the probe guest did not finish within \(Int(timeoutSeconds)) s"
            case .qemuFailed(let status, let message):
                return "QEMU failed under KVM with status \(status)" + (message.isEmpty ? "" : ": " + message)
            case .unexpectedStatus(let status): return "the probe guest exited with QEMU status \(status), not \(expectedQEMUStatus)"
            case .qemuKilled(let signal): return "QEMU was killed by \(ChildProcess.signalName(signal))"
            case .interrupted(let signal): return "interrupted by \(ChildProcess.signalName(signal))"
            case .cannotRun(let text): return text
            }
        }
    }

    /// Whether /dev/kvm exists and opens read-write; nil if it does, else why not.
    public static func checkDevice(path: String = devicePath) -> Result? {
        var info = stat()
        guard stat(path, &info) == 0 else { return .noDevice }
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return .deviceNotOpenable(HostFile.errnoText(errno)) }
        close(descriptor)
        return nil
    }

    /// Checks /dev/kvm, then boots the probe image under `accelerator` (KVM; TCG proves the image)
    /// and interprets QEMU's end. The image and QEMU's captured messages are temporary files,
    /// deleted before returning.
    public static func run(qemu: String, accelerator: QEMUAccelerator = .kvm) -> Result {
        if accelerator == .kvm, let problem = checkDevice() { return problem }
        let imagePath: String, messagesPath: String
        do {
            imagePath = try HostFile.writeTemporary(image(), prefix: "skiff-kvm-probe")
        } catch {
            return .cannotRun(error.message)
        }
        defer { unlink(imagePath) }
        do {
            messagesPath = try HostFile.writeTemporary([], prefix: "skiff-kvm-probe-stderr")
        } catch {
            return .cannotRun(error.message)
        }
        defer { unlink(messagesPath) }

        let arguments = Self.arguments(qemu: qemu, imagePath: imagePath, accelerator: accelerator)
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(qemu, arguments: Array(arguments.dropFirst()),
                                           stdin: .null, stdout: .null, stderr: .file(messagesPath))
        } catch {
            return .cannotRun(error.message)
        }
        // QEMU does not exit on a KVM internal error: it prints the error and pauses the guest.
        // Stop it as soon as that is printed rather than at the timeout.
        let result = child.wait(timeout: timeoutSeconds, shouldStop: {
            HostFile.readText(messagesPath)?.contains("KVM internal error") ?? false
        })
        let messages = HostFile.readText(messagesPath) ?? ""
        switch result.stoppedBy {
        case .signal(let signal)?: return .interrupted(signal: signal)
        case .requested?: return .emulationFailure
        case .timeout?: return .timedOut
        case nil: break
        }
        return interpret(result.termination, messages: messages)
    }

    /// The probe's result from how QEMU ended and what it printed.
    public static func interpret(_ termination: ProcessTermination, messages: String) -> Result {
        var diagnostics = QEMUDiagnostics()
        diagnostics.consume(Array(messages.utf8))
        diagnostics.finish()
        switch termination {
        case .exited(let status) where status == expectedQEMUStatus:
            return .works
        case .exited(1) where diagnostics.reportedError:
            // QEMU's own failure (a guest writing 0 would also make status 1).
            return .qemuFailed(status: 1, message: lastError(in: messages))
        case .exited(0):
            return .guestFaulted
        case .exited(let status) where status & 1 == 1:
            return .unexpectedStatus(status)
        case .exited(let status):
            if diagnostics.kvmInternalError { return .emulationFailure }
            return .qemuFailed(status: status, message: lastError(in: messages))
        case .signaled(let signal):
            return .qemuKilled(signal: signal)
        }
    }

    /// QEMU's last message line that is not a warning, without the program name.
    static func lastError(in messages: String) -> String {
        let lines = messages.split(separator: "\n").map(String.init)
            .filter { !$0.contains("warning:") && !$0.allSatisfy { $0 == " " } }
        guard var line = lines.last else { return "" }
        let prefix = QEMUMachine.program + ": "
        if line.hasPrefix(prefix) { line.removeFirst(prefix.count) }
        return line
    }
}
