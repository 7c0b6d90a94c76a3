import Glibc
import SkiffWire
import XCTest
@testable import SkiffDeploy

/// A scratch folder with a fake kernel: the 64-byte header of an x86-64 ELF-64 file is all that
/// `skiff run qemu` looks at before QEMU starts.
final class Scratch {
    let path: String

    init() {
        var template = Array("/tmp/skiff-deploy-tests.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: path) {
            for entry in entries { unlink(path + "/" + entry); rmdir(path + "/" + entry) }
        }
        rmdir(path)
    }

    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        _ = FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    static func elfHeader(class elfClass: UInt8 = 2, machine: UInt16 = 0x3E) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 64)
        header[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        header[4] = elfClass
        header[5] = 1
        header[18] = UInt8(truncatingIfNeeded: machine)
        header[19] = UInt8(truncatingIfNeeded: machine >> 8)
        return header
    }

    func kernel() -> String { file("kernel.elf", Self.elfHeader()) }
}

final class QEMUArgumentTests: XCTestCase {
    let qemu = "/usr/bin/qemu-system-x86_64"

    func testKernelOnlyUnderTCGHasNoNICConsoleOnStdioAndDebugExit() throws {
        let scratch = Scratch()
        let kernel = scratch.kernel()
        let machine = try QEMURunRequest(kernel: kernel).checked()
        XCTAssertEqual(machine.accelerator, .auto)
        XCTAssertEqual(machine.arguments(qemu: qemu, accelerator: .tcg), [
            qemu, "-accel", "tcg", "-m", "128",
            "-no-reboot", "-nographic", "-display", "none", "-monitor", "none",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", kernel, "-nic", "none",
        ])
    }

    func testEveryMachineFlagUnderKVM() throws {
        let scratch = Scratch()
        var request = QEMURunRequest(kernel: scratch.kernel())
        request.append = "ip=198.18.0.10/24 skiff.verbose"
        request.initrd = scratch.file("interfaces", Array("auto eth0\n".utf8))
        request.memory = "256"
        request.accel = "kvm"
        request.serial = scratch.path + "/console.log"
        let machine = try request.checked()
        XCTAssertEqual(machine.accelerator, .kvm)
        XCTAssertEqual(machine.arguments(qemu: qemu, accelerator: .kvm), [
            qemu, "-accel", "kvm", "-m", "256",
            "-no-reboot", "-nographic", "-display", "none", "-monitor", "none",
            "-serial", "file:\(scratch.path)/console.log", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", request.kernel, "-append", "ip=198.18.0.10/24 skiff.verbose",
            "-initrd", scratch.path + "/interfaces", "-nic", "none",
        ])
    }

    func testOneNICModelAppliesToEveryTapNIC() throws {
        let scratch = Scratch()
        var request = QEMURunRequest(kernel: scratch.kernel())
        request.taps = ["admin0", "public0", "private0"]
        request.nics = ["vmxnet3"]
        let arguments = try request.checked().arguments(qemu: qemu, accelerator: .tcg)
        XCTAssertFalse(arguments.contains("none") && arguments.contains("-nic"), "no -nic none with NICs")
        XCTAssertEqual(Array(arguments.drop(while: { $0 != "-netdev" })), [
            "-netdev", "tap,id=net0,ifname=admin0,script=no,downscript=no",
            "-device", "vmxnet3,netdev=net0,mac=52:54:00:12:34:50",
            "-netdev", "tap,id=net1,ifname=public0,script=no,downscript=no",
            "-device", "vmxnet3,netdev=net1,mac=52:54:00:12:34:51",
            "-netdev", "tap,id=net2,ifname=private0,script=no,downscript=no",
            "-device", "vmxnet3,netdev=net2,mac=52:54:00:12:34:52",
        ])
    }

