// The virtio network device (virtio 1.2 §5.1) as a `NetworkDevice`: one receive and one transmit
// queue, 2 KiB buffers bound to descriptors, mergeable receive buffers gathered when a frame
// spans several, transmit descriptors reclaimed from the used ring before each send.
//
// Initialization follows §3.1.1 step by step: reset; ACKNOWLEDGE; DRIVER; negotiate features;
// FEATURES_OK (modern); queues and interrupt vectors; DRIVER_OK.
#if os(none)
import SkiffKernelC
import SkiffWire
import SkiffPlatform

public final class VirtioNetDevice: KernelNetworkDriver {
    public let name: String
    public private(set) var macAddress: MACAddress
    public let mtu: Int
    public let pciAddress: PCIAddress
    public let isModern: Bool
    public let features: UInt64
    /// "MSI-X" or "INTx" (the I/O APIC line), for the boot log.
    public let interruptMode: String
    public private(set) var counters = NetworkDeviceCounters()

    let transport: VirtioTransport
    let receiveQueue: VirtioQueue
    let transmitQueue: VirtioQueue
    let headerSize: Int
    let vector: UInt8
    let usesINTx: Bool
    private let receiveBuffers: UnsafeMutableRawPointer
    private let transmitBuffers: UnsafeMutableRawPointer
    private let notifyReceive: (UInt16) -> Void
    private let notifyTransmit: (UInt16) -> Void
    /// Transmit descriptors not in flight.
    private var freeTransmit: [Int]
    private var transmitInFlight: [Bool]
    /// A frame spread over several receive buffers is copied here (mergeable buffers, §5.1.6.4).
    private var gather: UnsafeMutableRawPointer? = nil

    static let bufferSize = 2048
    static let maximumQueueSize = 256
    static let maximumFrame = 65_550

    public enum InitError: Error {
        case noTransport, resetFailed, featuresRefused, noQueue, outOfMemory, noVector, vectorRefused

        public var description: StaticString {
            switch self {
            case .noTransport: return "neither a modern nor a legacy virtio interface"
            case .resetFailed: return "the device did not reset"
            case .featuresRefused: return "the device refused the features (FEATURES_OK not set)"
            case .noQueue: return "no receive or transmit queue"
            case .outOfMemory: return "no memory for the queues"
            case .noVector: return "no interrupt vector left"
            case .vectorRefused: return "the device refused its MSI-X vector"
            }
        }
    }

    public static func matches(_ pci: PCIDevice) -> Bool {
        pci.vendorID == Virtio.vendorID
            && (pci.deviceID == Virtio.transitionalNetDeviceID || pci.deviceID == Virtio.modernNetDeviceID)
    }

