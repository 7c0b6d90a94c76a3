import Glibc
import XCTest
@testable import SkiffDeploy

final class KVMProbeImageTests: XCTestCase {
    func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    func testMultibootHeaderWithAOutKludge() {
        let image = KVMProbe.image()
        XCTAssertEqual(image.count, KVMProbe.imageSize)
        // Multiboot 0.6.96 §3.1.1–3.1.3, header at offset 0 (it must be in the first 8192 bytes, 4-aligned).
        let magic = u32(image, 0), flags = u32(image, 4), checksum = u32(image, 8)
        XCTAssertEqual(magic, 0x1BAD_B002)
        XCTAssertEqual(flags, 0x0001_0000, "only bit 16: address fields valid (the a.out kludge)")
        XCTAssertEqual(magic &+ flags &+ checksum, 0, "magic + flags + checksum = 0 mod 2^32")
        XCTAssertEqual(checksum, 0xE4514FFE)
        let headerAddress = u32(image, 12), loadAddress = u32(image, 16), loadEnd = u32(image, 20)
        let bssEnd = u32(image, 24), entry = u32(image, 28)
        XCTAssertEqual(loadAddress, 0x10_0000)
        XCTAssertEqual(headerAddress - loadAddress, 0, "header_addr - load_addr is the header's file offset")
        XCTAssertEqual(loadEnd, loadAddress + UInt32(image.count), "the whole file is loaded")
        XCTAssertEqual(bssEnd, 0)
        XCTAssertEqual(entry, loadAddress + 32, "code starts right after the 32-byte header")
    }

    func testCodeEnablesSSEExecutesItAndWritesToIsaDebugExit() {
        let image = KVMProbe.image()
        let code = Array(image[32...])
        func contains(_ sequence: [UInt8]) -> Bool {
            code.indices.contains { start in start + sequence.count <= code.count && Array(code[start..<start + sequence.count]) == sequence }
        }
        XCTAssertEqual(code.first, 0xFA, "cli first")
        XCTAssertTrue(contains([0x83, 0xE0, 0xF3]), "and eax, ~(CR0.EM | CR0.TS)")
        XCTAssertTrue(contains([0x83, 0xC8, 0x02]), "or eax, CR0.MP")
        XCTAssertTrue(contains([0x0D, 0x00, 0x06, 0x00, 0x00]), "or eax, CR4.OSFXSR | CR4.OSXMMEXCPT")
        XCTAssertTrue(contains([0x0F, 0x22, 0xE0]), "mov cr4, eax")
        XCTAssertTrue(contains([0x0F, 0x57, 0xC0]), "xorps xmm0, xmm0")
        XCTAssertTrue(contains([0x0F, 0x29, 0x05, 0x00, 0x01, 0x10, 0x00]), "movaps [0x100100], xmm0")
        XCTAssertTrue(contains([0xE7, 0xF4]), "out 0xF4, eax")
        XCTAssertEqual(KVMProbe.expectedQEMUStatus, 85, "(42 << 1) | 1")
        XCTAssertEqual((0x100100 - 0x100000) % 16, 0, "movaps needs a 16-byte-aligned operand")
    }

    func testProbeCommandLine() {
        XCTAssertEqual(KVMProbe.arguments(qemu: "qemu", imagePath: "/tmp/p", accelerator: .kvm), [
            "qemu", "-accel", "kvm", "-m", "32", "-no-reboot", "-nographic", "-display", "none",
            "-monitor", "none", "-serial", "none", "-parallel", "none", "-nic", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", "/tmp/p",
        ])
    }

    func testInterpretingQEMUsEnd() {
        XCTAssertEqual(KVMProbe.interpret(.exited(85), messages: ""), .works)
        XCTAssertEqual(KVMProbe.interpret(.exited(0), messages: ""), .guestFaulted)
        XCTAssertEqual(KVMProbe.interpret(.exited(3), messages: ""), .unexpectedStatus(3))
        let messages = """
            qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]
            qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied

            """
        XCTAssertEqual(KVMProbe.interpret(.exited(1), messages: messages),
                       .qemuFailed(status: 1, message: "-accel kvm: failed to initialize kvm: Permission denied"))
        XCTAssertEqual(KVMProbe.Result.qemuFailed(status: 1, message: "x").reason, "QEMU failed under KVM with status 1: x")
        XCTAssertEqual(KVMProbe.interpret(.signaled(SIGKILL), messages: ""), .qemuKilled(signal: SIGKILL))
        XCTAssertEqual(KVMProbe.Result.emulationFailure.reason,
                       "the probe guest's SSE instruction failed: KVM internal error, emulation failure")
    }

    /// Under TCG the probe must exit with the expected status: that proves the image is right
    /// (under KVM it tells whether KVM works). Skipped without QEMU.
    func testProbeImageRunsUnderTCG() throws {
        guard let qemu = Executables.find(QEMUMachine.program) else {
            throw XCTSkip("qemu-system-x86_64 is not installed")
        }
        XCTAssertEqual(KVMProbe.run(qemu: qemu, accelerator: .tcg), .works)
    }
}
