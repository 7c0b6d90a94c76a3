// The virtio PCI transports (virtio 1.2 §4.1): modern, through the vendor-specific capabilities
// that locate the common, notification, ISR and device configuration structures in memory BARs
// (§4.1.4), and legacy, through I/O BAR 0 (§4.1.4.8). A transitional device offers both; the
// modern one is used when present (§4.1.2.1).
#if os(none)
import SkiffKernelC

final class VirtioTransport {
    enum Kind {
        case modern(common: MappedRegion, notify: MappedRegion, notifyMultiplier: UInt32,
                    isr: MappedRegion, device: MappedRegion)
        case legacy(port: UInt16)
    }

    let pci: PCIDevice
    let kind: Kind
    /// Legacy only: whether MSI-X is on, which moves the device configuration (§4.1.4.8).
    var legacyMSIXEnabled = false

    var isModern: Bool {
        if case .modern = kind { return true }
        return false
    }

    init?(_ pci: PCIDevice) {
        self.pci = pci
        if let modern = Self.modernRegions(pci) {
            kind = modern
        } else if let bar = pci.bar(0), bar.kind == .io, bar.size >= 0x18 {
            kind = .legacy(port: UInt16(truncatingIfNeeded: bar.address))
        } else {
            return nil
        }
    }

    private static func modernRegions(_ pci: PCIDevice) -> Kind? {
        var common: MappedRegion? = nil, notify: MappedRegion? = nil, isr: MappedRegion? = nil
        var device: MappedRegion? = nil
        var multiplier: UInt32 = 0
        for capability in pci.capabilities where capability.id == Virtio.Capability.vendorSpecificID {
            let at = capability.offset
            let type = pci.read8(at + UInt8(Virtio.Capability.type))
            let barIndex = Int(pci.read8(at + UInt8(Virtio.Capability.bar)))
            let offset = Int(pci.read32(at + UInt8(Virtio.Capability.offset)))
            let length = Int(pci.read32(at + UInt8(Virtio.Capability.length)))
            // §4.1.4.1: only the first capability of each type is to be used; BARs 0–5 only.
            guard barIndex < 6, length > 0, let bar = pci.mapBar(barIndex), bar.contains(offset, length) else { continue }
            let region = MappedRegion(base: bar.base + offset, length: length)
            switch type {
            case Virtio.Capability.commonConfig where common == nil:
                guard length >= Virtio.Common.length else { continue }
                common = region
            case Virtio.Capability.notifyConfig where notify == nil:
                notify = region
                multiplier = pci.read32(at + UInt8(Virtio.Capability.notifyOffsetMultiplier))
            case Virtio.Capability.isrConfig where isr == nil:
                isr = region
            case Virtio.Capability.deviceConfig where device == nil:
                device = region
            default:
                continue
            }
        }
        guard let common, let notify, let isr, let device else { return nil }
        return .modern(common: common, notify: notify, notifyMultiplier: multiplier, isr: isr, device: device)
    }

    // MARK: Status and features (§2.1, §2.2)

    var status: UInt8 {
        get {
            switch kind {
            case .modern(let common, _, _, _, _): return common.read8(Virtio.Common.deviceStatus)
            case .legacy(let port): return skiff_inb(port + Virtio.Legacy.deviceStatus)
            }
        }
        set {
            switch kind {
            case .modern(let common, _, _, _, _): common.write8(Virtio.Common.deviceStatus, newValue)
            case .legacy(let port): skiff_outb(port + Virtio.Legacy.deviceStatus, newValue)
            }
        }
    }

    /// Writes 0 and, on a modern device, waits (bounded) until it reads back 0 (§4.1.4.3.2).
    func reset() -> Bool {
        status = 0
        guard isModern else { return true }
        var spins = 0
        while status != 0 && spins < 1_000_000 { spins += 1 }
        return status == 0
    }

    var deviceFeatures: UInt64 {
        switch kind {
        case .modern(let common, _, _, _, _):
            common.write32(Virtio.Common.deviceFeatureSelect, 0)
            let low = common.read32(Virtio.Common.deviceFeature)
            common.write32(Virtio.Common.deviceFeatureSelect, 1)
            let high = common.read32(Virtio.Common.deviceFeature)
            return UInt64(high) << 32 | UInt64(low)
        case .legacy(let port):
            return UInt64(skiff_inl(port + Virtio.Legacy.deviceFeatures))
        }
    }

    func setDriverFeatures(_ features: UInt64) {
        switch kind {
        case .modern(let common, _, _, _, _):
            common.write32(Virtio.Common.driverFeatureSelect, 0)
            common.write32(Virtio.Common.driverFeature, UInt32(truncatingIfNeeded: features))
            common.write32(Virtio.Common.driverFeatureSelect, 1)
            common.write32(Virtio.Common.driverFeature, UInt32(truncatingIfNeeded: features >> 32))
        case .legacy(let port):
            skiff_outl(port + Virtio.Legacy.driverFeatures, UInt32(truncatingIfNeeded: features))
        }
    }

