// Interrupts: the local APIC (timer, end of interrupt), the I/O APIC (legacy PCI INTx), and the
// 8259 PICs (remapped and masked, so they can never deliver).
//
// The kernel runs with interrupts off. They are on only inside `skiff_wait_for_interrupt`'s
// `sti; hlt`, so an interrupt never preempts Swift code: it wakes the halted CPU, the handler
// records its vector and acknowledges it, and the application loop then polls the devices. That
// keeps drivers free of locks and reentrancy. Vectors (boot.S, cpu.c): 32 the LAPIC timer,
// 33–47 devices (one each), 255 the LAPIC's spurious vector.
#if os(none)
import SkiffKernelC

enum Interrupts {
    static let timerVector: UInt8 = 32
    static let firstDeviceVector: UInt8 = 33
    static let lastDeviceVector: UInt8 = 47
    static let spuriousVector: UInt8 = 255

    /// One bit per vector 32–47 that fired since `takePending` last ran.
    nonisolated(unsafe) static var pending: UInt32 = 0
    nonisolated(unsafe) static var total: UInt64 = 0
    nonisolated(unsafe) private static var nextDeviceVector = firstDeviceVector
    /// Per vector 32–47: how many times it fired, and the I/O APIC line behind it when it is a
    /// level-triggered line (masked by the handler until the driver has quietened its device,
    /// then unmasked by `unmaskLine`), else `noLine`. Fixed storage, so the handler never
    /// allocates or triggers a copy.
    nonisolated(unsafe) private static var counters = UnsafeMutablePointer<UInt64>.allocate(capacity: 16)
    nonisolated(unsafe) private static var levelLines = UnsafeMutablePointer<UInt32>.allocate(capacity: 16)
    private static let noLine = UInt32.max

    /// Remaps and masks the PICs and enables the local APIC. Interrupts stay off (IF = 0).
    static func initialize() {
        counters.initialize(repeating: 0, count: 16)
        levelLines.initialize(repeating: noLine, count: 16)
        PIC.disable()
        LocalAPIC.enable()
    }

    /// A vector of its own for one device; nil when all 15 are taken.
    static func allocateDeviceVector() -> UInt8? {
        guard nextDeviceVector <= lastDeviceVector else { return nil }
        defer { nextDeviceVector += 1 }
        return nextDeviceVector
    }

    /// Routes I/O APIC input `line` (a PCI INTx line as the firmware numbered it) to `vector`,
    /// level-triggered and active-high as QEMU's PIIX/ICH and ACPI tables describe PCI links.
    static func routeLevelLine(_ line: UInt32, to vector: UInt8) -> Bool {
        guard IOAPIC.route(line: line, vector: vector, levelTriggered: true, activeLow: false) else { return false }
        levelLines[Int(vector - 32)] = line
        return true
    }

    /// Unmasks a level-triggered line after its device has been serviced.
    static func unmaskLine(for vector: UInt8) {
        guard vector >= 32 && vector < 48 else { return }
        let line = levelLines[Int(vector - 32)]
        if line != noLine { IOAPIC.setMasked(line: line, false) }
    }

    /// The vectors that fired since the last call, as a bit set (bit n is vector 32 + n).
    static func takePending() -> UInt32 {
        let bits = pending
        pending = 0
        return bits
    }

    static func count(of vector: UInt8) -> UInt64 {
        guard vector >= 32 && vector < 48 else { return 0 }
        return counters[Int(vector - 32)]
    }

    /// Called from boot.S's interrupt stubs, with interrupts off.
    static func handle(_ vector: UInt64) {
        guard vector != UInt64(spuriousVector) else { return }  // no EOI for spurious (SDM §11.9)
        if vector >= 32 && vector < 48 {
            let index = Int(vector - 32)
            pending |= 1 << UInt32(index)
            total &+= 1
            // In bounds: index < 16, the storage's capacity.
            counters[index] &+= 1
            let line = levelLines[index]
            if line != noLine {
                // The line stays asserted until the driver reads its device's status: mask it, or
                // it would fire again the moment interrupts are back on.
                IOAPIC.setMasked(line: line, true)
            }
        }
        LocalAPIC.endOfInterrupt()
    }
}

@_cdecl("skiff_interrupt")
public func skiffInterrupt(_ vector: UInt64) {
    Interrupts.handle(vector)
}

/// The two 8259A PICs (Intel 8259A datasheet, ICW1–ICW4). Remapped to 0x20–0x2F — away from the
/// CPU exceptions they would otherwise alias — and fully masked: the APICs deliver everything.
enum PIC {
    static func disable() {
        let master: UInt16 = 0x20, slave: UInt16 = 0xA0
        skiff_outb(master, 0x11); skiff_outb(slave, 0x11)           // ICW1: init, ICW4 follows
        skiff_outb(master + 1, 0x20); skiff_outb(slave + 1, 0x28)   // ICW2: vector bases
        skiff_outb(master + 1, 0x04); skiff_outb(slave + 1, 0x02)   // ICW3: cascade on IRQ2
        skiff_outb(master + 1, 0x01); skiff_outb(slave + 1, 0x01)   // ICW4: 8086 mode
        skiff_outb(master + 1, 0xFF); skiff_outb(slave + 1, 0xFF)   // OCW1: mask all
    }
}

