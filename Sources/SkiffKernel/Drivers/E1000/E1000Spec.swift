// Constants of the Intel 82540EM (QEMU's `e1000`), from Intel's "PCI/PCI-X Family of Gigabit
// Ethernet Controllers Software Developer's Manual" (8254x, revision 4.0), by section: §13 the
// register map, §3.2 and §3.3 the legacy receive and transmit descriptors, §5.3.1 EEPROM words.
//
// Portable (no hardware access): the host tests use the descriptor layouts too.

enum E1000 {
    /// §5.2, table 5-1: vendor 0x8086; the 82540EM desktop part (QEMU's and VirtualBox's
    /// default e1000) is 0x100E, the 82545EM copper part (VMware's "e1000" adapter) 0x100F. Both
    /// have the register layout used here, EERD included.
    static let vendorID: UInt16 = 0x8086
    static let deviceID82540EM: UInt16 = 0x100E
    static let deviceID82545EM: UInt16 = 0x100F

    /// §13.4, table 13-2: register offsets in the memory BAR (BAR 0, 128 KiB).
    enum Register {
        static let control = 0x0000             // CTRL
        static let status = 0x0008              // STATUS
        static let eepromRead = 0x0014          // EERD
        static let interruptCause = 0x00C0      // ICR (read clears)
        static let interruptMaskSet = 0x00D0    // IMS
        static let interruptMaskClear = 0x00D8  // IMC
        static let receiveControl = 0x0100      // RCTL
        static let transmitControl = 0x0400     // TCTL
        static let transmitIPG = 0x0410         // TIPG
        static let receiveBaseLow = 0x2800      // RDBAL
        static let receiveBaseHigh = 0x2804     // RDBAH
        static let receiveLength = 0x2808       // RDLEN
        static let receiveHead = 0x2810         // RDH
        static let receiveTail = 0x2818         // RDT
        static let receiveDelay = 0x2820        // RDTR
        static let transmitBaseLow = 0x3800     // TDBAL
        static let transmitBaseHigh = 0x3804    // TDBAH
        static let transmitLength = 0x3808      // TDLEN
        static let transmitHead = 0x3810        // TDH
        static let transmitTail = 0x3818        // TDT
        static let multicastTable = 0x5200      // MTA[0..127]
        static let receiveAddressLow = 0x5400   // RAL0
        static let receiveAddressHigh = 0x5404  // RAH0
        static let minimumBarSize = 0x5408
    }

    /// §13.4.1: CTRL bits.
    enum Control {
        static let linkReset: UInt32 = 1 << 3          // LRST
        static let autoSpeedDetection: UInt32 = 1 << 5 // ASDE
        static let setLinkUp: UInt32 = 1 << 6          // SLU
        static let invertLossOfSignal: UInt32 = 1 << 7 // ILOS
        static let reset: UInt32 = 1 << 26             // RST (self-clearing)
        static let vlanMode: UInt32 = 1 << 30          // VME
        static let phyReset: UInt32 = 1 << 31          // PHY_RST
    }

    /// §13.4.2: STATUS.LU.
    static let statusLinkUp: UInt32 = 1 << 1

    /// §13.4.4: EERD (82540EM layout): START bit 0, DONE bit 4, address bits 8–15, data 16–31.
    enum EEPROMRead {
        static let start: UInt32 = 1 << 0
        static let done: UInt32 = 1 << 4
        static let addressShift: UInt32 = 8
        static let dataShift: UInt32 = 16
    }

    /// §13.4.17–20: interrupt cause bits, shared by ICR, IMS and IMC.
    enum Interrupt {
        static let transmitDescriptorWritten: UInt32 = 1 << 0  // TXDW
        static let linkStatusChange: UInt32 = 1 << 2           // LSC
        static let receiveMinimumThreshold: UInt32 = 1 << 4    // RXDMT0
        static let receiveOverrun: UInt32 = 1 << 6             // RXO
        static let receiveTimer: UInt32 = 1 << 7               // RXT0
        static let all: UInt32 = 0xFFFF_FFFF
    }

    /// §13.4.22: RCTL bits. BSIZE 00 with BSEX 0 is 2048-byte buffers.
    enum ReceiveControl {
        static let enable: UInt32 = 1 << 1             // EN
        static let broadcastAccept: UInt32 = 1 << 15   // BAM
        static let bufferSize2048: UInt32 = 0 << 16    // BSIZE
        static let stripCRC: UInt32 = 1 << 26          // SECRC
    }

    /// §13.4.33: TCTL bits; CT (collision threshold) 0x0F and COLD (collision distance) 0x40 for
    /// full duplex, the values §14.5 recommends.
    enum TransmitControl {
        static let enable: UInt32 = 1 << 1             // EN
        static let padShortPackets: UInt32 = 1 << 3    // PSP
        static let collisionThreshold: UInt32 = 0x0F << 4
        static let collisionDistance: UInt32 = 0x40 << 12
    }

    /// §13.4.34, table 13-77: TIPG for the 82540EM on copper: IPGT 10, IPGR1 8, IPGR2 6.
    static let transmitIPGCopper: UInt32 = 10 | (8 << 10) | (6 << 20)

    /// §13.5.14: RAH.AV, address valid.
    static let receiveAddressValid: UInt32 = 1 << 31
    /// §13.5.1: 128 multicast table entries.
    static let multicastTableEntries = 128

    /// §3.2.3 (receive) and §3.3.3 (transmit): legacy descriptors, 16 bytes. Rings are a
    /// multiple of 128 bytes (8 descriptors) long and 16-byte aligned (§3.2.6, §3.4).
    enum Descriptor {
        static let size = 16
        static let ringLengthMultiple = 8
        /// Receive: buffer address (0), length (8, u16), checksum (10), status (12), errors (13),
        /// special (14).
        static let receiveLength = 8
        static let receiveStatus = 12
        static let receiveErrors = 13
        /// Transmit: buffer address (0), length (8, u16), CSO (10), CMD (11), STA (12), CSS (13),
        /// special (14).
        static let transmitLength = 8
        static let transmitCommand = 11
        static let transmitStatus = 12
    }

    /// §3.2.3.1: receive status DD (descriptor done) and EOP (end of packet).
    enum ReceiveStatus {
        static let descriptorDone: UInt8 = 1 << 0
        static let endOfPacket: UInt8 = 1 << 1
    }

    /// §3.3.3.1: transmit command EOP, IFCS (insert FCS), RS (report status).
    enum TransmitCommand {
        static let endOfPacket: UInt8 = 1 << 0
        static let insertFCS: UInt8 = 1 << 1
        static let reportStatus: UInt8 = 1 << 3
    }

    /// §5.3.1, table 5-2: EEPROM words 0–2 hold the Ethernet address.
    static let eepromMACWords = 0..<3
}
