// The kernel's implementation of the platform protocol: the NICs found on the PCI bus, the TSC
// clock, the wall clock (the CMOS RTC read once at boot, advanced by the TSC), the serial console
// with timestamped lines, and `wait(until:)`, which halts the CPU until a device interrupt or the
// APIC timer at the deadline.
#if os(none)
import SkiffKernelC
import SkiffWire
import SkiffPlatform

/// What the platform needs from a kernel NIC driver beyond `NetworkDevice`: its identity for the
/// boot log, whether it has work (checked before the CPU halts), and a hook run after any device
/// interrupt (INTx lines may be shared, so every driver gets it). Drivers are polled; interrupts
/// only end `wait`.
public protocol KernelNetworkDriver: NetworkDevice {
    /// "virtio-net", "vmxnet3" or "e1000".
    var driverName: String { get }
    var pciAddress: PCIAddress { get }
    /// "MSI-X", "INTx line N" or "polled".
    var interruptMode: String { get }
    /// One line for the verbose boot log (model, interrupts, rings, link).
    var details: String { get }
    var counters: NetworkDeviceCounters { get }
    /// Whether received frames or device events wait (reads memory only, no device registers
    /// where the driver can avoid them).
    var hasPendingWork: Bool { get }
    /// After any device interrupt: lower this device's INTx line if it raised it (and unmask the
    /// line at the I/O APIC), take device events.
    func acknowledgeInterrupt()
}

/// The NIC drivers compiled into this kernel. `skiff build --drivers` defines SKIFF_NO_VIRTIO,
/// SKIFF_NO_VMXNET3 or SKIFF_NO_E1000 for the drivers left out (default: none), so their code is
/// never referenced and `--gc-sections` drops it.
enum KernelDrivers {
    /// Starts the driver for `pci` if one matches; nil when none does. Errors are reported on the
    /// console and the device is left out.
    static func start(_ pci: PCIDevice, name: String) -> (any KernelNetworkDriver)? {
        #if !SKIFF_NO_VIRTIO
        if VirtioNetDevice.matches(pci) {
            do { return try VirtioNetDevice(pci, name: name) } catch { report("virtio-net", pci, error.description) }
            return nil
        }
        #endif
        #if !SKIFF_NO_VMXNET3
        if VMXNET3Device.matches(pci) {
            do { return try VMXNET3Device(pci, name: name) } catch { report("vmxnet3", pci, error.description) }
            return nil
        }
        #endif
        #if !SKIFF_NO_E1000
        if E1000Device.matches(pci) {
            do { return try E1000Device(pci, name: name) } catch { report("e1000", pci, error.description) }
            return nil
        }
        #endif
        return nil
    }

    /// The drivers in this build, for the verbose boot log.
    static var included: String {
        var names: [String] = []
        #if !SKIFF_NO_VIRTIO
        names.append("virtio-net")
        #endif
        #if !SKIFF_NO_VMXNET3
        names.append("vmxnet3")
        #endif
        #if !SKIFF_NO_E1000
        names.append("e1000")
        #endif
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    private static func report(_ driver: StaticString, _ pci: PCIDevice, _ reason: StaticString) {
        Console.write("skiff: \(driver) at \(pci.address): ")
        Console.write(reason)
        Console.write("; not used\n")
    }
}

public final class KernelPlatform: Platform {
    /// The NICs, of every driver, named eth0, eth1, … in PCI order.
    public let drivers: [any KernelNetworkDriver]
    public let networkDevices: [any NetworkDevice]
    /// How many times `wait` halted the CPU, and how often the timer (not a device) woke it.
    public private(set) var halts: UInt64 = 0
    public private(set) var timerWakeups: UInt64 = 0
    private var consoleAtLineStart = true
    /// The RTC's time and the monotonic clock when it was read; nil when the RTC gave no valid date.
    public let wallClockBase: (time: UnixTime, at: Instant)?

    /// Calibrates the clock, reads the RTC, sets up interrupts, and starts every supported NIC. A
    /// NIC that fails to start is reported on the console and left out.
    init() {
        Interrupts.initialize()
        Clock.initialize()
        wallClockBase = RTC.now().map { ($0, Clock.now()) }
        var drivers: [any KernelNetworkDriver] = []
        for pci in PCI.enumerate() {
            if let driver = KernelDrivers.start(pci, name: "eth\(drivers.count)") { drivers.append(driver) }
        }
        self.drivers = drivers
        networkDevices = drivers.map { $0 }
    }

    public func now() -> Instant { Clock.now() }

    /// The RTC's reading at boot plus the monotonic time since (within a second of UTC: the RTC
    /// counts whole seconds), or nil without a valid RTC date.
    public func wallClock() -> UnixTime? {
        guard let base = wallClockBase else { return nil }
        return base.time + (Clock.now() - base.at)
    }

    public func randomBits() -> UInt64 { Entropy.next() }

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

    /// On VMware: publishes the address as guest info (VMwareGuest.swift); elsewhere nothing
    /// happens (the `vmware:` line printed at start said that guest info is off).
    public func primaryAddressChanged(_ address: IPv4Address?) {
        guard let address else { return }
        Kernel.publishGuestInfo(ip: address)
    }

    public func wait(until deadline: Instant?) {
        for driver in drivers where driver.hasPendingWork { return }
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
            for driver in drivers { driver.acknowledgeInterrupt() }
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
        printNetworkSummary(platform)
        // Whether the guest info goes to VMware: one `vmware:` line (VMwareGuest.swift).
        _ = VMwareGuest.state
        if verbose { printPlatformDetails(platform) }
        return platform
    }

    static func printPlatformDetails(_ platform: KernelPlatform) {
        print("skiff: clock \(Clock.tscHz / 1000) kHz TSC from \(Clock.source.name), APIC timer \(Clock.apicTimerHz / 1000) kHz")
        if let base = platform.wallClockBase {
            let t = CivilTime(unixSeconds: base.time.seconds)
            print("skiff: rtc \(t.year)-\(twoDigits(t.month))-\(twoDigits(t.day)) \(twoDigits(t.hour)):\(twoDigits(t.minute)):\(twoDigits(t.second)) UTC")
        } else {
            print("skiff: rtc none (no wall clock)")
        }
        for pci in PCI.enumerate() {
            print("skiff: pci \(pci.address) \(hex4(pci.vendorID)):\(hex4(pci.deviceID)) class \(hex2(pci.classCode))\(hex2(pci.subclass))")
        }
        print("skiff: drivers \(KernelDrivers.included)")
        for driver in platform.drivers {
            print("skiff: \(driver.name) \(driver.details)")
        }
    }

    /// One line per NIC, verbose or not: `skiff: eth0 vmxnet3 00:04.0 mac 52:54:00:12:34:50 MSI-X`.
    static func printNetworkSummary(_ platform: KernelPlatform) {
        for driver in platform.drivers {
            print("skiff: \(driver.name) \(driver.driverName) \(driver.pciAddress) mac \(driver.macAddress) \(driver.interruptMode)")
        }
    }
}

private func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.utf8.count) + digits
}

private func twoDigits(_ value: Int) -> String {
    value < 10 ? "0\(value)" : "\(value)"
}

private func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return value < 16 ? "0" + digits : digits
}
#endif
