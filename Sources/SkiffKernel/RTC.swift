// The CMOS real-time clock (the MC146818 of the PC/AT, which every PC hypervisor emulates), read
// once at boot for the wall clock; `KernelPlatform.wallClock()` then advances that reading with
// the monotonic clock, so the RTC is never read again.
//
// MC146818A datasheet: index port 0x70, data port 0x71; registers 0x00 seconds, 0x02 minutes,
// 0x04 hours, 0x07 day of month, 0x08 month, 0x09 year (two digits); status register A (0x0A)
// bit 7 UIP: an update is in progress and the time registers may be inconsistent; status
// register B (0x0B) bit 2 DM: binary (1) or BCD (0) values, bit 1 24/12: 24-hour mode (1), else
// 12-hour mode with bit 7 of the hours register set for PM. The year is taken to be 2000–2099
// (the century register's index is firmware-specific: ACPI FADT CENTURY).
import SkiffPlatform

/// One reading of the RTC's registers, decoded on any platform (host-tested).
public struct RTCReading: Equatable, Sendable {
    public var seconds: UInt8
    public var minutes: UInt8
    public var hours: UInt8
    public var day: UInt8
    public var month: UInt8
    public var year: UInt8
    /// Status register B.
    public var statusB: UInt8

    public init(seconds: UInt8, minutes: UInt8, hours: UInt8, day: UInt8, month: UInt8, year: UInt8, statusB: UInt8) {
        self.seconds = seconds
        self.minutes = minutes
        self.hours = hours
        self.day = day
        self.month = month
        self.year = year
        self.statusB = statusB
    }

    static let binaryMode: UInt8 = 1 << 2
    static let twentyFourHourMode: UInt8 = 1 << 1
    static let pm: UInt8 = 1 << 7

    /// The date and time, or nil when a register holds no valid value (no RTC answers 0xFF, a
    /// BCD digit above 9, February 30th…).
    public var civilTime: CivilTime? {
        let binary = statusB & RTCReading.binaryMode != 0
        func decode(_ value: UInt8) -> Int? {
            if binary { return Int(value) }
            guard value & 0x0F <= 9, value >> 4 <= 9 else { return nil }
            return Int(value >> 4) * 10 + Int(value & 0x0F)
        }
        guard let second = decode(seconds), let minute = decode(minutes), let day = decode(day),
              let month = decode(month), let year = decode(year), year <= 99 else { return nil }
        var hour: Int
        if statusB & RTCReading.twentyFourHourMode != 0 {
            guard let value = decode(hours) else { return nil }
            hour = value
        } else {
            // 12-hour mode: 12 AM is midnight, 12 PM noon.
            guard let value = decode(hours & ~RTCReading.pm), value >= 1, value <= 12 else { return nil }
            hour = value % 12
            if hours & RTCReading.pm != 0 { hour += 12 }
        }
        return CivilTime(year: 2000 + Int64(year), month: month, day: day, hour: hour, minute: minute, second: second)
    }
}

#if os(none)
import SkiffKernelC

enum RTC {
    static let indexPort: UInt16 = 0x70
    static let dataPort: UInt16 = 0x71

    enum Register {
        static let seconds: UInt8 = 0x00
        static let minutes: UInt8 = 0x02
        static let hours: UInt8 = 0x04
        static let day: UInt8 = 0x07
        static let month: UInt8 = 0x08
        static let year: UInt8 = 0x09
        static let statusA: UInt8 = 0x0A
        static let statusB: UInt8 = 0x0B
    }

    /// Status register A, bit 7.
    static let updateInProgress: UInt8 = 1 << 7

    private static func read(_ register: UInt8) -> UInt8 {
        // Bit 7 of the index port masks NMIs on real hardware: leave it clear.
        skiff_outb(indexPort, register & 0x7F)
        return skiff_inb(dataPort)
    }

    /// Waits (bounded) for no update to be in progress. False if UIP never cleared.
    private static func waitForUpdateToFinish() -> Bool {
        // An update takes under 2 ms; a few hundred thousand port reads are far more than that
        // even under emulation, and a missing RTC (0xFF, UIP always set) must not hang the boot.
        for _ in 0..<200_000 where read(Register.statusA) & updateInProgress == 0 { return true }
        return false
    }

    private static func readRegisters() -> RTCReading {
        RTCReading(seconds: read(Register.seconds), minutes: read(Register.minutes), hours: read(Register.hours),
                   day: read(Register.day), month: read(Register.month), year: read(Register.year),
                   statusB: read(Register.statusB))
    }

    /// The current time from the RTC, or nil when there is none or it holds no valid date.
    /// Reads until two readings outside an update agree, so an update between two registers
    /// cannot mix two seconds (at most a few tries).
    static func now() -> UnixTime? {
        guard waitForUpdateToFinish() else { return nil }
        var previous = readRegisters()
        for _ in 0..<5 {
            guard waitForUpdateToFinish() else { return nil }
            let reading = readRegisters()
            if reading == previous {
                return reading.civilTime.map { UnixTime(seconds: $0.unixSeconds) }
            }
            previous = reading
        }
        return nil
    }
}
#endif