    // MARK: Queues (§4.1.5.1.3)

    /// The largest size the device allows for queue `index` (legacy: the only size); 0 when the
    /// queue does not exist.
    func maximumQueueSize(_ index: UInt16) -> Int {
        switch kind {
        case .modern(let common, _, _, _, _):
            common.write16(Virtio.Common.queueSelect, index)
            return Int(common.read16(Virtio.Common.queueSize))
        case .legacy(let port):
            skiff_outw(port + Virtio.Legacy.queueSelect, index)
            return Int(skiff_inw(port + Virtio.Legacy.queueSize))
        }
    }

    /// Tells the device where queue `queue` lives and which MSI-X entry it signals (nil: none);
    /// false when the device refuses the vector.
    func activate(_ queue: VirtioQueue, msixEntry: UInt16?) -> Bool {
        switch kind {
        case .modern(let common, _, _, _, _):
            common.write16(Virtio.Common.queueSelect, queue.index)
            common.write16(Virtio.Common.queueSize, UInt16(queue.size))
            if let msixEntry {
                common.write16(Virtio.Common.queueMSIXVector, msixEntry)
                guard common.read16(Virtio.Common.queueMSIXVector) == msixEntry else { return false }
            }
            common.write64(Virtio.Common.queueDescriptors, queue.descriptorTableAddress)
            common.write64(Virtio.Common.queueDriver, queue.availableRingAddress)
            common.write64(Virtio.Common.queueDevice, queue.usedRingAddress)
            common.write16(Virtio.Common.queueEnable, 1)
        case .legacy(let port):
            skiff_outw(port + Virtio.Legacy.queueSelect, queue.index)
            if let msixEntry {
                skiff_outw(port + Virtio.Legacy.queueMSIXVector, msixEntry)
                guard skiff_inw(port + Virtio.Legacy.queueMSIXVector) == msixEntry else { return false }
            }
            let pageNumber = queue.descriptorTableAddress >> UInt64(Virtio.Legacy.queueAddressShift)
            skiff_outl(port + Virtio.Legacy.queueAddress, UInt32(truncatingIfNeeded: pageNumber))
        }
        return true
    }

    /// Where configuration changes are signalled (nil: nowhere); false when refused.
    func setConfigMSIXEntry(_ entry: UInt16?) -> Bool {
        let value = entry ?? Virtio.noVector
        switch kind {
        case .modern(let common, _, _, _, _):
            common.write16(Virtio.Common.configMSIXVector, value)
            return common.read16(Virtio.Common.configMSIXVector) == value
        case .legacy(let port):
            // Without MSI-X these ports are the device configuration (the MAC): leave them alone.
            guard legacyMSIXEnabled else { return entry == nil }
            skiff_outw(port + Virtio.Legacy.configMSIXVector, value)
            return skiff_inw(port + Virtio.Legacy.configMSIXVector) == value
        }
    }

    /// Where the driver writes to notify queue `index` (§4.1.4.4), computed once per queue.
    func notifier(for index: UInt16) -> (UInt16) -> Void {
        switch kind {
        case .modern(let common, let notify, let multiplier, _, _):
            common.write16(Virtio.Common.queueSelect, index)
            let offset = Int(common.read16(Virtio.Common.queueNotifyOffset)) * Int(multiplier)
            guard notify.contains(offset, 2) else { return { _ in } }
            return { queue in notify.write16(offset, queue) }
        case .legacy(let port):
            return { queue in skiff_outw(port + Virtio.Legacy.queueNotify, queue) }
        }
    }

    /// Reads and clears the ISR status, which deasserts the INTx line (§4.1.4.5).
    func readISR() -> UInt8 {
        switch kind {
        case .modern(_, _, _, let isr, _): return isr.read8(0)
        case .legacy(let port): return skiff_inb(port + Virtio.Legacy.isrStatus)
        }
    }

    // MARK: Device configuration (§4.1.4.6, §4.1.4.8)

    func config8(_ offset: Int) -> UInt8 {
        switch kind {
        case .modern(_, _, _, _, let device):
            return device.contains(offset, 1) ? device.read8(offset) : 0
        case .legacy(let port):
            return skiff_inb(legacyConfigPort(port) + UInt16(offset))
        }
    }

    func config16(_ offset: Int) -> UInt16 {
        switch kind {
        case .modern(_, _, _, _, let device):
            return device.contains(offset, 2) ? device.read16(offset) : 0
        case .legacy(let port):
            return skiff_inw(legacyConfigPort(port) + UInt16(offset))
        }
    }

    private func legacyConfigPort(_ port: UInt16) -> UInt16 {
        port + (legacyMSIXEnabled ? Virtio.Legacy.deviceConfigWithMSIX : Virtio.Legacy.deviceConfigWithoutMSIX)
    }
}
#endif
