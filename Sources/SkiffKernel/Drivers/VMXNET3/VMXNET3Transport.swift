// The vmxnet3 device's registers (vmxnet3_defs.h): BAR 0 holds the pass-through registers the
// data path writes (interrupt masks, producer indices), BAR 1 the virtual-device registers
// (version selection, the driver-shared area's address, commands, MAC, interrupt and event
// causes). All are 32 bits wide; QEMU's model accepts only 4-byte accesses.
#if os(none)
import SkiffKernelC

final class VMXNET3Transport {
    let pt: MappedRegion
    let vd: MappedRegion

    /// Both register BARs mapped; nil when either is missing, an I/O BAR, or too small.
    init?(_ pci: PCIDevice) {
        guard let pt = pci.mapBar(0), pt.length >= VMXNET3.PT.minimumSize,
              let vd = pci.mapBar(1), vd.length >= VMXNET3.VD.minimumSize else { return nil }
        self.pt = pt
        self.vd = vd
    }

    /// Selects device revision 1 and UPT version 1, the only ones this driver speaks: each
    /// report register has bit n set for each revision n + 1 the device supports, and the driver
    /// writes back the one it chose.
    func selectRevision1() -> Bool {
        guard vd.read32(VMXNET3.VD.revisionReport) & VMXNET3.revision1 != 0 else { return false }
        vd.write32(VMXNET3.VD.revisionReport, VMXNET3.revision1)
        guard vd.read32(VMXNET3.VD.uptVersionReport) & VMXNET3.revision1 != 0 else { return false }
        vd.write32(VMXNET3.VD.uptVersionReport, VMXNET3.revision1)
        return true
    }

    /// Writes a command and reads its result back from the same register.
    func command(_ command: UInt32) -> UInt32 {
        vd.write32(VMXNET3.VD.command, command)
        return vd.read32(VMXNET3.VD.command)
    }

    func setSharedArea(_ address: UInt64) {
        // DSAL first: the device takes the address when DSAH is written.
        vd.write32(VMXNET3.VD.sharedAddressLow, UInt32(truncatingIfNeeded: address))
        vd.write32(VMXNET3.VD.sharedAddressHigh, UInt32(truncatingIfNeeded: address >> 32))
    }

    /// The current MAC address: bytes 0–3 in MACL (byte 0 lowest), 4–5 in MACH.
    var macBytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) {
        let low = vd.read32(VMXNET3.VD.macLow), high = vd.read32(VMXNET3.VD.macHigh)
        return (UInt8(truncatingIfNeeded: low), UInt8(truncatingIfNeeded: low >> 8),
                UInt8(truncatingIfNeeded: low >> 16), UInt8(truncatingIfNeeded: low >> 24),
                UInt8(truncatingIfNeeded: high), UInt8(truncatingIfNeeded: high >> 8))
    }

    /// Link state and speed (GET_LINK: bit 0 up, bits 16–31 the speed in Mb/s).
    func link() -> (up: Bool, megabits: Int) {
        let value = command(VMXNET3.Command.getLink)
        return (value & 1 != 0, Int(value >> 16))
    }

    /// Masks (true) or unmasks interrupt `index` (IMR; 1 masks).
    func setInterruptMasked(_ index: Int, _ masked: Bool) {
        guard index >= 0 && index < VMXNET3.maximumInterrupts else { return }
        pt.write32(VMXNET3.PT.interruptMask + 8 * index, masked ? 1 : 0)
    }

    /// INTx only: reading ICR tells whether the device raised its line, and lowers it.
    func readInterruptCause() -> UInt32 { vd.read32(VMXNET3.VD.interruptCause) }

    func acknowledgeEvents(_ bits: UInt32) { vd.write32(VMXNET3.VD.eventCause, bits) }

    func notifyTransmit(queue: Int, producer: Int) {
        pt.write32(VMXNET3.PT.transmitProducer + 8 * queue, UInt32(truncatingIfNeeded: producer))
    }

    func notifyReceive(queue: Int, ring: Int, producer: Int) {
        let base = ring == 0 ? VMXNET3.PT.receiveProducer : VMXNET3.PT.receiveProducer2
        pt.write32(base + 8 * queue, UInt32(truncatingIfNeeded: producer))
    }
}
#endif
