// PCI: configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2: address at port
// 0xCF8, data at 0xCFC), enumeration through PCI-to-PCI bridges, BAR sizing and mapping, the
// capability list, and bus mastering. Message-signalled interrupts are in MSIX.swift.
#if os(none)
import SkiffKernelC

public struct PCIAddress: Equatable, Sendable, CustomStringConvertible {
    public var bus: UInt8
    public var device: UInt8     // 0–31
    public var function: UInt8   // 0–7

    /// `00:03.0`, as lspci writes it.
    public var description: String {
        hex2(bus) + ":" + hex2(device) + "." + String(function)
    }
}

private func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return value < 16 ? "0" + digits : digits
}

/// A base address register, decoded and sized.
public struct PCIBar: Sendable {
    public enum Kind: Sendable { case io, memory32, memory64 }
    public var kind: Kind
    /// The bus address (an I/O port number for `.io`).
    public var address: UInt64
    public var size: UInt64
    public var prefetchable: Bool
}

public final class PCIDevice {
    public let address: PCIAddress
    public let vendorID: UInt16
    public let deviceID: UInt16
    public let classCode: UInt8
    public let subclass: UInt8
    public let headerType: UInt8
    /// Configuration space header offsets (PCI 3.0 §6.1, figure 6-1).
    enum Register {
        static let vendorID: UInt8 = 0x00, command: UInt8 = 0x04, status: UInt8 = 0x06
        static let revision: UInt8 = 0x08, headerType: UInt8 = 0x0E, bar0: UInt8 = 0x10
        static let subsystemVendorID: UInt8 = 0x2C, subsystemID: UInt8 = 0x2E
        static let capabilities: UInt8 = 0x34, interruptLine: UInt8 = 0x3C, interruptPin: UInt8 = 0x3D
        static let secondaryBus: UInt8 = 0x19
    }
    enum Command {
        static let io: UInt16 = 1 << 0, memory: UInt16 = 1 << 1, busMaster: UInt16 = 1 << 2
        static let interruptDisable: UInt16 = 1 << 10
    }
    static let statusCapabilityList: UInt16 = 1 << 4

    init(address: PCIAddress, vendorID: UInt16, deviceID: UInt16) {
        self.address = address
        self.vendorID = vendorID
        self.deviceID = deviceID
        let classWord = PCI.read32(address, Register.revision)
        classCode = UInt8(truncatingIfNeeded: classWord >> 24)
        subclass = UInt8(truncatingIfNeeded: classWord >> 16)
        headerType = UInt8(truncatingIfNeeded: PCI.read32(address, 0x0C) >> 16) & 0x7F
    }

    public var revision: UInt8 { read8(Register.revision) }
    public var subsystemVendorID: UInt16 { read16(Register.subsystemVendorID) }
    public var subsystemID: UInt16 { read16(Register.subsystemID) }
    /// The legacy interrupt line the firmware assigned (an I/O APIC input on QEMU's PC machine),
    /// and the pin (1–4 for INTA–INTD, 0 for none).
    public var interruptLine: UInt8 { read8(Register.interruptLine) }
    public var interruptPin: UInt8 { read8(Register.interruptPin) }

