// The Intel 82540EM (QEMU's `e1000`) and 82545EM (VMware's `e1000`) as a `NetworkDevice`, with legacy descriptors: one receive
// ring of 2 KiB buffers (RCTL.BSIZE 2048, the CRC stripped), one transmit ring of 2 KiB buffers,
// one descriptor per frame each way.
//
// Start-up follows SDM §14 (general configuration, receive §14.4, transmit §14.5): reset (CTRL.RST)
// with interrupts masked; CTRL.SLU and ASDE; the MAC from receive address 0 (or the EEPROM);
// multicast table cleared; receive ring (RDBAL/RDBAH/RDLEN, RDH 0, RDT one short of full), RCTL
// EN|BAM|SECRC; transmit ring (TDBAL/TDBAH/TDLEN, TDH = TDT = 0), TCTL EN|PSP, TIPG; then IMS for
// RXT0, RXO, RXDMT0 and LSC. The 82540EM has no MSI: its INTx line is routed level-triggered
// through the I/O APIC and lowered by reading ICR (which clears it).
#if os(none)
import SkiffKernelC
import SkiffWire
import SkiffPlatform

public final class E1000Device: KernelNetworkDriver {
    public let name: String
    public let macAddress: MACAddress
    public let mtu = 1500
    public let pciAddress: PCIAddress
    public let interruptMode: String
    /// "82540EM" or "82545EM".
    public let model: String
    public private(set) var counters = NetworkDeviceCounters()
    public var driverName: String { "e1000" }
    public private(set) var isLinkUp = false

    let transport: E1000Transport
    let receiveRing: E1000ReceiveRing
    let transmitRing: E1000TransmitRing
    private let receiveBuffers: UnsafeMutableRawPointer
    private let transmitBuffers: UnsafeMutableRawPointer
    let vector: UInt8
    let usesINTx: Bool
    /// Set while the rest of a frame that did not fit one buffer is skipped.
    private var skippingFrame = false

    static let bufferSize = 2048
    static let ringSize = 256

    public enum InitError: Error {
        case noRegisters, resetFailed, noMAC, outOfMemory, noVector, brokenHead

        public var description: StaticString {
            switch self {
            case .noRegisters: return "BAR 0 is missing or too small"
            case .resetFailed: return "CTRL.RST did not clear"
            case .noMAC: return "no valid receive address and no EEPROM answer"
            case .outOfMemory: return "no memory for the rings"
            case .noVector: return "no interrupt vector left"
            case .brokenHead: return "RDH or TDH is not 0 after reset"
            }
        }
    }

    public static func matches(_ pci: PCIDevice) -> Bool {
        pci.vendorID == E1000.vendorID
            && (pci.deviceID == E1000.deviceID82540EM || pci.deviceID == E1000.deviceID82545EM)
    }

    private static func physical(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
        // Identity-mapped: the address is the physical address (Kernel.allocatePages).
        UInt64(UInt(bitPattern: pointer))
    }

