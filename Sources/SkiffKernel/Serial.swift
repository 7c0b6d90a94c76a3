// The console: COM1, a 16550-compatible UART at I/O port 0x3F8, 115200 baud 8N1 (register map
// from the PC16550D datasheet §8). Output only; every wait is bounded, so a missing UART (all
// reads 0xFF, which looks "ready") cannot hang the kernel.
#if os(none)
import SkiffKernelC

enum Serial {
    static let base: UInt16 = 0x3F8
    private static let data: UInt16 = 0, interruptEnable: UInt16 = 1, fifoControl: UInt16 = 2
    private static let lineControl: UInt16 = 3, modemControl: UInt16 = 4, lineStatus: UInt16 = 5
    private static let divisorLatch: UInt8 = 0x80
    private static let transmitHoldingEmpty: UInt8 = 0x20
    private static let transmitterEmpty: UInt8 = 0x40
    private static let spinLimit = 100_000

    static func initialize() {
        skiff_outb(base + interruptEnable, 0x00)       // polled: no UART interrupts
        skiff_outb(base + lineControl, divisorLatch)
        skiff_outb(base + data, 1)                     // divisor 1: 115200 baud (1.8432 MHz / 16)
        skiff_outb(base + interruptEnable, 0)          // divisor high byte
        skiff_outb(base + lineControl, 0x03)           // 8 data bits, no parity, 1 stop bit
        skiff_outb(base + fifoControl, 0xC7)           // FIFOs on and cleared, 14-byte trigger
        skiff_outb(base + modemControl, 0x03)          // DTR, RTS
    }

    /// Writes one byte; a newline becomes CR LF (QEMU's stdio chardev puts the host tty in raw mode).
    static func write(_ byte: UInt8) {
        if byte == 0x0A { put(0x0D) }
        put(byte)
    }

    static func put(_ byte: UInt8) {
        var spins = 0
        while skiff_inb(base + lineStatus) & transmitHoldingEmpty == 0 && spins < spinLimit { spins += 1 }
        skiff_outb(base + data, byte)
    }

    /// Waits until everything written has left the transmitter (before powering off).
    static func flush() {
        var spins = 0
        while skiff_inb(base + lineStatus) & transmitterEmpty == 0 && spins < spinLimit { spins += 1 }
    }
}

/// Allocation-free console output, for boot and for the exception handler (whose heap may be the
/// thing that broke). Ordinary code uses `print`, which reaches `putchar`.
enum Console {
    static func write(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            for byte in bytes { Serial.write(byte) }
        }
    }

    static func write(_ text: String) {
        for byte in text.utf8 { Serial.write(byte) }
    }

    static func write(hex value: UInt64, digits: Int = 16) {
        Serial.write(UInt8(ascii: "0"))
        Serial.write(UInt8(ascii: "x"))
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
            Serial.write(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            shift -= 4
        }
    }

    static func write(decimal value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            Serial.write(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (value / divisor) % 10))
            divisor /= 10
        }
    }
}
#endif