    func testOneNICModelPerNICTapNICsFirstThenUserNICs() throws {
        let scratch = Scratch()
        var request = QEMURunRequest(kernel: scratch.kernel())
        request.taps = ["tap0"]
        request.userNets = ["hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.2:2222-10.0.2.15:22"]
        request.nics = ["e1000", "virtio"]
        let arguments = try request.checked().arguments(qemu: qemu, accelerator: .tcg)
        XCTAssertEqual(Array(arguments.drop(while: { $0 != "-netdev" })), [
            "-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no",
            "-device", "e1000,netdev=net0,mac=52:54:00:12:34:50",
            "-netdev", "user,id=net1,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.2:2222-10.0.2.15:22",
            "-device", "virtio-net-pci,netdev=net1,mac=52:54:00:12:34:51",
        ])
    }

    func testMACsGivenWithMacGoToTheFirstNICs() throws {
        let scratch = Scratch()
        var request = QEMURunRequest(kernel: scratch.kernel())
        request.taps = ["tap0", "tap1", "tap2"]
        request.macs = ["02:00:00:00:00:0B", "02-00-00-00-00-0a"]
        let arguments = try request.checked().arguments(qemu: qemu, accelerator: .tcg)
        XCTAssertEqual(arguments.filter { $0.contains("netdev=") }, [
            "virtio-net-pci,netdev=net0,mac=02:00:00:00:00:0b",
            "virtio-net-pci,netdev=net1,mac=02:00:00:00:00:0a",
            "virtio-net-pci,netdev=net2,mac=52:54:00:12:34:52",
        ])
    }

    func testDefaultModelIsVirtioAndUserNetWithoutForwards() throws {
        let scratch = Scratch()
        var request = QEMURunRequest(kernel: scratch.kernel())
        request.userNets = [""]
        let arguments = try request.checked().arguments(qemu: qemu, accelerator: .tcg)
        XCTAssertEqual(Array(arguments.drop(while: { $0 != "-netdev" })), [
            "-netdev", "user,id=net0,restrict=on",
            "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:50",
        ])
    }

    func testMACsAreQEMUsRangeNumberedByNICIndex() {
        XCTAssertEqual(QEMUNIC.mac(forIndex: 0).description, "52:54:00:12:34:50")
        XCTAssertEqual(QEMUNIC.mac(forIndex: 15).description, "52:54:00:12:34:5f")
        for index in 0..<QEMUNIC.maximumCount {
            let mac = QEMUNIC.mac(forIndex: index)
            XCTAssertFalse(mac.isMulticast)
            XCTAssertEqual(mac.octets.0 & 0x02, 0x02, "IEEE 802: locally administered")
        }
    }

    func testShellQuotingOfThePrintedCommand() {
        XCTAssertEqual(ShellWords.join(["qemu", "-append", "ip=dhcp skiff.verbose", "-kernel", "it's.elf", ""]),
                       "qemu -append 'ip=dhcp skiff.verbose' -kernel 'it'\\''s.elf' ''")
        XCTAssertEqual(ShellWords.quote("tap,id=net0,ifname=tap0"), "tap,id=net0,ifname=tap0")
    }
}

final class QEMUFlagErrorTests: XCTestCase {
    /// Checks `request` and returns the error, failing the test if there is none.
    func error(_ request: QEMURunRequest, line: UInt = #line) -> DeployError? {
        do {
            _ = try request.checked()
            XCTFail("expected an error", line: line)
            return nil
        } catch {
            return error
        }
    }

    func request(_ scratch: Scratch, _ change: (inout QEMURunRequest) -> Void) -> QEMURunRequest {
        var request = QEMURunRequest(kernel: scratch.kernel())
        change(&request)
        return request
    }