    public func read8(_ offset: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: PCI.read32(address, offset & 0xFC) >> (UInt32(offset & 3) * 8))
    }
    public func read16(_ offset: UInt8) -> UInt16 {
        UInt16(truncatingIfNeeded: PCI.read32(address, offset & 0xFC) >> (UInt32(offset & 2) * 8))
    }
    public func read32(_ offset: UInt8) -> UInt32 { PCI.read32(address, offset) }
    public func write32(_ offset: UInt8, _ value: UInt32) { PCI.write32(address, offset, value) }
    public func write16(_ offset: UInt8, _ value: UInt16) {
        let shift = UInt32(offset & 2) * 8
        var word = PCI.read32(address, offset & 0xFC)
        word = (word & ~(0xFFFF << shift)) | (UInt32(value) << shift)
        // The status register (upper half of 0x04) clears bits written as 1: never write it back.
        if offset & 0xFC == Register.command { word &= 0x0000_FFFF }
        PCI.write32(address, offset & 0xFC, word)
    }

    public var command: UInt16 {
        get { read16(Register.command) }
        set { write16(Register.command, newValue) }
    }

    /// Turns on I/O and memory decoding and bus mastering (DMA).
    public func enable(busMaster: Bool) {
        command |= Command.io | Command.memory | (busMaster ? Command.busMaster : 0)
    }

    /// Stops (or allows) legacy INTx assertion (the command register's Interrupt Disable bit).
    public func setINTxDisabled(_ disabled: Bool) {
        command = disabled ? command | Command.interruptDisable : command & ~Command.interruptDisable
    }

    /// The capability list (PCI 3.0 §6.7) as (ID, offset) pairs. The walk is bounded: at most 48
    /// entries, each at a dword-aligned offset in 0x40–0xFC, so a looping list ends.
    public var capabilities: [(id: UInt8, offset: UInt8)] {
        guard headerType == 0, read16(Register.status) & Self.statusCapabilityList != 0 else { return [] }
        var result: [(id: UInt8, offset: UInt8)] = []
        var offset = read8(Register.capabilities) & 0xFC
        while offset >= 0x40 && result.count < 48 {
            result.append((id: read8(offset), offset: offset))
            offset = read8(offset + 1) & 0xFC
        }
        return result
    }

    public func capability(_ id: UInt8) -> UInt8? {
        capabilities.first { $0.id == id }?.offset
    }

    /// BAR `index` (0–5), sized by writing all ones with decoding off (PCI 3.0 §6.2.5.1);
    /// nil when unimplemented or the upper half of a 64-bit BAR.
    public func bar(_ index: Int) -> PCIBar? {
        guard headerType == 0, index >= 0 && index < 6 else { return nil }
        let offset = Register.bar0 + UInt8(index * 4)
        let original = read32(offset)
        let saved = command
        command = saved & ~(Command.io | Command.memory)
        defer { command = saved }
        write32(offset, 0xFFFF_FFFF)
        let mask = read32(offset)
        write32(offset, original)
        guard mask != 0 else { return nil }
        if original & 1 == 1 {
            let sizeMask = mask & 0xFFFF_FFFC
            guard sizeMask != 0 else { return nil }
            return PCIBar(kind: .io, address: UInt64(original & 0xFFFF_FFFC), size: UInt64(~sizeMask &+ 1) & 0xFFFF,
                          prefetchable: false)
        }
        let prefetchable = original & 0x8 != 0
        if (original >> 1) & 0x3 == 0x2 {
            guard index < 5 else { return nil }
            let highOffset = offset + 4
            let originalHigh = read32(highOffset)
            write32(highOffset, 0xFFFF_FFFF)
            let maskHigh = read32(highOffset)
            write32(highOffset, originalHigh)
            let fullMask = UInt64(maskHigh) << 32 | UInt64(mask & 0xFFFF_FFF0)
            return PCIBar(kind: .memory64, address: UInt64(originalHigh) << 32 | UInt64(original & 0xFFFF_FFF0),
                          size: ~fullMask &+ 1, prefetchable: prefetchable)
        }
        let sizeMask = mask & 0xFFFF_FFF0
        guard sizeMask != 0 else { return nil }
        return PCIBar(kind: .memory32, address: UInt64(original & 0xFFFF_FFF0), size: UInt64(~sizeMask &+ 1),
                      prefetchable: prefetchable)
    }

    /// A memory BAR's registers, mapped uncached; nil for an I/O BAR or one that cannot be mapped.
    public func mapBar(_ index: Int) -> MappedRegion? {
        guard let bar = bar(index), bar.kind != .io, bar.address != 0, bar.size != 0,
              let base = Paging.mapDevice(physical: bar.address, length: bar.size) else { return nil }
        return MappedRegion(base: base, length: Int(bar.size))
    }
}

/// Device registers in memory space: every access is volatile and checked against the region.
public struct MappedRegion {
    public let base: UnsafeMutableRawPointer
    public let length: Int

