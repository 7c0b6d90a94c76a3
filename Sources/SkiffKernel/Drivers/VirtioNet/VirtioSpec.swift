// Constants from the Virtual I/O Device (VIRTIO) Version 1.2 specification (OASIS, 2022), by
// section. "Legacy" is the pre-1.0 interface that §4.1.4.8 and the transitional devices keep.
//
// Portable (no hardware access): the host tests use the ring layout too.

enum Virtio {
    /// §4.1.2: PCI vendor 0x1AF4; network devices are 0x1000 (transitional) or 0x1041 (modern:
    /// 0x1040 + device type 1, §5.1.1).
    static let vendorID: UInt16 = 0x1AF4
    static let transitionalNetDeviceID: UInt16 = 0x1000
    static let modernNetDeviceID: UInt16 = 0x1041

    /// §2.1: device status bits.
    enum Status {
        static let acknowledge: UInt8 = 1
        static let driver: UInt8 = 2
        static let driverOK: UInt8 = 4
        static let featuresOK: UInt8 = 8
        static let deviceNeedsReset: UInt8 = 64
        static let failed: UInt8 = 128
    }

    /// §5.1.3 (network device) and §6 (reserved, transport-independent) feature bits.
    enum Feature {
        static let netMTU: UInt64 = 1 << 3
        static let netMAC: UInt64 = 1 << 5
        static let netMergeableRxBuffers: UInt64 = 1 << 15
        static let netStatus: UInt64 = 1 << 16
        static let ringEventIndex: UInt64 = 1 << 29
        static let version1: UInt64 = 1 << 32
    }

    /// §5.1.2: receiveq1 and transmitq1.
    static let receiveQueue: UInt16 = 0
    static let transmitQueue: UInt16 = 1

    /// §5.1.4: the net device's configuration: mac[6], status (u16), max_virtqueue_pairs, mtu.
    enum NetConfig {
        static let mac = 0
        static let status = 6
        static let mtu = 10
        static let linkUp: UInt16 = 1
    }

    /// §5.1.6: struct virtio_net_hdr; 12 bytes with VERSION_1 or MRG_RXBUF (num_buffers at
    /// offset 10), 10 bytes for a legacy device without MRG_RXBUF (§5.1.6.1).
    enum NetHeader {
        static let numBuffers = 10
        static func size(features: UInt64) -> Int {
            features & (Feature.version1 | Feature.netMergeableRxBuffers) != 0 ? 12 : 10
        }
    }

    /// §2.7.5 descriptor flags, §2.7.6 available ring flags, §2.7.8 used ring flags.
    enum Ring {
        static let descriptorNext: UInt16 = 1
        static let descriptorWrite: UInt16 = 2
        static let availableNoInterrupt: UInt16 = 1
        static let usedNoNotify: UInt16 = 1
        static let descriptorSize = 16
        static let usedElementSize = 8
        /// §2.7.2 (legacy interfaces, "Virtqueue Layout"): the used ring starts on a 4096-byte
        /// boundary after the descriptors and the available ring; modern devices accept this too.
        static let legacyAlignment = 4096
    }

    /// §4.1.4.3: the modern common configuration structure, by offset.
    enum Common {
        static let deviceFeatureSelect = 0x00, deviceFeature = 0x04
        static let driverFeatureSelect = 0x08, driverFeature = 0x0C
        static let configMSIXVector = 0x10, numQueues = 0x12
        static let deviceStatus = 0x14, configGeneration = 0x15
        static let queueSelect = 0x16, queueSize = 0x18, queueMSIXVector = 0x1A
        static let queueEnable = 0x1C, queueNotifyOffset = 0x1E
        static let queueDescriptors = 0x20, queueDriver = 0x28, queueDevice = 0x30
        static let length = 0x38
    }

    /// §4.1.4: vendor-specific PCI capability (ID 0x09) fields and cfg_type values.
    enum Capability {
        static let vendorSpecificID: UInt8 = 0x09
        static let type = 3, bar = 4, offset = 8, length = 12, notifyOffsetMultiplier = 16
        static let commonConfig: UInt8 = 1, notifyConfig: UInt8 = 2, isrConfig: UInt8 = 3
        static let deviceConfig: UInt8 = 4
    }

    /// §4.1.4.8: the legacy interface's I/O BAR 0.
    enum Legacy {
        static let deviceFeatures: UInt16 = 0x00, driverFeatures: UInt16 = 0x04
        static let queueAddress: UInt16 = 0x08, queueSize: UInt16 = 0x0C
        static let queueSelect: UInt16 = 0x0E, queueNotify: UInt16 = 0x10
        static let deviceStatus: UInt16 = 0x12, isrStatus: UInt16 = 0x13
        static let configMSIXVector: UInt16 = 0x14, queueMSIXVector: UInt16 = 0x16
        /// The device configuration follows at 0x14, or at 0x18 while MSI-X is enabled.
        static let deviceConfigWithoutMSIX: UInt16 = 0x14
        static let deviceConfigWithMSIX: UInt16 = 0x18
        static let queueAddressShift = 12
    }

    /// §4.1.4.5: ISR status bits (reading clears them and deasserts INTx).
    enum ISR {
        static let queue: UInt8 = 1
        static let configChange: UInt8 = 2
    }

    /// §4.1.5.1.2: "no vector" for the MSI-X vector registers.
    static let noVector: UInt16 = 0xFFFF
}