    func testKernelMissingDirectoryNotELFWrongClassWrongMachine() {
        let scratch = Scratch()
        XCTAssertEqual(error(QEMURunRequest(kernel: scratch.path + "/nope.elf")),
                       .usage("\(scratch.path)/nope.elf: no such file (build a kernel with 'skiff build <app folder>')"))
        XCTAssertEqual(error(QEMURunRequest(kernel: scratch.path)), .usage("\(scratch.path): a directory, not a file"))
        let text = scratch.file("main.swift", Array("print(1)\n".utf8))
        XCTAssertEqual(error(QEMURunRequest(kernel: text)),
                       .usage("\(text): not an ELF file (a Skiff kernel is the ELF that 'skiff build' writes)"))
        let empty = scratch.file("empty", [])
        XCTAssertEqual(error(QEMURunRequest(kernel: empty))?.kind, .usage)
        let elf32 = scratch.file("i386.elf", Scratch.elfHeader(class: 1, machine: 3))
        XCTAssertEqual(error(QEMURunRequest(kernel: elf32)),
                       .usage("\(elf32): a 32-bit ELF file; Skiff kernels are ELF-64 for x86-64"))
        let arm = scratch.file("arm64.elf", Scratch.elfHeader(machine: 0xB7))
        XCTAssertEqual(error(QEMURunRequest(kernel: arm)),
                       .usage("\(arm): an ELF file for machine 0xb7 (AArch64), not x86-64 (0x3e)"))
        let truncated = scratch.file("short.elf", [0x7F, 0x45, 0x4C, 0x46, 2])
        XCTAssertEqual(error(QEMURunRequest(kernel: truncated)), .usage("\(truncated): a truncated ELF file (5 bytes)"))
    }

    func testMemoryAndAccelerator() {
        let scratch = Scratch()
        XCTAssertEqual(error(request(scratch) { $0.memory = "8" }), .usage("--memory 8: not a memory size in MiB (16 to 65536)"))
        XCTAssertEqual(error(request(scratch) { $0.memory = "65537" }), .usage("--memory 65537: not a memory size in MiB (16 to 65536)"))
        XCTAssertEqual(error(request(scratch) { $0.memory = "1G" }), .usage("--memory 1G: not a memory size in MiB (16 to 65536)"))
        XCTAssertEqual(error(request(scratch) { $0.accel = "hvf" }), .usage("--accel hvf: not an accelerator (auto, kvm or tcg)"))
    }