    public func contains(_ offset: Int, _ width: Int) -> Bool {
        offset >= 0 && width <= length && offset <= length - width
    }
    public func read8(_ offset: Int) -> UInt8 {
        precondition(contains(offset, 1), "MMIO read outside the BAR")
        return skiff_mmio_read8(base + offset)
    }
    public func read16(_ offset: Int) -> UInt16 {
        precondition(contains(offset, 2), "MMIO read outside the BAR")
        return skiff_mmio_read16(base + offset)
    }
    public func read32(_ offset: Int) -> UInt32 {
        precondition(contains(offset, 4), "MMIO read outside the BAR")
        return skiff_mmio_read32(base + offset)
    }
    public func write8(_ offset: Int, _ value: UInt8) {
        precondition(contains(offset, 1), "MMIO write outside the BAR")
        skiff_mmio_write8(base + offset, value)
    }
    public func write16(_ offset: Int, _ value: UInt16) {
        precondition(contains(offset, 2), "MMIO write outside the BAR")
        skiff_mmio_write16(base + offset, value)
    }
    public func write32(_ offset: Int, _ value: UInt32) {
        precondition(contains(offset, 4), "MMIO write outside the BAR")
        skiff_mmio_write32(base + offset, value)
    }
    /// A 64-bit register written as two halves, low first (virtio 1.2 §4.1.3.1).
    public func write64(_ offset: Int, _ value: UInt64) {
        write32(offset, UInt32(truncatingIfNeeded: value))
        write32(offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
}

public enum PCI {
    static let addressPort: UInt16 = 0xCF8
    static let dataPort: UInt16 = 0xCFC

    static func read32(_ address: PCIAddress, _ offset: UInt8) -> UInt32 {
        skiff_outl(addressPort, configAddress(address, offset))
        return skiff_inl(dataPort)
    }

    static func write32(_ address: PCIAddress, _ offset: UInt8, _ value: UInt32) {
        skiff_outl(addressPort, configAddress(address, offset))
        skiff_outl(dataPort, value)
    }

    private static func configAddress(_ address: PCIAddress, _ offset: UInt8) -> UInt32 {
        (1 << 31) | UInt32(address.bus) << 16 | UInt32(address.device & 0x1F) << 11
            | UInt32(address.function & 0x7) << 8 | UInt32(offset & 0xFC)
    }

    /// Every function on bus 0 and the buses behind its bridges, in bus/device/function order.
    public static func enumerate() -> [PCIDevice] {
        var devices: [PCIDevice] = []
        var visited: [UInt8] = []
        scan(bus: 0, into: &devices, visited: &visited)
        return devices
    }

    private static func scan(bus: UInt8, into devices: inout [PCIDevice], visited: inout [UInt8]) {
        // A misprogrammed bridge could point back at a bus already scanned: scan each bus once.
        guard !visited.contains(bus) else { return }
        visited.append(bus)
        for device in UInt8(0)..<32 {
            let first = PCIAddress(bus: bus, device: device, function: 0)
            guard vendor(at: first) != 0xFFFF else { continue }
            let multifunction = (read32(first, 0x0C) >> 16) & 0x80 != 0
            for function in UInt8(0)..<(multifunction ? 8 : 1) {
                let address = PCIAddress(bus: bus, device: device, function: function)
                let id = read32(address, 0)
                guard id & 0xFFFF != 0xFFFF else { continue }
                let found = PCIDevice(address: address, vendorID: UInt16(truncatingIfNeeded: id),
                                      deviceID: UInt16(truncatingIfNeeded: id >> 16))
                devices.append(found)
                // Class 06, subclass 04: a PCI-to-PCI bridge (header type 1).
                if found.classCode == 0x06 && found.subclass == 0x04 && found.headerType == 1 {
                    let secondary = UInt8(truncatingIfNeeded: read32(address, 0x18) >> 8)
                    if secondary != 0 { scan(bus: secondary, into: &devices, visited: &visited) }
                }
            }
        }
    }

    private static func vendor(at address: PCIAddress) -> UInt16 {
        UInt16(truncatingIfNeeded: read32(address, 0))
    }
}
#endif