/// The local APIC in xAPIC mode (Intel SDM Vol. 3A chapter 11), at the address IA32_APIC_BASE
/// names (0xFEE00000 by default), inside the identity map.
enum LocalAPIC {
    static let baseMSR: UInt32 = 0x1B
    // Register offsets (SDM Vol. 3A §11.4.1, table 11-1).
    static let id = 0x20, taskPriority = 0x80, endOfInterruptRegister = 0xB0
    static let spuriousVectorRegister = 0xF0, errorStatus = 0x280
    static let lvtTimer = 0x320, lvtLINT0 = 0x350, lvtLINT1 = 0x360, lvtError = 0x370
    static let timerInitialCount = 0x380, timerCurrentCount = 0x390, timerDivide = 0x3E0
    static let masked: UInt32 = 1 << 16

    nonisolated(unsafe) static var base: UnsafeMutableRawPointer? = nil

    static func enable() {
        let msr = skiff_read_msr(baseMSR)
        // IA32_APIC_BASE bit 11: global enable; bits 12 and up: the registers' physical page.
        skiff_write_msr(baseMSR, msr | (1 << 11))
        base = UnsafeMutableRawPointer(bitPattern: UInt(msr & 0x000F_FFFF_FFFF_F000))
        write(spuriousVectorRegister, 0x100 | UInt32(Interrupts.spuriousVector))  // bit 8: enabled
        write(taskPriority, 0)
        write(lvtLINT0, masked)          // the PIC's virtual-wire input: masked with the PIC
        write(lvtError, masked)
        write(lvtTimer, masked | UInt32(Interrupts.timerVector))
        write(timerDivide, 0x3)          // divide by 16 (SDM §11.5.4, figure 11-10)
        write(timerInitialCount, 0)
    }

    /// This CPU's APIC ID, for MSI destinations.
    static var apicID: UInt32 { read(id) >> 24 }

    static func endOfInterrupt() { write(endOfInterruptRegister, 0) }

    /// One-shot timer: fires `count` ticks (bus clock / 16) from now; 0 stops it.
    static func startTimer(count: UInt32) {
        write(lvtTimer, UInt32(Interrupts.timerVector))  // one-shot mode, unmasked
        write(timerInitialCount, count)
    }

    static func stopTimer() { write(timerInitialCount, 0) }

    /// Starts the counter masked (for calibration) and returns nothing; read `currentCount`.
    static func startFreeRunning() {
        write(lvtTimer, masked | UInt32(Interrupts.timerVector))
        write(timerInitialCount, UInt32.max)
    }

    static var currentCount: UInt32 { read(timerCurrentCount) }

    static func read(_ offset: Int) -> UInt32 {
        // In bounds: every offset above lies in the APIC's 4 KiB register page.
        skiff_mmio_read32(base! + offset)
    }

    static func write(_ offset: Int, _ value: UInt32) {
        skiff_mmio_write32(base! + offset, value)
    }
}

/// The I/O APIC (82093AA datasheet §3.2): the index register at +0, the window at +0x10;
/// redirection entry n at registers 0x10 + 2n (low) and 0x11 + 2n (high). QEMU and most
/// firmware place it at 0xFEC00000 (ACPI's MADT would say otherwise).
enum IOAPIC {
    static let base = UnsafeMutableRawPointer(bitPattern: UInt(0xFEC0_0000))!
    static let version: UInt32 = 0x01

    /// How many inputs the I/O APIC has (register 1, bits 16–23, plus one); 0 when none answers.
    static var lineCount: UInt32 {
        let value = read(version)
        return value == 0xFFFF_FFFF ? 0 : ((value >> 16) & 0xFF) + 1
    }

    static func route(line: UInt32, vector: UInt8, levelTriggered: Bool, activeLow: Bool) -> Bool {
        guard line < lineCount else { return false }
        var low = UInt32(vector)                  // fixed delivery, physical destination
        if activeLow { low |= 1 << 13 }
        if levelTriggered { low |= 1 << 15 }
        write(0x11 + 2 * line, LocalAPIC.apicID << 24)
        write(0x10 + 2 * line, low)
        return true
    }

    static func setMasked(line: UInt32, _ masked: Bool) {
        let register = 0x10 + 2 * line
        let low = read(register)
        write(register, masked ? low | (1 << 16) : low & ~(1 << 16))
    }

    static func read(_ register: UInt32) -> UInt32 {
        skiff_mmio_write32(base, register)
        return skiff_mmio_read32(base + 0x10)
    }

    static func write(_ register: UInt32, _ value: UInt32) {
        skiff_mmio_write32(base, register)
        skiff_mmio_write32(base + 0x10, value)
    }
}
#endif