    func testNICModelsAndCounts() {
        let scratch = Scratch()
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.nics = ["rtl8139"] }),
                       .usage("--nic rtl8139: not a NIC model (virtio, vmxnet3 or e1000)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.nics = ["virtio,mq=on"] }),
                       .usage("--nic virtio,mq=on: NIC options are not supported yet; give only the model (virtio, vmxnet3 or e1000)"))
        XCTAssertEqual(error(request(scratch) { $0.nics = ["e1000"] }),
                       .usage("--nic e1000: there is no NIC to apply it to; add --tap IF or --user-net hostfwd=tcp:127.0.0.1:8080-:80"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.nics = ["e1000", "virtio"] }),
                       .usage("--nic: given 2 times for 1 NIC; give one --nic for all NICs, or one per NIC (TAP NICs first, then user-mode NICs)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["a", "b", "c"]; $0.nics = ["e1000", "virtio"] }),
                       .usage("--nic: given 2 times for 3 NICs; give one --nic for all NICs, or one per NIC (TAP NICs first, then user-mode NICs)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = (0...16).map { "tap\($0)" } }),
                       .usage("--tap/--user-net: 17 NICs; at most 16"))
    }

    func testMACsAreCheckedCountedAndUnique() {
        let scratch = Scratch()
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.macs = ["52:54:00:12:34"] }),
                       .usage("--mac 52:54:00:12:34: not a MAC address (six hex pairs: 52:54:00:12:34:56)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.macs = ["52:54-00:12:34:56"] }),
                       .usage("--mac 52:54-00:12:34:56: not a MAC address (six hex pairs: 52:54:00:12:34:56)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.macs = ["01:00:5e:00:00:01"] }),
                       .usage("--mac 01:00:5e:00:00:01: a multicast address (the first octet is odd); a NIC needs a unicast MAC such as 02:00:00:00:00:01"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.macs = ["00:00:00:00:00:00"] }),
                       .usage("--mac 00:00:00:00:00:00: all zeros is not a NIC's address"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0"]; $0.macs = ["02:00:00:00:00:01", "02:00:00:00:00:02"] }),
                       .usage("--mac: given 2 times for 1 NIC; give at most one per NIC (TAP NICs first, then user-mode NICs)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0", "tap1"]; $0.macs = ["52:54:00:12:34:51"] }),
                       .usage("--mac: NIC 1 and NIC 0 would both have 52:54:00:12:34:51; give each NIC its own MAC"))
    }

    func testTapNames() {
        let scratch = Scratch()
        XCTAssertEqual(error(request(scratch) { $0.taps = ["a/b"] }),
                       .usage("--tap a/b: not a valid interface name (no '/', ':', ',' or spaces)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap,0"] }),
                       .usage("--tap tap,0: not a valid interface name (no '/', ':', ',' or spaces)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["averyveryverylongname"] }),
                       .usage("--tap averyveryverylongname: longer than 15 bytes (the Linux limit for interface names)"))
        XCTAssertEqual(error(request(scratch) { $0.taps = ["tap0", "tap1", "tap0"] }),
                       .usage("--tap tap0: given twice; each NIC needs its own TAP device"))
    }

    func testHostForwardsListenOnLoopbackOnly() {
        let scratch = Scratch()
        let example = "e.g. hostfwd=tcp:127.0.0.1:8080-:80"
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:0.0.0.0:8080-:80"] }),
                       .usage("--user-net hostfwd=tcp:0.0.0.0:8080-:80: host address 0.0.0.0 is not a loopback address; forwards listen on 127.0.0.0/8 only, \(example)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:198.18.0.1:53-:53"] }),
                       .usage("--user-net hostfwd=tcp:198.18.0.1:53-:53: host address 198.18.0.1 is not a loopback address; forwards listen on 127.0.0.0/8 only, \(example)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=udp:127.0.0.1:5353-:53"] }),
                       .usage("--user-net hostfwd=udp:127.0.0.1:5353-:53: UDP forwards do not work with restrict=on (QEMU's user-mode network drops the guest's UDP replies); forward TCP, or use --tap"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp::8080-:80"] }),
                       .usage("--user-net hostfwd=tcp::8080-:80: no host address, which QEMU reads as every address of this host; give a loopback address (127.0.0.0/8), \(example)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=:8080-:80"] })?.message,
                       "--user-net hostfwd=:8080-:80: no host address, which QEMU reads as every address of this host; give a loopback address (127.0.0.0/8), \(example)")
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=sctp:127.0.0.1:1-:1"] }),
                       .usage("--user-net hostfwd=sctp:127.0.0.1:1-:1: 'sctp' is not a protocol (tcp or udp)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:127.0.0.1:8080"] }),
                       .usage("--user-net hostfwd=tcp:127.0.0.1:8080: not a port forward (hostfwd=tcp:127.0.0.1:HOSTPORT-[GUESTADDR]:GUESTPORT)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:127.0.0.1:0-:80"] }),
                       .usage("--user-net hostfwd=tcp:127.0.0.1:0-:80: host port '0' is not a port (1 to 65535)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:127.0.0.1:80-:99999"] }),
                       .usage("--user-net hostfwd=tcp:127.0.0.1:80-:99999: guest port '99999' is not a port (1 to 65535)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:localhost:80-:80"] }),
                       .usage("--user-net hostfwd=tcp:localhost:80-:80: 'localhost' is not an IPv4 address (hostfwd=tcp:127.0.0.1:HOSTPORT-[GUESTADDR]:GUESTPORT)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["guestfwd=tcp:10.0.2.100:80-cmd:true"] }),
                       .usage("--user-net guestfwd=tcp:10.0.2.100:80-cmd:true: unsupported option 'guestfwd=tcp:10.0.2.100:80-cmd:true' (only hostfwd=tcp:127.0.0.1:HOSTPORT-[GUESTADDR]:GUESTPORT rules, comma-separated)"))
        XCTAssertEqual(error(request(scratch) { $0.userNets = ["hostfwd=tcp:127.0.0.1:80-:80", "hostfwd=tcp:127.0.0.1:80-:81"] }),
                       .usage("--user-net hostfwd=tcp:127.0.0.1:80-:81: tcp 127.0.0.1:80 is forwarded twice"))
    }

    func testHostForwardWithoutProtocolIsTCP() throws {
        let forward = try QEMUHostForward.parse("127.0.0.1:2222-:22", flag: "--user-net", value: "hostfwd=127.0.0.1:2222-:22")
        XCTAssertEqual(forward, QEMUHostForward(transport: .tcp, hostAddress: IPv4Address(127, 0, 0, 1), hostPort: 2222, guestPort: 22))
        XCTAssertEqual(forward.qemuRule, "tcp:127.0.0.1:2222-:22")
    }

    func testInitrdAndSerialFiles() {
        let scratch = Scratch()
        XCTAssertEqual(error(request(scratch) { $0.initrd = scratch.path + "/missing" }),
                       .usage("--initrd \(scratch.path)/missing: no such file"))
        let spaced = scratch.file("my modules", [1])
        XCTAssertEqual(error(request(scratch) { $0.initrd = spaced }),
                       .usage("--initrd \(spaced): QEMU reads ',' and ' ' in -initrd as separators; use a path without them"))
        XCTAssertEqual(error(request(scratch) { $0.serial = scratch.path + "/no/such/dir/console.log" }),
                       .usage("--serial \(scratch.path)/no/such/dir/console.log: cannot create: \(scratch.path)/no/such/dir does not exist"))
        XCTAssertEqual(error(request(scratch) { $0.serial = scratch.path }),
                       .usage("--serial \(scratch.path): a directory, not a file"))
    }
}

