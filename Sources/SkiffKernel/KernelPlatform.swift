// The kernel's implementation of the platform protocol: the NICs found on the PCI bus, the TSC
// clock, the serial console with timestamped lines, and `wait(until:)`, which halts the CPU until
// a device interrupt or the APIC timer at the deadline.
#if os(none)
import SkiffKernelC
import SkiffWire
import SkiffPlatform

public final class KernelPlatform: Platform {
    /// The virtio-net devices, named eth0, eth1, … in PCI order.
    public let virtioDevices: [VirtioNetDevice]
    public let networkDevices: [any NetworkDevice]
    /// How many times `wait` halted the CPU, and how often the timer (not a device) woke it.
    public private(set) var halts: UInt64 = 0
    public private(set) var timerWakeups: UInt64 = 0
    private var consoleAtLineStart = true

    /// Calibrates the clock, sets up interrupts, and starts every supported NIC. A NIC that fails
    /// to start is reported on the console and left out.
    init() {
        Interrupts.initialize()
        Clock.initialize()
        var devices: [VirtioNetDevice] = []
        for pci in PCI.enumerate() where VirtioNetDevice.matches(pci) {
            let name = "eth\(devices.count)"
            do {
                let device = try VirtioNetDevice(pci, name: name)
                devices.append(device)
            } catch {
                Console.write("skiff: virtio-net at \(pci.address): ")
                Console.write(error.description)
                Console.write("; not used\n")
            }
        }
        virtioDevices = devices
        networkDevices = devices.map { $0 }
    }

    public func now() -> Instant { Clock.now() }

    public var commandLine: String { Kernel.bootInfo.commandLine }

    public func exit(status: Int32) -> Never { Kernel.exit(status: status) }

    /// Console text with `[seconds.millis] ` at the start of each line (the hosted format).
    public func write(console text: String) {
        for byte in text.utf8 {
            if consoleAtLineStart {
                writeTimestamp()
                consoleAtLineStart = false
            }
            Serial.write(byte)
            if byte == 0x0A { consoleAtLineStart = true }
        }
    }

    /// One line without a timestamp (applied configuration, counters: the formats scripts match).
    public func writeLine(_ line: String) {
        if !consoleAtLineStart { Serial.write(0x0A); consoleAtLineStart = true }
        Console.write(line)
        Serial.write(0x0A)
    }

    private func writeTimestamp() {
        Console.write((now() - Instant.zero).consoleTimestamp)
    }

    public func wait(until deadline: Instant?) {
        for device in virtioDevices where device.hasPendingWork { return }
        if let deadline {
            guard deadline > now() else { return }
            Clock.arm(deadline: deadline)
        }
        halts &+= 1
        // Interrupts are off; an interrupt raised since the check above is delivered right after
        // `sti`, so the `hlt` cannot sleep through it.
        skiff_wait_for_interrupt()
        Clock.disarm()
        let fired = Interrupts.takePending()
        if fired & 1 != 0 { timerWakeups &+= 1 }
        if fired & ~1 != 0 {
            // INTx lines may be shared: let every INTx device deassert its line.
            for device in virtioDevices { device.acknowledgeInterrupt() }
        }
    }
}

extension Kernel {
    nonisolated(unsafe) static var storedPlatform: KernelPlatform? = nil

    /// The platform: created on first use (clock calibration, interrupts, PCI, NICs), so a kernel
    /// that never uses the network boots without that work.
    public static var platform: KernelPlatform {
        if let platform = storedPlatform { return platform }
        let platform = KernelPlatform()
        storedPlatform = platform
        if verbose { printPlatformDetails(platform) }
        return platform
    }

    static func printPlatformDetails(_ platform: KernelPlatform) {
        print("skiff: clock \(Clock.tscHz / 1000) kHz TSC from \(Clock.source.name), APIC timer \(Clock.apicTimerHz / 1000) kHz")
        for pci in PCI.enumerate() {
            print("skiff: pci \(pci.address) \(hex4(pci.vendorID)):\(hex4(pci.deviceID)) class \(hex2(pci.classCode))\(hex2(pci.subclass))")
        }
        for device in platform.virtioDevices {
            print("skiff: \(device.name) virtio-net \(device.isModern ? "modern" : "legacy") at \(device.pciAddress), \(device.interruptMode), features 0x\(String(device.features, radix: 16)), link \(device.isLinkUp ? "up" : "down")")
        }
    }
}

private func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.utf8.count) + digits
}

private func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return value < 16 ? "0" + digits : digits
}
#endif
