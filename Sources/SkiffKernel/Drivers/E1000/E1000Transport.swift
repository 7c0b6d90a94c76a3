// The 8254x registers in memory BAR 0 (SDM §13): reset, the MAC address (receive address 0 or
// the EEPROM), and 32-bit register access. Every register is 32 bits wide.
#if os(none)
import SkiffKernelC

final class E1000Transport {
    let registers: MappedRegion

    init?(_ pci: PCIDevice) {
        guard let registers = pci.mapBar(0), registers.length >= E1000.Register.minimumBarSize else { return nil }
        self.registers = registers
    }

    func read(_ register: Int) -> UInt32 { registers.read32(register) }
    func write(_ register: Int, _ value: UInt32) { registers.write32(register, value) }

    /// §14.3 (general configuration) and §13.4.1: interrupts masked, CTRL.RST, wait for it to
    /// clear (the manual allows 1 µs; bounded here), interrupts masked again and causes cleared.
    func reset() -> Bool {
        write(E1000.Register.interruptMaskClear, E1000.Interrupt.all)
        write(E1000.Register.control, read(E1000.Register.control) | E1000.Control.reset)
        var spins = 0
        while read(E1000.Register.control) & E1000.Control.reset != 0 {
            spins += 1
            if spins > 100_000 { return false }
        }
        write(E1000.Register.interruptMaskClear, E1000.Interrupt.all)
        _ = read(E1000.Register.interruptCause)
        return true
    }

    /// One EEPROM word through EERD (§13.4.4); nil when DONE never comes.
    func eepromWord(_ address: Int) -> UInt16? {
        write(E1000.Register.eepromRead, E1000.EEPROMRead.start | UInt32(address) << E1000.EEPROMRead.addressShift)
        for _ in 0..<100_000 {
            let value = read(E1000.Register.eepromRead)
            if value & E1000.EEPROMRead.done != 0 { return UInt16(truncatingIfNeeded: value >> E1000.EEPROMRead.dataShift) }
        }
        return nil
    }

    /// The MAC address: receive address 0 when valid (RAH.AV; QEMU and firmware load it from the
    /// EEPROM at reset), else EEPROM words 0–2 (§5.3.1, low byte first).
    func macBytes() -> [UInt8]? {
        let high = read(E1000.Register.receiveAddressHigh)
        if high & E1000.receiveAddressValid != 0 {
            let low = read(E1000.Register.receiveAddressLow)
            return [UInt8(truncatingIfNeeded: low), UInt8(truncatingIfNeeded: low >> 8),
                    UInt8(truncatingIfNeeded: low >> 16), UInt8(truncatingIfNeeded: low >> 24),
                    UInt8(truncatingIfNeeded: high), UInt8(truncatingIfNeeded: high >> 8)]
        }
        var bytes: [UInt8] = []
        for word in E1000.eepromMACWords {
            guard let value = eepromWord(word) else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        return bytes
    }
}
#endif
