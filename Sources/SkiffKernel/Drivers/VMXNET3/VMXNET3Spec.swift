// Constants of VMware's vmxnet3 device, from the interface headers VMware publishes with the Linux
// driver (drivers/net/vmxnet3/vmxnet3_defs.h and upt1_defs.h, "Definitions shared by device
// emulation and guest drivers"), by the header's own names. There is no public prose
// specification; offsets into the shared structures are computed from those packed,
// little-endian structure definitions and noted beside each constant.
//
// Portable (no hardware access): the host tests use the ring layouts too.

enum VMXNET3 {
    /// PCI IDs (pci_ids.h: PCI_VENDOR_ID_VMWARE, PCI_DEVICE_ID_VMWARE_VMXNET3).
    static let vendorID: UInt16 = 0x15AD
    static let deviceID: UInt16 = 0x07B0

    /// BAR 0, the "pass-through" registers (vmxnet3_defs.h, second register enum): one IMR per
    /// interrupt and one producer register per queue, 8 bytes apart (VMXNET3_REG_ALIGN).
    enum PT {
        static let interruptMask = 0x000        // VMXNET3_REG_IMR (+ 8 × interrupt index)
        static let transmitProducer = 0x600     // VMXNET3_REG_TXPROD (+ 8 × queue)
        static let receiveProducer = 0x800      // VMXNET3_REG_RXPROD, ring 1
        static let receiveProducer2 = 0xA00     // VMXNET3_REG_RXPROD2, ring 2
        static let minimumSize = 0x1000         // VMXNET3_PT_REG_SIZE
    }

    /// BAR 1, the "virtual device" registers (vmxnet3_defs.h, first register enum).
    enum VD {
        static let revisionReport = 0x00        // VMXNET3_REG_VRRS
        static let uptVersionReport = 0x08      // VMXNET3_REG_UVRS
        static let sharedAddressLow = 0x10      // VMXNET3_REG_DSAL
        static let sharedAddressHigh = 0x18     // VMXNET3_REG_DSAH
        static let command = 0x20               // VMXNET3_REG_CMD
        static let macLow = 0x28                // VMXNET3_REG_MACL: MAC bytes 0–3
        static let macHigh = 0x30               // VMXNET3_REG_MACH: MAC bytes 4–5
        static let interruptCause = 0x38        // VMXNET3_REG_ICR (INTx only; reading deasserts)
        static let eventCause = 0x40            // VMXNET3_REG_ECR (write 1s to acknowledge)
        static let minimumSize = 0x48
    }

    /// Commands written to VD.command; a "get" command's result is read back from it.
    enum Command {
        static let activateDevice: UInt32 = 0xCAFE_0000   // VMXNET3_CMD_ACTIVATE_DEV (reads 0 on success)
        static let quiesceDevice: UInt32 = 0xCAFE_0001    // VMXNET3_CMD_QUIESCE_DEV
        static let resetDevice: UInt32 = 0xCAFE_0002      // VMXNET3_CMD_RESET_DEV
        static let updateReceiveMode: UInt32 = 0xCAFE_0003 // VMXNET3_CMD_UPDATE_RX_MODE
        static let getLink: UInt32 = 0xF00D_0002          // VMXNET3_CMD_GET_LINK: bit 0 up, bits 16–31 Mb/s
    }

    /// Revision 1 of the device and UPT version 1: bit 0 of VRRS/UVRS, written back to select it.
    static let revision1: UInt32 = 1
    /// VMXNET3_REV1_MAGIC, the first word of the driver-shared area.
    static let sharedMagic: UInt32 = 0xBABE_FEE1

    /// struct Vmxnet3_DriverShared (720 bytes with devReadExt); offsets from its start.
    enum Shared {
        static let magic = 0
        // devRead.misc (struct Vmxnet3_MiscConf) at 8: driverInfo (version, gos, vmxnet3RevSpt,
        // uptVerSpt), uptFeatures, ddPA, queueDescPA, ddLen, queueDescLen, mtu, maxNumRxSG,
        // numTxQueues, numRxQueues.
        static let driverVersion = 8
        static let guestOS = 12
        static let revisionSupport = 16
        static let uptVersionSupport = 20
        static let uptFeatures = 24
        static let queueDescriptorsAddress = 40
        static let queueDescriptorsLength = 52
        static let mtu = 56
        static let maximumReceiveFragments = 60     // maxNumRxSG (u16)
        static let transmitQueueCount = 62           // u8
        static let receiveQueueCount = 63            // u8
        // devRead.intrConf (struct Vmxnet3_IntrConf) at 80: autoMask, numIntrs, eventIntrIdx,
        // modLevels[25], intrCtrl.
        static let autoMask = 80
        static let interruptCount = 81
        static let eventInterruptIndex = 82
        static let moderationLevels = 83
        static let interruptControl = 108
        // devRead.rxFilterConf (struct Vmxnet3_RxFilterConf) at 120: rxMode, mfTableLen,
        // mfTablePA, vfTable[128].
        static let receiveMode = 120
        static let vlanFilterTable = 136
        /// The event cause register's shadow, written by the device (ECR bits below).
        static let eventCause = 696
        static let size = 720
    }

