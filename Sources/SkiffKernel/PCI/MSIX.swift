// MSI-X (PCI 3.0 §6.8.2): the capability's message control and table location, and the table
// of (address, data, mask) entries in one of the device's BARs. Messages go to this CPU's local
// APIC (SDM Vol. 3A §11.11: address 0xFEE00000 | destination << 12; data: the vector, fixed
// delivery, edge-triggered).
#if os(none)
import SkiffKernelC

public struct MSIX {
    static let capabilityID: UInt8 = 0x11
    static let enableBit: UInt16 = 1 << 15
    static let functionMaskBit: UInt16 = 1 << 14
    static let entrySize = 16

    let device: PCIDevice
    let capability: UInt8
    let table: MappedRegion
    /// How many table entries the device has.
    public let tableSize: Int

    /// The device's MSI-X capability with its table mapped; nil when the device has none or its
    /// table lies outside its BAR.
    public init?(_ device: PCIDevice) {
        guard let capability = device.capability(Self.capabilityID) else { return nil }
        let control = device.read16(capability + 2)
        let size = Int(control & 0x7FF) + 1
        let location = device.read32(capability + 4)
        guard let bar = device.mapBar(Int(location & 0x7)) else { return nil }
        let offset = Int(location & ~0x7)
        guard bar.contains(offset, size * Self.entrySize) else { return nil }
        self.device = device
        self.capability = capability
        self.tableSize = size
        self.table = MappedRegion(base: bar.base + offset, length: size * Self.entrySize)
    }

    /// Points entry `index` at `vector` on this CPU and unmasks it.
    public func route(entry index: Int, to vector: UInt8) {
        guard index >= 0 && index < tableSize else { return }
        let entry = index * Self.entrySize
        table.write32(entry + 0, 0xFEE0_0000 | (LocalAPIC.apicID << 12))
        table.write32(entry + 4, 0)
        table.write32(entry + 8, UInt32(vector))
        table.write32(entry + 12, 0)   // vector control: unmasked
    }

    /// Turns MSI-X on for the function (and legacy INTx off).
    public func enable() {
        device.setINTxDisabled(true)
        let control = device.read16(capability + 2)
        device.write16(capability + 2, (control | Self.enableBit) & ~Self.functionMaskBit)
    }
}
#endif