final class QEMUOutcomeTests: XCTestCase {
    func testOddStatusIsTheGuestsStatusShiftedBack() {
        XCTAssertEqual(QEMUOutcome(.exited(1)), .guestExited(status: 0))
        XCTAssertEqual(QEMUOutcome(.exited(3)), .guestExited(status: 1))
        XCTAssertEqual(QEMUOutcome(.exited(141)), .guestExited(status: 70), "a fault: EX_SOFTWARE")
        XCTAssertEqual(QEMUOutcome(.exited(255)), .guestExited(status: 127))
        XCTAssertEqual(QEMUOutcome(.exited(141)).exitStatus, 70)
        XCTAssertNil(QEMUOutcome(.exited(1)).failureMessage)
    }

    func testStatusZeroIsAResetOrPowerOffWithoutStatus() {
        let outcome = QEMUOutcome(.exited(0))
        XCTAssertEqual(outcome, .noGuestStatus)
        XCTAssertEqual(outcome.exitStatus, 1)
        XCTAssertEqual(outcome.failureMessage,
                       "the guest stopped without an exit status (QEMU exited 0): it reset, e.g. on a triple fault (-no-reboot turns a reset into an exit), or powered off, or QEMU was told to quit")
    }

    func testEvenStatusIsQEMUsOwnFailureAndSignalsAreNamed() {
        XCTAssertEqual(QEMUOutcome(.exited(2)), .qemuFailed(status: 2))
        XCTAssertEqual(QEMUOutcome(.exited(2)).failureMessage, "qemu-system-x86_64 failed with status 2 (its message is above)")
        XCTAssertEqual(QEMUOutcome(.signaled(SIGKILL)), .qemuKilled(signal: SIGKILL))
        XCTAssertEqual(QEMUOutcome(.signaled(SIGKILL)).failureMessage, "qemu-system-x86_64 was killed by SIGKILL")
        XCTAssertEqual(QEMUOutcome(.signaled(SIGSEGV)).exitStatus, 1)
    }