    public init(_ pci: PCIDevice, name: String) throws(InitError) {
        self.name = name
        self.pciAddress = pci.address
        pci.enable(busMaster: true)
        guard let transport = VirtioTransport(pci) else { throw .noTransport }
        self.transport = transport
        self.isModern = transport.isModern

        // Interrupts: one vector for the device, through MSI-X entry 0 when the device has MSI-X,
        // else its INTx line through the I/O APIC. MSI-X is enabled before the legacy registers
        // are touched, since enabling it moves the legacy device configuration.
        guard let vector = Interrupts.allocateDeviceVector() else { throw .noVector }
        self.vector = vector
        let msix = MSIX(pci)
        if let msix {
            msix.route(entry: 0, to: vector)
            msix.enable()
            transport.legacyMSIXEnabled = !transport.isModern
            usesINTx = false
            interruptMode = "MSI-X"
        } else {
            let line = UInt32(pci.interruptLine)
            usesINTx = pci.interruptPin != 0 && Interrupts.routeLevelLine(line, to: vector)
            pci.setINTxDisabled(false)
            interruptMode = usesINTx ? "INTx line \(line)" : "polled"
        }
        let msixEntry: UInt16? = msix == nil ? nil : 0

        // §3.1.1 steps 1–3.
        guard transport.reset() else { throw .resetFailed }
        transport.status = Virtio.Status.acknowledge
        transport.status = Virtio.Status.acknowledge | Virtio.Status.driver

        // Steps 4–6: features.
        let offered = transport.deviceFeatures
        var wanted = Virtio.Feature.netMAC | Virtio.Feature.netStatus | Virtio.Feature.netMergeableRxBuffers
            | Virtio.Feature.netMTU
        if transport.isModern { wanted |= Virtio.Feature.version1 }
        let features = offered & wanted
        self.features = features
        transport.setDriverFeatures(features)
        var status = Virtio.Status.acknowledge | Virtio.Status.driver
        if transport.isModern {
            status |= Virtio.Status.featuresOK
            transport.status = status
            guard transport.status & Virtio.Status.featuresOK != 0 else {
                transport.status = Virtio.Status.failed
                throw .featuresRefused
            }
        }
        headerSize = Virtio.NetHeader.size(features: features)

        // Step 7: queues, buffers, vectors.
        func makeQueue(_ index: UInt16) throws(InitError) -> VirtioQueue {
            let maximum = transport.maximumQueueSize(index)
            guard maximum > 0 else { throw .noQueue }
            // Legacy queues have exactly the device's size; modern ones may be smaller (a power
            // of two, §2.7: a device may offer any size, so round down).
            var size = transport.isModern ? min(maximum, Self.maximumQueueSize) : maximum
            if size & (size - 1) != 0 { size = 1 << (Int.bitWidth - 1 - size.leadingZeroBitCount) }
            guard size <= 32768 else { throw .noQueue }
            let layout = VirtioQueue.Layout(size: size)
            let pages = (layout.totalBytes + PageAllocator.pageSize - 1) / PageAllocator.pageSize
            guard let memory = Kernel.allocatePages(pages) else { throw .outOfMemory }
            return VirtioQueue(index: index, size: size, memory: memory)
        }
        let receiveQueue = try makeQueue(Virtio.receiveQueue)
        let transmitQueue = try makeQueue(Virtio.transmitQueue)
        self.receiveQueue = receiveQueue
        self.transmitQueue = transmitQueue
        guard let receiveBuffers = Kernel.allocatePages(receiveQueue.size * Self.bufferSize / PageAllocator.pageSize),
              let transmitBuffers = Kernel.allocatePages(transmitQueue.size * Self.bufferSize / PageAllocator.pageSize)
        else { throw .outOfMemory }
        self.receiveBuffers = receiveBuffers
        self.transmitBuffers = transmitBuffers
        for id in 0..<receiveQueue.size {
            receiveQueue.setDescriptor(id, address: UInt64(UInt(bitPattern: receiveBuffers + id * Self.bufferSize)),
                                       length: UInt32(Self.bufferSize), flags: Virtio.Ring.descriptorWrite)
            receiveQueue.offer(id)
        }
        receiveQueue.publish()
        for id in 0..<transmitQueue.size {
            transmitQueue.setDescriptor(id, address: UInt64(UInt(bitPattern: transmitBuffers + id * Self.bufferSize)),
                                        length: 0, flags: 0)
        }
        // Transmit completions are collected when sending; they need no interrupt.
        transmitQueue.suppressInterrupts()
        freeTransmit = Array((0..<transmitQueue.size).reversed())
        transmitInFlight = Array(repeating: false, count: transmitQueue.size)

        guard transport.activate(receiveQueue, msixEntry: msixEntry),
              transport.activate(transmitQueue, msixEntry: msixEntry),
              transport.setConfigMSIXEntry(msixEntry)
        else {
            transport.status = Virtio.Status.failed
            throw .vectorRefused
        }
        notifyReceive = transport.notifier(for: Virtio.receiveQueue)
        notifyTransmit = transport.notifier(for: Virtio.transmitQueue)

        // Device configuration: the MAC address when offered (else a locally administered one
        // from the PCI address), the MTU when offered.
        if features & Virtio.Feature.netMAC != 0 {
            var bytes: [UInt8] = []
            for index in 0..<6 { bytes.append(transport.config8(Virtio.NetConfig.mac + index)) }
            macAddress = MACAddress(bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5])
        } else {
            macAddress = MACAddress(0x02, 0x53, 0x4B, pci.address.bus, pci.address.device, pci.address.function)
        }
        if features & Virtio.Feature.netMTU != 0 {
            let advertised = Int(transport.config16(Virtio.NetConfig.mtu))
            mtu = advertised >= 68 ? min(advertised, Self.bufferSize - headerSize - 18) : 1500
        } else {
            mtu = 1500
        }

