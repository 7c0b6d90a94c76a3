// The VMware vmxnet3 NIC (vmxnet3_defs.h) as a `NetworkDevice`: one transmit queue (transmit ring,
// its completion ring, and the data ring the device expects even though frames never use it) and
// one receive queue (ring 1 with 2 KiB head buffers, ring 2 with body buffers, one completion
// ring). Frames fit one buffer: maxNumRxSG is 1 and the MTU 1500, so a frame the device spreads
// over several buffers is counted as an error and dropped.
//
// Start-up, in the order of the Linux driver and QEMU's model: map BARs 0 and 1; reset; select
// revision 1 and UPT 1 (VRRS, UVRS); route the interrupt; fill the driver-shared area (magic,
// guest information, queue descriptor area, interrupt configuration, receive filter) and the
// rings; write its address (DSAL, DSAH); ACTIVATE_DEV (reads back 0); read the MAC (MACL, MACH)
// and the link (GET_LINK); unmask interrupt 0 (IMR; QEMU ignores BAR 0 until activation).
// Events (link changes, queue errors) arrive in the shared area's ECR word and are acknowledged
// by writing the same bits to the ECR register.
#if os(none)
import SkiffKernelC
import SkiffWire
import SkiffPlatform

public final class VMXNET3Device: KernelNetworkDriver {
    public let name: String
    public let macAddress: MACAddress
    public let mtu = VMXNET3Device.defaultMTU
    public let pciAddress: PCIAddress
    public let interruptMode: String
    public private(set) var counters = NetworkDeviceCounters()
    public var driverName: String { "vmxnet3" }
    public private(set) var isLinkUp = false
    public private(set) var linkMegabits = 0

    let transport: VMXNET3Transport
    let transmitQueue: VMXNET3TransmitQueue
    let receiveQueue: VMXNET3ReceiveQueue
    /// The driver-shared area (page offset 0) and the queue descriptor area (offset 2048).
    private let shared: UnsafeMutableRawPointer
    private let queueDescriptors: UnsafeMutableRawPointer
    private let transmitBuffers: UnsafeMutableRawPointer
    private let headBuffers: UnsafeMutableRawPointer
    private let bodyBuffers: UnsafeMutableRawPointer
    let vector: UInt8
    let usesINTx: Bool
    /// Set while the rest of a frame that did not fit one buffer is skipped.
    private var skippingFrame = false
    private var reportedQueueError = false

    static let defaultMTU = 1500
    static let bufferSize = 2048
    static let transmitRingSize = 256
    static let headRingSize = 256
    static let bodyRingSize = 32
    static let queueDescriptorOffset = 2048

    public enum InitError: Error {
        case noRegisters, unsupportedRevision, outOfMemory, noVector, activationFailed

        public var description: StaticString {
            switch self {
            case .noRegisters: return "BAR 0 or BAR 1 is missing or too small"
            case .unsupportedRevision: return "the device offers neither revision 1 nor UPT version 1"
            case .outOfMemory: return "no memory for the rings"
            case .noVector: return "no interrupt vector left"
            case .activationFailed: return "the device refused ACTIVATE_DEV"
            }
        }
    }

    public static func matches(_ pci: PCIDevice) -> Bool {
        pci.vendorID == VMXNET3.vendorID && pci.deviceID == VMXNET3.deviceID
    }

