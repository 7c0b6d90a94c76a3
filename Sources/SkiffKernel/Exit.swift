// Stopping the machine: QEMU's isa-debug-exit device when present (it conveys the status), else
// ACPI S5 soft-off (ACPI.swift: the status is lost), else a halted CPU.
#if os(none)
import SkiffKernelC

public enum KernelExit {
    /// QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04`: writing `value` to the port makes
    /// QEMU exit at once with process status `(value << 1) | 1`. Kernel status 0 therefore shows up
    /// as QEMU status 1, status 1 as 3, `faultStatus` (70) as 141; statuses outside 0...127 are
    /// reported as 127 (QEMU 255), the largest that survives the shift into an 8-bit status.
    static let debugExitPort: UInt16 = 0xF4

    /// The status of a kernel that stopped on a CPU exception or a Swift runtime trap
    /// (sysexits.h EX_SOFTWARE, "internal software error").
    public static let faultStatus: Int32 = 70

    /// The debug-exit device reads as 0 (QEMU hw/misc/debugexit.c); an I/O port with no device
    /// behind it reads as all ones.
    static var debugExitPresent: Bool { skiff_inl(debugExitPort) == 0 }

    /// The QEMU process status a kernel status becomes through isa-debug-exit.
    public static func qemuStatus(forKernelStatus status: Int32) -> Int32 {
        (status >= 0 && status <= 127 ? status : 127) << 1 | 1
    }

    public static func exit(status: Int32) -> Never {
        Serial.flush()
        if debugExitPresent {
            let value = status >= 0 && status <= 127 ? status : 127
            skiff_outl(debugExitPort, UInt32(value))
        }
        // Allocation-free from here on: this also runs after a fault, when the heap may be broken.
        do {
            let control = try ACPI.firmwareSleepControl(rsdpAddress: Kernel.storedBootInfo?.acpiRSDP)
            if Kernel.verbose {
                Console.write("skiff: ACPI PM1a_CNT ")
                Console.write(hex: UInt64(control.pm1aControl), digits: 4)
                Console.write(", PM1b_CNT ")
                Console.write(hex: UInt64(control.pm1bControl), digits: 4)
                Console.write(", \\_S5_ SLP_TYPa ")
                Console.write(decimal: UInt64(control.sleepTypeA))
                Console.write(" SLP_TYPb ")
                Console.write(decimal: UInt64(control.sleepTypeB))
                Console.write("\n")
            }
            Console.write("skiff: no isa-debug-exit device; powering off through ACPI (status ")
            writeStatus(status)
            Console.write(" is lost)\n")
            Serial.flush()
            // QEMU acts on the request asynchronously: the CPU runs on briefly, into the halt.
            ACPI.enterS5(control)
        } catch {
            Console.write("skiff: no isa-debug-exit device and no ACPI power-off (")
            Console.write(error.summary)
            Console.write("); halting (status ")
            writeStatus(status)
            Console.write(" is lost)\n")
        }
        halt()
    }

    private static func writeStatus(_ status: Int32) {
        if status < 0 { Console.write("-") }
        Console.write(decimal: UInt64(status.magnitude))
    }

    /// Stops the CPU for good: the last resort when nothing can power the machine off.
    public static func halt() -> Never {
        Serial.flush()
        skiff_halt_forever()
    }
}
#endif
