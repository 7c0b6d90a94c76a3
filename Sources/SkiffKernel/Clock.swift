// The monotonic clock: the time stamp counter, calibrated once at boot, and the local APIC timer
// that ends `wait(until:)` at a deadline.
//
// The TSC's frequency comes from, in order:
//   1. the hypervisor's timing leaf CPUID 0x40000010 (EAX: TSC kHz, EBX: APIC bus kHz), which
//      VMware and KVM (with invtsc) offer;
//   2. CPUID leaf 0x15 (TSC/crystal ratio × crystal Hz) when it names the crystal;
//   3. measuring it against the PIT (8254 channel 2, gated through port 0x61, which does not
//      need interrupts), 50 ms.
// The APIC timer's rate is measured against the calibrated TSC over the same kind of window
// unless leaf 0x40000010 gave it.
#if os(none)
import SkiffKernelC
import SkiffPlatform

public enum Clock {
    public enum Source: Sendable {
        case hypervisorLeaf, cpuidLeaf15, pit

        public var name: StaticString {
            switch self {
            case .hypervisorLeaf: return "CPUID 0x40000010"
            case .cpuidLeaf15: return "CPUID 0x15"
            case .pit: return "PIT"
            }
        }
    }

    nonisolated(unsafe) public private(set) static var tscHz: UInt64 = 0
    /// Local APIC timer ticks per second after its divide-by-16.
    nonisolated(unsafe) public private(set) static var apicTimerHz: UInt64 = 0
    nonisolated(unsafe) public private(set) static var source = Source.pit
    nonisolated(unsafe) private static var tscAtBoot: UInt64 = 0

    /// Calibrates; call once, before `now()` and `arm(deadline:)`.
    static func initialize() {
        tscAtBoot = skiff_rdtsc()
        var apicBusHz: UInt64 = 0
        if let (tsc, bus) = hypervisorFrequencies() {
            tscHz = tsc
            apicBusHz = bus
            source = .hypervisorLeaf
        } else if let tsc = leaf15Frequency() {
            tscHz = tsc
            source = .cpuidLeaf15
        }
        if tscHz == 0 || apicBusHz == 0 {
            let (tsc, apic) = measureAgainstPIT(milliseconds: 50)
            if tscHz == 0 { tscHz = tsc; source = .pit }
            apicTimerHz = apic
        } else {
            apicTimerHz = apicBusHz / 16
        }
        if tscHz == 0 { tscHz = 1_000_000_000 }  // a PIT that never counts: keep time roughly
        if apicTimerHz == 0 { apicTimerHz = 62_500_000 }
        scale = (1_000_000_000 << 32) / tscHz
    }

    /// Nanoseconds per TSC tick in 32.32 fixed point: ns = ticks × scale >> 32 needs only a
    /// 64×64→128-bit multiply (no 128-bit division, which the freestanding link lacks).
    nonisolated(unsafe) private static var scale: UInt64 = 0

    /// Nanoseconds since calibration started.
    public static func now() -> Instant {
        let ticks = skiff_rdtsc() &- tscAtBoot
        let (high, low) = ticks.multipliedFullWidth(by: scale)
        guard high < (1 << 31) else { return Instant(nanoseconds: Int64.max) }  // after 68 years
        return Instant(nanoseconds: Int64(high << 32 | low >> 32))
    }

    /// Arms the APIC timer to fire at `deadline` (at once if it has passed). Waking early is
    /// harmless — the caller loops — so deadlines further than a second away are clamped.
    static func arm(deadline: Instant) {
        let remaining = min(deadline.nanoseconds - now().nanoseconds, 1_000_000_000)
        guard remaining > 0 else {
            LocalAPIC.startTimer(count: 1)
            return
        }
        // At most 10⁹ ns × a few 10⁹ Hz: inside 64 bits.
        let ticks = UInt64(remaining) * apicTimerHz / 1_000_000_000
        LocalAPIC.startTimer(count: UInt32(clamping: max(ticks, 1)))
    }

    static func disarm() { LocalAPIC.stopTimer() }

    private static func hypervisorFrequencies() -> (UInt64, UInt64)? {
        // CPUID.1:ECX bit 31: running under a hypervisor; leaf 0x40000000 EAX: its highest leaf.
        guard skiff_cpuid(1, 0).ecx & (1 << 31) != 0 else { return nil }
        guard skiff_cpuid(0x4000_0000, 0).eax >= 0x4000_0010 else { return nil }
        let leaf = skiff_cpuid(0x4000_0010, 0)
        guard leaf.eax != 0, leaf.ebx != 0 else { return nil }
        return (UInt64(leaf.eax) * 1000, UInt64(leaf.ebx) * 1000)
    }

    private static func leaf15Frequency() -> UInt64? {
        guard skiff_cpuid(0, 0).eax >= 0x15 else { return nil }
        let leaf = skiff_cpuid(0x15, 0)
        // EAX: denominator, EBX: numerator of TSC/crystal; ECX: crystal Hz (0 = not enumerated).
        guard leaf.eax != 0, leaf.ebx != 0, leaf.ecx != 0 else { return nil }
        return UInt64(leaf.ecx) * UInt64(leaf.ebx) / UInt64(leaf.eax)
    }

    /// Counts TSC and APIC timer ticks while PIT channel 2 counts down `milliseconds`
    /// (8254 datasheet: mode 0, interrupt on terminal count; OUT2 reads back as port 0x61 bit 5).
    private static func measureAgainstPIT(milliseconds: UInt64) -> (tsc: UInt64, apic: UInt64) {
        let pitHz: UInt64 = 1_193_182
        let count = pitHz * milliseconds / 1000   // 59,659 for 50 ms: fits in 16 bits
        let gate = skiff_inb(0x61)
        skiff_outb(0x61, (gate & 0xFC) | 0x01)    // gate on, speaker off
        skiff_outb(0x43, 0xB0)                    // channel 2, lobyte/hibyte, mode 0, binary
        skiff_outb(0x42, UInt8(truncatingIfNeeded: count))
        skiff_outb(0x42, UInt8(truncatingIfNeeded: count >> 8))
        // Restart the count: a rising gate edge reloads channel 2.
        skiff_outb(0x61, (gate & 0xFC))
        skiff_outb(0x61, (gate & 0xFC) | 0x01)
        LocalAPIC.startFreeRunning()
        let apicStart = LocalAPIC.currentCount
        let tscStart = skiff_rdtsc()
        var spins: UInt64 = 0
        // Bounded: a missing PIT must not hang the boot (about 10⁸ port reads at most).
        while skiff_inb(0x61) & 0x20 == 0 && spins < 100_000_000 { spins += 1 }
        let tscEnd = skiff_rdtsc()
        let apicEnd = LocalAPIC.currentCount
        LocalAPIC.stopTimer()
        skiff_outb(0x61, gate)
        guard spins < 100_000_000 else { return (0, 0) }
        let tsc = (tscEnd &- tscStart) * 1000 / milliseconds
        let apic = UInt64(apicStart &- apicEnd) * 1000 / milliseconds
        return (tsc, apic)
    }
}
#endif