    public init(_ pci: PCIDevice, name: String) throws(InitError) {
        self.name = name
        self.pciAddress = pci.address
        pci.enable(busMaster: true)
        guard let transport = VMXNET3Transport(pci) else { throw .noRegisters }
        self.transport = transport
        _ = transport.command(VMXNET3.Command.resetDevice)
        guard transport.selectRevision1() else { throw .unsupportedRevision }

        // One vector: MSI-X table entry 0 when offered (QEMU: 25 entries in BAR 2), else INTx.
        // Every interrupt source (both queues, events) uses interrupt index 0, which is also the
        // only index QEMU accepts for INTx.
        guard let vector = Interrupts.allocateDeviceVector() else { throw .noVector }
        self.vector = vector
        if let msix = MSIX(pci) {
            msix.route(entry: 0, to: vector)
            msix.enable()
            usesINTx = false
            interruptMode = "MSI-X"
        } else {
            let line = UInt32(pci.interruptLine)
            usesINTx = pci.interruptPin != 0 && Interrupts.routeLevelLine(line, to: vector)
            pci.setINTxDisabled(false)
            interruptMode = usesINTx ? "INTx line \(line)" : "polled"
        }

        // Memory: rings 512-aligned (whole pages here), buffers bound to descriptors.
        func pages(_ bytes: Int) -> Int { (bytes + PageAllocator.pageSize - 1) / PageAllocator.pageSize }
        let entry = VMXNET3.Ring.entrySize
        let completionSize = Self.headRingSize + Self.bodyRingSize
        guard let shared = Kernel.allocatePages(1),
              let transmitRing = Kernel.allocatePages(pages(Self.transmitRingSize * entry)),
              let transmitCompletions = Kernel.allocatePages(pages(Self.transmitRingSize * entry)),
              let transmitData = Kernel.allocatePages(pages(Self.transmitRingSize * VMXNET3.Ring.transmitDataEntrySize)),
              let headRing = Kernel.allocatePages(pages(Self.headRingSize * entry)),
              let bodyRing = Kernel.allocatePages(pages(Self.bodyRingSize * entry)),
              let receiveCompletions = Kernel.allocatePages(pages(completionSize * entry)),
              let transmitBuffers = Kernel.allocatePages(pages(Self.transmitRingSize * Self.bufferSize)),
              let headBuffers = Kernel.allocatePages(pages(Self.headRingSize * Self.bufferSize)),
              let bodyBuffers = Kernel.allocatePages(pages(Self.bodyRingSize * Self.bufferSize))
        else { throw .outOfMemory }
        self.shared = shared
        let queueDescriptors = shared + Self.queueDescriptorOffset
        self.queueDescriptors = queueDescriptors
        self.transmitBuffers = transmitBuffers
        self.headBuffers = headBuffers
        self.bodyBuffers = bodyBuffers
        transmitQueue = VMXNET3TransmitQueue(size: Self.transmitRingSize, ring: transmitRing, completions: transmitCompletions)
        let receiveQueue = VMXNET3ReceiveQueue(ring1Size: Self.headRingSize, ring2Size: Self.bodyRingSize,
                                           ring1: headRing, ring2: bodyRing, completions: receiveCompletions)
        self.receiveQueue = receiveQueue
        let bufferSize = Self.bufferSize
        receiveQueue.refill(0, length: bufferSize) { Self.physical(headBuffers + $0 * bufferSize) }
        receiveQueue.refill(1, length: bufferSize) { Self.physical(bodyBuffers + $0 * bufferSize) }

        // The driver-shared area (struct Vmxnet3_DriverShared); the page is zeroed, so every
        // field not written here (features, RSS, power management, multicast table) is 0.
        func put8(_ offset: Int, _ value: UInt8) { shared.storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }
        func put16(_ offset: Int, _ value: UInt16) { shared.storeBytes(of: value, toByteOffset: offset, as: UInt16.self) }
        func put32(_ offset: Int, _ value: UInt32) { shared.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
        func put64(_ offset: Int, _ value: UInt64) { shared.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
        put32(VMXNET3.Shared.magic, VMXNET3.sharedMagic)
        put32(VMXNET3.Shared.driverVersion, 1)
        put32(VMXNET3.Shared.guestOS, VMXNET3.guestOS64BitLinux)
        put32(VMXNET3.Shared.revisionSupport, VMXNET3.revision1)
        put32(VMXNET3.Shared.uptVersionSupport, VMXNET3.revision1)
        put64(VMXNET3.Shared.queueDescriptorsAddress, Self.physical(queueDescriptors))
        put32(VMXNET3.Shared.queueDescriptorsLength, UInt32(2 * VMXNET3.QueueDescriptor.size))
        put32(VMXNET3.Shared.mtu, UInt32(Self.defaultMTU))
        put16(VMXNET3.Shared.maximumReceiveFragments, 1)
        put8(VMXNET3.Shared.transmitQueueCount, 1)
        put8(VMXNET3.Shared.receiveQueueCount, 1)
        put8(VMXNET3.Shared.autoMask, 0)          // no automatic masking: IMR stays as written
        put8(VMXNET3.Shared.interruptCount, 1)
        put8(VMXNET3.Shared.eventInterruptIndex, 0)
        put8(VMXNET3.Shared.moderationLevels, VMXNET3.moderationNone)
        put32(VMXNET3.Shared.interruptControl, 0)  // interrupts enabled (VMXNET3_IC_DISABLE_ALL clear)
        put32(VMXNET3.Shared.receiveMode, VMXNET3.ReceiveMode.unicast | VMXNET3.ReceiveMode.broadcast)
        put32(VMXNET3.Shared.vlanFilterTable, 1)   // VLAN 0 (untagged), as Linux does without VLANs

        // Queue descriptors: transmit queue 0, then receive queue 0 (struct Vmxnet3_TxQueueDesc,
        // Vmxnet3_RxQueueDesc).
        let tx = queueDescriptors, rx = queueDescriptors + VMXNET3.QueueDescriptor.size
        tx.storeBytes(of: Self.physical(transmitRing), toByteOffset: VMXNET3.QueueDescriptor.transmitRing, as: UInt64.self)
        tx.storeBytes(of: Self.physical(transmitData), toByteOffset: VMXNET3.QueueDescriptor.transmitDataRing, as: UInt64.self)
        tx.storeBytes(of: Self.physical(transmitCompletions), toByteOffset: VMXNET3.QueueDescriptor.transmitCompletionRing, as: UInt64.self)
        tx.storeBytes(of: UInt32(Self.transmitRingSize), toByteOffset: VMXNET3.QueueDescriptor.transmitRingSize, as: UInt32.self)
        tx.storeBytes(of: UInt32(Self.transmitRingSize), toByteOffset: VMXNET3.QueueDescriptor.transmitDataRingSize, as: UInt32.self)
        tx.storeBytes(of: UInt32(Self.transmitRingSize), toByteOffset: VMXNET3.QueueDescriptor.transmitCompletionRingSize, as: UInt32.self)
        tx.storeBytes(of: UInt8(0), toByteOffset: VMXNET3.QueueDescriptor.transmitInterruptIndex, as: UInt8.self)
        rx.storeBytes(of: Self.physical(headRing), toByteOffset: VMXNET3.QueueDescriptor.receiveRing1, as: UInt64.self)
        rx.storeBytes(of: Self.physical(bodyRing), toByteOffset: VMXNET3.QueueDescriptor.receiveRing2, as: UInt64.self)
        rx.storeBytes(of: Self.physical(receiveCompletions), toByteOffset: VMXNET3.QueueDescriptor.receiveCompletionRing, as: UInt64.self)
        rx.storeBytes(of: UInt32(Self.headRingSize), toByteOffset: VMXNET3.QueueDescriptor.receiveRing1Size, as: UInt32.self)
        rx.storeBytes(of: UInt32(Self.bodyRingSize), toByteOffset: VMXNET3.QueueDescriptor.receiveRing2Size, as: UInt32.self)
        rx.storeBytes(of: UInt32(completionSize), toByteOffset: VMXNET3.QueueDescriptor.receiveCompletionRingSize, as: UInt32.self)
        rx.storeBytes(of: UInt8(0), toByteOffset: VMXNET3.QueueDescriptor.receiveInterruptIndex, as: UInt8.self)

        SharedMemory.fence()  // everything above is in memory before the device is told where
        transport.setSharedArea(Self.physical(shared))
        guard transport.command(VMXNET3.Command.activateDevice) == 0 else {
            transport.setSharedArea(0)
            throw .activationFailed
        }
        let mac = transport.macBytes
        macAddress = MACAddress(mac.0, mac.1, mac.2, mac.3, mac.4, mac.5)
        (isLinkUp, linkMegabits) = transport.link()
        transport.setInterruptMasked(0, false)
        notifyReceiveProducers()
    }

    private static func physical(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
        // Identity-mapped: the address is the physical address (Kernel.allocatePages).
        UInt64(UInt(bitPattern: pointer))
    }

    /// The device's RXPROD registers, written only when it asks (the queue's updateRxProd flag).
    private func notifyReceiveProducers() {
        let rx = queueDescriptors + VMXNET3.QueueDescriptor.size
        guard SharedMemory.load32(rx, VMXNET3.QueueDescriptor.updateReceiveProducer) & 0xFF != 0 else { return }
        transport.notifyReceive(queue: 0, ring: 0, producer: receiveQueue.fillIndex(0))
        transport.notifyReceive(queue: 0, ring: 1, producer: receiveQueue.fillIndex(1))
    }

    private var pendingEvents: UInt32 { SharedMemory.load32(shared, VMXNET3.Shared.eventCause) }

    /// Frames or device events waiting (checked before the CPU halts; reads memory only).
    public var hasPendingWork: Bool { receiveQueue.hasCompletion || pendingEvents != 0 }

    public func acknowledgeInterrupt() {
        if usesINTx {
            _ = transport.readInterruptCause()
            Interrupts.unmaskLine(for: vector)
        }
        handleEvents()
    }

    /// Link changes and queue errors: acknowledged by writing the bits back to ECR.
    private func handleEvents() {
        let events = pendingEvents
        guard events != 0 else { return }
        transport.acknowledgeEvents(events)
        if events & VMXNET3.Event.link != 0 {
            (isLinkUp, linkMegabits) = transport.link()
        }
        if events & (VMXNET3.Event.receiveQueueError | VMXNET3.Event.transmitQueueError) != 0 && !reportedQueueError {
            reportedQueueError = true
            let rx = queueDescriptors + VMXNET3.QueueDescriptor.size
            print("\(name): vmxnet3 queue error (transmit \(SharedMemory.load32(queueDescriptors, VMXNET3.QueueDescriptor.error)), receive \(SharedMemory.load32(rx, VMXNET3.QueueDescriptor.error)))")
        }
    }

    public func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        var consumed = false
        while handed < budget, let completion = receiveQueue.nextCompletion() {
            consumed = true
            let buffers = completion.ring == 0 ? headBuffers : bodyBuffers
            // In bounds: nextCompletion checked index < the ring's size; buffers hold size × bufferSize.
            let buffer = buffers + completion.index * Self.bufferSize
            if skippingFrame {
                if completion.endOfPacket { skippingFrame = false }
                continue
            }
            guard completion.startOfPacket, completion.endOfPacket, !completion.error, completion.ring == 0,
                  completion.length > 0, completion.length <= Self.bufferSize else {
                counters.receiveErrors += 1
                if completion.startOfPacket && !completion.endOfPacket { skippingFrame = true }
                continue
            }
            // In bounds: length <= bufferSize, the buffer's size.
            body(UnsafeRawBufferPointer(start: buffer, count: completion.length))
            counters.receivedFrames += 1
            counters.receivedBytes += completion.length
            handed += 1
        }
        if consumed {
            let bufferSize = Self.bufferSize, head = headBuffers, bodies = bodyBuffers
            receiveQueue.refill(0, length: bufferSize) { Self.physical(head + $0 * bufferSize) }
            receiveQueue.refill(1, length: bufferSize) { Self.physical(bodies + $0 * bufferSize) }
            notifyReceiveProducers()
        }
        if receiveQueue.broken && !counters.deviceBroken {
            counters.deviceBroken = true
            print("\(name): the device returned an impossible receive completion; receive stopped")
        }
        handleEvents()
        return handed
    }

    public func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard length > 0, length <= Self.bufferSize else {
            counters.transmitErrors += 1
            return .invalid
        }
        transmitQueue.reclaim()
        if transmitQueue.broken {
            if !counters.deviceBroken {
                counters.deviceBroken = true
                print("\(name): the device completed a transmit descriptor it did not own; transmit stopped")
            }
            counters.transmitErrors += 1
            return .failed
        }
        guard let index = transmitQueue.nextFree else {
            counters.transmitFull += 1
            return .again
        }
        // In bounds: index < transmitRingSize; the buffers hold transmitRingSize × bufferSize bytes.
        let buffer = transmitBuffers + index * Self.bufferSize
        fill(UnsafeMutableRawBufferPointer(start: buffer, count: length))
        guard let producer = transmitQueue.post(address: Self.physical(buffer), length: length) else { return .again }
        transport.notifyTransmit(queue: 0, producer: producer)
        counters.transmittedFrames += 1
        counters.transmittedBytes += length
        return .ok
    }

    public var details: String {
        "vmxnet3 revision 1 at \(pciAddress), \(interruptMode), rings tx \(Self.transmitRingSize) rx \(Self.headRingSize)+\(Self.bodyRingSize), link \(isLinkUp ? "up" : "down") \(linkMegabits) Mb/s"
    }
}
#endif