        // Step 8.
        transport.status = status | Virtio.Status.driverOK
        notifyReceive(Virtio.receiveQueue)
    }

    public var driverName: String { "virtio-net" }

    /// `virtio-net modern at 00:03.0, MSI-X, features 0x…, link up` (kernel-net.sh matches it).
    public var details: String {
        "virtio-net \(isModern ? "modern" : "legacy") at \(pciAddress), \(interruptMode), features 0x\(String(features, radix: 16)), link \(isLinkUp ? "up" : "down")"
    }

    public var isLinkUp: Bool {
        guard features & Virtio.Feature.netStatus != 0 else { return true }
        return transport.config16(Virtio.NetConfig.status) & Virtio.NetConfig.linkUp != 0
    }

    /// Whether frames are waiting (checked before the CPU halts).
    public var hasPendingWork: Bool { receiveQueue.hasUsed }

    /// After this device's interrupt: a legacy INTx line stays asserted until the ISR is read.
    public func acknowledgeInterrupt() {
        guard usesINTx else { return }
        _ = transport.readISR()
        Interrupts.unmaskLine(for: vector)
    }

    public func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var handed = 0
        var returned = false
        while handed < budget, let element = receiveQueue.nextUsed() {
            let id = element.id, length = element.length
            returned = true
            let buffer = receiveBuffers + id * Self.bufferSize
            guard length >= headerSize, length <= Self.bufferSize else {
                counters.receiveErrors += 1
                receiveQueue.offer(id)
                continue
            }
            let pieces = features & Virtio.Feature.netMergeableRxBuffers != 0
                ? Int(buffer.load(fromByteOffset: Virtio.NetHeader.numBuffers, as: UInt16.self)) : 1
            if pieces <= 1 {
                // In bounds: headerSize <= length <= bufferSize, the buffer's size.
                body(UnsafeRawBufferPointer(start: buffer + headerSize, count: length - headerSize))
                counters.receivedFrames += 1
                counters.receivedBytes += length - headerSize
                receiveQueue.offer(id)
            } else {
                if let frame = gatherPieces(first: buffer, id: id, length: length, pieces: pieces) {
                    body(UnsafeRawBufferPointer(start: gather, count: frame))
                    counters.receivedFrames += 1
                    counters.receivedBytes += frame
                } else {
                    counters.receiveErrors += 1
                }
            }
            handed += 1
        }
        if returned {
            receiveQueue.publish()
            if receiveQueue.deviceWantsNotification { notifyReceive(Virtio.receiveQueue) }
        }
        if receiveQueue.broken && !counters.deviceBroken {
            counters.deviceBroken = true
            print("\(name): the device returned an impossible used-ring entry; receive stopped")
        }
        return handed
    }

    /// Copies a frame that spans `pieces` receive buffers into `gather` and gives every buffer
    /// back; the frame's length, or nil when a piece is missing or malformed.
    private func gatherPieces(first: UnsafeMutableRawPointer, id: Int, length: Int, pieces: Int) -> Int? {
        if gather == nil { gather = UnsafeMutableRawPointer.allocate(byteCount: Self.maximumFrame, alignment: 16) }
        guard let gather else { return nil }
        var total = length - headerSize
        // In bounds: total <= bufferSize <= maximumFrame.
        gather.copyMemory(from: first + headerSize, byteCount: total)
        receiveQueue.offer(id)
        var ok = pieces <= receiveQueue.size
        for _ in 1..<pieces {
            guard ok, let element = receiveQueue.nextUsed() else { return nil }
            let next = element.id, nextLength = element.length
            if nextLength > Self.bufferSize || total + nextLength > Self.maximumFrame {
                ok = false
            } else {
                // In bounds: total + nextLength <= maximumFrame, checked above.
                (gather + total).copyMemory(from: receiveBuffers + next * Self.bufferSize, byteCount: nextLength)
                total += nextLength
            }
            receiveQueue.offer(next)
        }
        return ok ? total : nil
    }

    public func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard length > 0, length <= Self.bufferSize - headerSize else {
            counters.transmitErrors += 1
            return .invalid
        }
        reclaimTransmitted()
        guard let id = freeTransmit.popLast() else {
            counters.transmitFull += 1
            return .again
        }
        let buffer = transmitBuffers + id * Self.bufferSize
        // §5.1.6.2: no checksum offload or segmentation requested; an all-zero header.
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
        // In bounds: headerSize + length <= bufferSize, checked above.
        fill(UnsafeMutableRawBufferPointer(start: buffer + headerSize, count: length))
        transmitQueue.setDescriptorLength(id, UInt32(headerSize + length))
        transmitInFlight[id] = true
        transmitQueue.offer(id)
        transmitQueue.publish()
        if transmitQueue.deviceWantsNotification { notifyTransmit(Virtio.transmitQueue) }
        counters.transmittedFrames += 1
        counters.transmittedBytes += length
        return .ok
    }

    private func reclaimTransmitted() {
        while let element = transmitQueue.nextUsed() {
            let id = element.id
            // A descriptor the device returns twice would be handed out twice: refuse it.
            guard transmitInFlight[id] else { continue }
            transmitInFlight[id] = false
            freeTransmit.append(id)
        }
    }
}

/// What a NIC driver counts.
public struct NetworkDeviceCounters: Sendable {
    public var receivedFrames = 0
    public var receivedBytes = 0
    public var receiveErrors = 0
    public var transmittedFrames = 0
    public var transmittedBytes = 0
    public var transmitErrors = 0
    /// Sends refused because the ring was full.
    public var transmitFull = 0
    public var deviceBroken = false
}
#endif