    /// Vmxnet3_GOSInfo: gosBits (2) 64-bit, gosType (4) Linux (QEMU compounds receive
    /// buffers for every type but Windows).
    static let guestOS64BitLinux: UInt32 = 2 | (1 << 2)

    /// UPT1_IML_NONE: no interrupt moderation (upt1_defs.h).
    static let moderationNone: UInt8 = 0
    /// VMXNET3_IC_DISABLE_ALL in intrCtrl.
    static let interruptsDisableAll: UInt32 = 1

    /// rxMode bits (VMXNET3_RXM_*).
    enum ReceiveMode {
        static let unicast: UInt32 = 0x01
        static let multicast: UInt32 = 0x02
        static let broadcast: UInt32 = 0x04
        static let allMulticast: UInt32 = 0x08
        static let promiscuous: UInt32 = 0x10
    }

    /// Event cause bits (VMXNET3_ECR_*).
    enum Event {
        static let receiveQueueError: UInt32 = 1 << 0
        static let transmitQueueError: UInt32 = 1 << 1
        static let link: UInt32 = 1 << 2
        static let deviceImplementationChange: UInt32 = 1 << 3
        static let debug: UInt32 = 1 << 4
    }

    /// struct Vmxnet3_TxQueueDesc and Vmxnet3_RxQueueDesc: 256 bytes each, transmit queues first,
    /// in one area aligned to VMXNET3_QUEUE_DESC_ALIGN (128).
    enum QueueDescriptor {
        static let size = 256
        static let alignment = 128
        // Transmit: ctrl (txNumDeferred, txThreshold), then conf at 16.
        static let transmitRing = 16            // txRingBasePA
        static let transmitDataRing = 24        // dataRingBasePA
        static let transmitCompletionRing = 32  // compRingBasePA
        static let transmitRingSize = 56        // txRingSize
        static let transmitDataRingSize = 60    // dataRingSize
        static let transmitCompletionRingSize = 64
        static let transmitInterruptIndex = 72  // intrIdx
        // Receive: ctrl (updateRxProd at 0), then conf at 16.
        static let updateReceiveProducer = 0
        static let receiveRing1 = 16            // rxRingBasePA[0]
        static let receiveRing2 = 24            // rxRingBasePA[1]
        static let receiveCompletionRing = 32   // compRingBasePA
        static let receiveRing1Size = 56        // rxRingSize[0]
        static let receiveRing2Size = 60        // rxRingSize[1]
        static let receiveCompletionRingSize = 64
        static let receiveInterruptIndex = 72   // intrIdx
        // Both: struct Vmxnet3_QueueStatus at 80 (stopped, error).
        static let stopped = 80
        static let error = 84
    }

    /// Every descriptor and completion entry is 16 bytes (union Vmxnet3_GenericDesc). Rings start
    /// on VMXNET3_RING_BA_ALIGN (512) and hold a multiple of VMXNET3_RING_SIZE_ALIGN (32) entries,
    /// at most 4096 (the completion index fields are 12 bits).
    enum Ring {
        static let entrySize = 16
        static let baseAlignment = 512
        static let sizeAlignment = 32
        static let maximumSize = 4096
        /// VMXNET3_TXDATA_DESC_MIN_SIZE: one transmit data ring entry.
        static let transmitDataEntrySize = 128
        /// VMXNET3_INIT_GEN: the generation every ring starts with.
        static let initialGeneration: UInt32 = 1
    }

    /// struct Vmxnet3_TxDesc: addr (le64); dword 2: len (bits 0–13, 0 means 16384), gen (14);
    /// dword 3: eop (bit 12), cq (bit 13, ask for a completion).
    enum TxDescriptor {
        static let lengthMask: UInt32 = 0x3FFF
        static let generationShift: UInt32 = 14
        static let endOfPacket: UInt32 = 1 << 12
        static let completionRequest: UInt32 = 1 << 13
    }

    /// struct Vmxnet3_TxCompDesc: dword 0 txdIdx (bits 0–11); dword 3 type (24–30), gen (31).
    enum TxCompletion {
        static let indexMask: UInt32 = 0xFFF
        static let generationShift: UInt32 = 31
    }

    /// struct Vmxnet3_RxDesc: addr (le64); dword 2: len (bits 0–13), btype (14: 0 head, 1 body),
    /// dtype (15), gen (31).
    enum RxDescriptor {
        static let lengthMask: UInt32 = 0x3FFF
        static let bodyBuffer: UInt32 = 1 << 14
        static let generationShift: UInt32 = 31
    }

    /// struct Vmxnet3_RxCompDesc: dword 0: rxdIdx (0–11), eop (14), sop (15), rqID (16–25);
    /// dword 2: len (0–13), err (14); dword 3: type (24–30), gen (31). rqID is the queue index
    /// for ring 1 and queue index + number of receive queues for ring 2.
    enum RxCompletion {
        static let indexMask: UInt32 = 0xFFF
        static let endOfPacket: UInt32 = 1 << 14
        static let startOfPacket: UInt32 = 1 << 15
        static let queueShift: UInt32 = 16
        static let queueMask: UInt32 = 0x3FF
        static let lengthMask: UInt32 = 0x3FFF
        static let error: UInt32 = 1 << 14
        static let generationShift: UInt32 = 31
    }

    /// VMXNET3_MAX_INTRS: MSI-X table entries the device may use.
    static let maximumInterrupts = 25
}
