// ARP, RFC 826, for Ethernet hardware addresses and IPv4 protocol addresses only (the only pair
// Skiff resolves). Layout for that pair, 28 bytes:
//
//   htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2) sha(6) spa(4) tha(6) tpa(4)

public enum ARPOperation: UInt16, Sendable {
    case request = 1
    case reply = 2
}

public enum ARPParseError: Error, Equatable, Sendable {
    /// Fewer than 28 bytes.
    case truncated
    /// Hardware type not Ethernet (1) or hardware address length not 6.
    case unsupportedHardware
    /// Protocol type not IPv4 (0x0800) or protocol address length not 4.
    case unsupportedProtocol
    /// Operation other than request (1) or reply (2), e.g. RARP (RFC 903).
    case unsupportedOperation
}

public struct ARPView {
    public enum Field {
        public static let hardwareType = 0..<2
        public static let protocolType = 2..<4
        public static let hardwareLength = 4..<5
        public static let protocolLength = 5..<6
        public static let operation = 6..<8
        public static let senderMAC = 8..<14
        public static let senderIP = 14..<18
        public static let targetMAC = 18..<24
        public static let targetIP = 24..<28
    }
    /// RFC 826 "ar$hrd" for Ethernet (IANA ARP parameters).
    public static let hardwareTypeEthernet: UInt16 = 1

    public let bytes: UnsafeRawBufferPointer
    public let operation: ARPOperation

    /// Views an Ethernet/IPv4 ARP packet; nil for anything else. Trailing bytes (the padding of a
    /// minimum-size frame) are excluded from `bytes`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard (try? ARPView.validate(bytes)) != nil,
              let operation = ARPOperation(rawValue: bytes.getUInt16(at: Field.operation.lowerBound))
        else { return nil }
        self.bytes = bytes.slice(0..<ARPPacket.encodedLength)
        self.operation = operation
    }

    /// The checks of `init?`, with the reason for a rejection.
    static func validate(_ bytes: UnsafeRawBufferPointer) throws(ARPParseError) {
        guard bytes.count >= ARPPacket.encodedLength else { throw .truncated }
        guard bytes.getUInt16(at: Field.hardwareType.lowerBound) == hardwareTypeEthernet,
              bytes.getUInt8(at: Field.hardwareLength.lowerBound) == 6
        else { throw .unsupportedHardware }
        guard bytes.getUInt16(at: Field.protocolType.lowerBound) == EtherType.ipv4,
              bytes.getUInt8(at: Field.protocolLength.lowerBound) == 4
        else { throw .unsupportedProtocol }
        guard ARPOperation(rawValue: bytes.getUInt16(at: Field.operation.lowerBound)) != nil
        else { throw .unsupportedOperation }
    }

    public var senderMAC: MACAddress { MACAddress(bytes, at: Field.senderMAC.lowerBound) }
    public var senderIP: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.senderIP.lowerBound)) }
    public var targetMAC: MACAddress { MACAddress(bytes, at: Field.targetMAC.lowerBound) }
    public var targetIP: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.targetIP.lowerBound)) }

    /// A gratuitous ARP announces the sender's own binding (RFC 5227 §1.1): sender IP == target IP.
    public var isGratuitous: Bool { senderIP == targetIP }
}

public struct ARPPacket: Equatable, Sendable {
    public var operation: ARPOperation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public static let encodedLength = 28

    public init(operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    public init(_ view: ARPView) {
        self.init(operation: view.operation, senderMAC: view.senderMAC, senderIP: view.senderIP,
                  targetMAC: view.targetMAC, targetIP: view.targetIP)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ARPParseError) -> ARPPacket {
        try ARPView.validate(bytes)
        guard let view = ARPView(bytes) else { throw .truncated }  // unreachable after validate
        return ARPPacket(view)
    }

    /// Writes the 28 bytes at the start of `out`.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= ARPPacket.encodedLength, "ARP emit buffer too small")
        var writer = ByteWriter(out)
        writer.writeUInt16(ARPView.hardwareTypeEthernet)
        writer.writeUInt16(EtherType.ipv4)
        writer.writeUInt8(6)
        writer.writeUInt8(4)
        writer.writeUInt16(operation.rawValue)
        writer.writeBytes(senderMAC.bytes)
        writer.writeUInt32(senderIP.value)
        writer.writeBytes(targetMAC.bytes)
        writer.writeUInt32(targetIP.value)
    }

    /// Prepends the packet to `packet` (normally empty); an Ethernet header goes in front next.
    public func prepend(to packet: inout PacketBuffer) {
        packet.prepend(ARPPacket.encodedLength)
        packet.withUnsafeMutableReadableBytes { emit(into: $0) }
    }
}