    func testStatusOneIsQEMUsFailureOnlyWithAnErrorMessage() {
        // A guest's status 0 and QEMU's own failure both end QEMU with status 1.
        var diagnostics = QEMUDiagnostics()
        diagnostics.consume(Array("qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n".utf8))
        XCTAssertFalse(diagnostics.reportedError, "a warning is not a failure")
        XCTAssertEqual(QEMUOutcome(.exited(1), qemuReportedError: diagnostics.reportedError), .guestExited(status: 0))
        diagnostics.consume(Array("qemu-system-x86_64: -netdev tap,id=net0,ifname=lo,script=no,downscript=no: could not ".utf8))
        XCTAssertFalse(diagnostics.reportedError, "judged per whole line")
        diagnostics.consume(Array("configure /dev/net/tun (lo): Invalid argument\n".utf8))
        XCTAssertTrue(diagnostics.reportedError)
        XCTAssertEqual(QEMUOutcome(.exited(1), qemuReportedError: true), .qemuFailed(status: 1))
        XCTAssertEqual(QEMUOutcome(.exited(3), qemuReportedError: true), .guestExited(status: 1))
        XCTAssertFalse(QEMUDiagnostics.isError("qemu-system-x86_64: terminating on signal 15 from pid 42 (skiff)"))
        XCTAssertFalse(QEMUDiagnostics.isError("Booting from ROM.."))
    }

    func testKVMInternalErrorIsNoticed() {
        var diagnostics = QEMUDiagnostics()
        diagnostics.consume(Array("KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000001\n".utf8))
        XCTAssertTrue(diagnostics.kvmInternalError)
        XCTAssertFalse(diagnostics.reportedError)
        XCTAssertEqual(QEMUOutcome.kvmInternalError.exitStatus, 1)
    }

    func testWaitStatusDecoding() {
        XCTAssertEqual(ProcessTermination(waitStatus: 0x0000), .exited(0))
        XCTAssertEqual(ProcessTermination(waitStatus: 0x0100), .exited(1))
        XCTAssertEqual(ProcessTermination(waitStatus: 0x8D00), .exited(141))
        XCTAssertEqual(ProcessTermination(waitStatus: 9), .signaled(9))
        XCTAssertEqual(ProcessTermination(waitStatus: 0x80 | 11), .signaled(11), "core dumped")
    }

    func testChildProcessReportsExitStatusAndTimeout() throws {
        let shell = try XCTUnwrap(Executables.find("sh"))
        let exited = try ChildProcess.spawn(shell, arguments: ["-c", "exit 141"], stdin: .null).wait()
        XCTAssertEqual(exited, ChildProcess.Result(termination: .exited(141), stoppedBy: nil))
        let slept = try ChildProcess.spawn(shell, arguments: ["-c", "sleep 30"], stdin: .null).wait(timeout: 0.3)
        XCTAssertEqual(slept, ChildProcess.Result(termination: .signaled(SIGKILL), stoppedBy: .timeout))
        XCTAssertThrowsError(try ChildProcess.spawn("/nonexistent/qemu", arguments: [])) {
            XCTAssertEqual($0 as? DeployError, .failure("cannot start /nonexistent/qemu: No such file or directory"))
        }
    }

    func testExecutablesSearchPath() {
        XCTAssertEqual(Executables.find("sh", path: "/nonexistent:/bin"), "/bin/sh")
        XCTAssertNil(Executables.find("sh", path: "/nonexistent"))
        XCTAssertNil(Executables.find("no-such-program-skiff", path: "/usr/bin:/bin"))
    }
}