    public init(_ pci: PCIDevice, name: String) throws(InitError) {
        self.name = name
        self.pciAddress = pci.address
        model = pci.deviceID == E1000.deviceID82545EM ? "82545EM" : "82540EM"
        pci.enable(busMaster: true)
        guard let transport = E1000Transport(pci) else { throw .noRegisters }
        self.transport = transport
        guard transport.reset() else { throw .resetFailed }

        guard let vector = Interrupts.allocateDeviceVector() else { throw .noVector }
        self.vector = vector
        let line = UInt32(pci.interruptLine)
        usesINTx = pci.interruptPin != 0 && Interrupts.routeLevelLine(line, to: vector)
        pci.setINTxDisabled(false)
        interruptMode = usesINTx ? "INTx line \(line)" : "polled"

        // §14.3: link up by software, speed and duplex from the PHY; no link or PHY reset, no VLANs.
        var control = transport.read(E1000.Register.control)
        control |= E1000.Control.setLinkUp | E1000.Control.autoSpeedDetection
        control &= ~(E1000.Control.linkReset | E1000.Control.phyReset | E1000.Control.invertLossOfSignal | E1000.Control.vlanMode)
        transport.write(E1000.Register.control, control)

        guard let mac = transport.macBytes() else { throw .noMAC }
        macAddress = MACAddress(mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
        // Receive address 0 is this MAC, valid (needed when it came from the EEPROM).
        transport.write(E1000.Register.receiveAddressLow,
                        UInt32(mac[0]) | UInt32(mac[1]) << 8 | UInt32(mac[2]) << 16 | UInt32(mac[3]) << 24)
        transport.write(E1000.Register.receiveAddressHigh,
                        UInt32(mac[4]) | UInt32(mac[5]) << 8 | E1000.receiveAddressValid)
        for entry in 0..<E1000.multicastTableEntries {
            transport.write(E1000.Register.multicastTable + 4 * entry, 0)
        }

        let ringBytes = Self.ringSize * E1000.Descriptor.size
        func pages(_ bytes: Int) -> Int { (bytes + PageAllocator.pageSize - 1) / PageAllocator.pageSize }
        guard let receiveMemory = Kernel.allocatePages(pages(ringBytes)),
              let transmitMemory = Kernel.allocatePages(pages(ringBytes)),
              let receiveBuffers = Kernel.allocatePages(pages(Self.ringSize * Self.bufferSize)),
              let transmitBuffers = Kernel.allocatePages(pages(Self.ringSize * Self.bufferSize))
        else { throw .outOfMemory }
        self.receiveBuffers = receiveBuffers
        self.transmitBuffers = transmitBuffers
        let bufferSize = Self.bufferSize
        let receiveRing = E1000ReceiveRing(size: Self.ringSize, memory: receiveMemory) {
            Self.physical(receiveBuffers + $0 * bufferSize)
        }
        let transmitRing = E1000TransmitRing(size: Self.ringSize, memory: transmitMemory)
        self.receiveRing = receiveRing
        self.transmitRing = transmitRing

        // §14.4: receive.
        let receiveAddress = Self.physical(receiveMemory)
        transport.write(E1000.Register.receiveBaseLow, UInt32(truncatingIfNeeded: receiveAddress))
        transport.write(E1000.Register.receiveBaseHigh, UInt32(truncatingIfNeeded: receiveAddress >> 32))
        transport.write(E1000.Register.receiveLength, UInt32(ringBytes))
        transport.write(E1000.Register.receiveHead, 0)
        transport.write(E1000.Register.receiveTail, UInt32(receiveRing.tail))
        transport.write(E1000.Register.receiveDelay, 0)
        transport.write(E1000.Register.receiveControl, E1000.ReceiveControl.enable | E1000.ReceiveControl.broadcastAccept
                        | E1000.ReceiveControl.bufferSize2048 | E1000.ReceiveControl.stripCRC)

        // §14.5: transmit.
        let transmitAddress = Self.physical(transmitMemory)
        transport.write(E1000.Register.transmitBaseLow, UInt32(truncatingIfNeeded: transmitAddress))
        transport.write(E1000.Register.transmitBaseHigh, UInt32(truncatingIfNeeded: transmitAddress >> 32))
        transport.write(E1000.Register.transmitLength, UInt32(ringBytes))
        transport.write(E1000.Register.transmitHead, 0)
        transport.write(E1000.Register.transmitTail, 0)
        transport.write(E1000.Register.transmitIPG, E1000.transmitIPGCopper)
        transport.write(E1000.Register.transmitControl, E1000.TransmitControl.enable | E1000.TransmitControl.padShortPackets
                        | E1000.TransmitControl.collisionThreshold | E1000.TransmitControl.collisionDistance)

        guard receiveRing.check(head: transport.read(E1000.Register.receiveHead)),
              transmitRing.check(head: transport.read(E1000.Register.transmitHead)) else { throw .brokenHead }

        isLinkUp = transport.read(E1000.Register.status) & E1000.statusLinkUp != 0
        _ = transport.read(E1000.Register.interruptCause)
        transport.write(E1000.Register.interruptMaskSet, E1000.Interrupt.receiveTimer | E1000.Interrupt.receiveOverrun
                        | E1000.Interrupt.receiveMinimumThreshold | E1000.Interrupt.linkStatusChange)
    }

    /// Whether frames wait (the next descriptor's DD bit: memory only).
    public var hasPendingWork: Bool { receiveRing.hasFrame }

    /// Reading ICR clears the causes and lowers the INTx line; a link change rereads STATUS.LU.
    public func acknowledgeInterrupt() {
        let causes = transport.read(E1000.Register.interruptCause)
        if causes & E1000.Interrupt.linkStatusChange != 0 {
            isLinkUp = transport.read(E1000.Register.status) & E1000.statusLinkUp != 0
        }
        if causes & E1000.Interrupt.receiveOverrun != 0 { counters.receiveErrors += 1 }
        if usesINTx { Interrupts.unmaskLine(for: vector) }
    }

    public func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        var tail: Int? = nil
        while handed < budget, let frame = receiveRing.nextFrame() {
            // In bounds: frame.index < ringSize; the buffers hold ringSize × bufferSize bytes.
            let buffer = receiveBuffers + frame.index * Self.bufferSize
            if skippingFrame {
                if frame.endOfPacket { skippingFrame = false }
            } else if frame.endOfPacket && frame.errors == 0 && frame.length > 0 && frame.length <= Self.bufferSize {
                // In bounds: length <= bufferSize, the buffer's size.
                body(UnsafeRawBufferPointer(start: buffer, count: frame.length))
                counters.receivedFrames += 1
                counters.receivedBytes += frame.length
                handed += 1
            } else {
                counters.receiveErrors += 1
                if !frame.endOfPacket { skippingFrame = true }
            }
            tail = receiveRing.release()
        }
        if let tail { transport.write(E1000.Register.receiveTail, UInt32(tail)) }
        return handed
    }

    public func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard length > 0, length <= Self.bufferSize else {
            counters.transmitErrors += 1
            return .invalid
        }
        transmitRing.reclaim()
        if transmitRing.nextFree == nil && !transmitRing.broken {
            // Full: make sure the hardware's head is sane before reporting "again".
            transmitRing.check(head: transport.read(E1000.Register.transmitHead))
        }
        if transmitRing.broken {
            if !counters.deviceBroken {
                counters.deviceBroken = true
                print("\(name): TDH outside the transmit ring; transmit stopped")
            }
            counters.transmitErrors += 1
            return .failed
        }
        guard let index = transmitRing.nextFree else {
            counters.transmitFull += 1
            return .again
        }
        // In bounds: index < ringSize; the buffers hold ringSize × bufferSize bytes.
        let buffer = transmitBuffers + index * Self.bufferSize
        fill(UnsafeMutableRawBufferPointer(start: buffer, count: length))
        let tail = transmitRing.post(address: Self.physical(buffer), length: length)
        SharedMemory.fence()  // the descriptor is in memory before the hardware sees the new tail
        transport.write(E1000.Register.transmitTail, UInt32(tail))
        counters.transmittedFrames += 1
        counters.transmittedBytes += length
        return .ok
    }

    public var details: String {
        "e1000 \(model) at \(pciAddress), \(interruptMode), rings tx \(Self.ringSize) rx \(Self.ringSize), link \(isLinkUp ? "up" : "down")"
    }
}
#endif
