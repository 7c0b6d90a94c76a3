// Ethernet II framing (IEEE 802.3 clause 3.2.6 "Length/Type") with IEEE 802.1Q VLAN tags and an
// IEEE 802.1ad (Q-in-Q) service tag in front of them. The frame check sequence is not included:
// devices strip it on receive and add it on transmit.
//
//   destination(6) source(6) [TPID(2) TCI(2)]{0,2} EtherType(2) payload...

/// EtherType values (IEEE Registration Authority).
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    /// IEEE 802.1Q customer VLAN tag.
    public static let vlan: UInt16 = 0x8100
    /// IEEE 802.1ad service VLAN tag (the outer tag of Q-in-Q).
    public static let qinq: UInt16 = 0x88a8
    public static let ipv6: UInt16 = 0x86dd

    /// True for the tag protocol identifiers this parser walks through.
    @inline(__always)
    public static func isVLANTag(_ type: UInt16) -> Bool { type == vlan || type == qinq }
}

/// One VLAN tag: the tag protocol identifier and the tag control information (IEEE 802.1Q §9.6:
/// priority code point 3 bits, drop eligible indicator 1 bit, VLAN identifier 12 bits).
public struct VLANTag: Equatable, Sendable {
    /// `EtherType.vlan` (802.1Q) or `EtherType.qinq` (802.1ad).
    public var tpid: UInt16
    /// Priority code point, 0...7.
    public var priority: UInt8
    public var dropEligible: Bool
    /// VLAN identifier, 0...4095 (0: priority tag only; 4095 reserved).
    public var vlanID: UInt16

    public init(tpid: UInt16 = EtherType.vlan, priority: UInt8 = 0, dropEligible: Bool = false,
                vlanID: UInt16) {
        self.tpid = tpid
        self.priority = priority
        self.dropEligible = dropEligible
        self.vlanID = vlanID
    }

    /// Decodes a tag from its TPID and TCI.
    public init(tpid: UInt16, tci: UInt16) {
        self.tpid = tpid
        priority = UInt8(truncatingIfNeeded: tci >> 13)
        dropEligible = tci & 0x1000 != 0
        vlanID = tci & 0x0fff
    }

    /// The tag control information as sent (out-of-range fields are masked to their widths).
    public var tci: UInt16 {
        UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | (vlanID & 0x0fff)
    }

    public static let encodedLength = 4
}

public enum EthernetParseError: Error, Equatable, Sendable {
    /// Fewer bytes than the addresses, the tags announced and the EtherType need.
    case truncated
}

/// A zero-copy view of an Ethernet II frame (without FCS).
public struct EthernetView {
    public enum Field {
        public static let destination = 0..<6
        public static let source = 6..<12
        /// The EtherType of an untagged frame, or the TPID of the first tag.
        public static let typeOrTPID = 12..<14
    }
    /// The most tags walked: an 802.1ad outer tag and an 802.1Q inner tag. A third TPID after
    /// these is reported as the EtherType (and upper layers ignore it).
    public static let maximumTags = 2

    public let bytes: UnsafeRawBufferPointer
    /// Number of VLAN tags present, 0...2.
    public let tagCount: Int

    /// Views `bytes` as a frame: 14 bytes, plus 4 for each VLAN tag announced.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= EthernetHeader.headerLength else { return nil }
        var tags = 0
        // Bounded by maximumTags; each step checks that the tag and the next type field fit.
        while tags < EthernetView.maximumTags,
              EtherType.isVLANTag(bytes.getUInt16(at: 12 + tags * VLANTag.encodedLength)) {
            tags += 1
            guard bytes.count >= EthernetHeader.headerLength + tags * VLANTag.encodedLength else {
                return nil
            }
        }
        self.bytes = bytes
        tagCount = tags
    }

    public var destination: MACAddress { MACAddress(bytes, at: Field.destination.lowerBound) }
    public var source: MACAddress { MACAddress(bytes, at: Field.source.lowerBound) }

    /// The tags outermost first.
    public var vlanTags: [VLANTag] {
        var tags: [VLANTag] = []
        for i in 0..<tagCount {
            let offset = 12 + i * VLANTag.encodedLength
            tags.append(VLANTag(tpid: bytes.getUInt16(at: offset), tci: bytes.getUInt16(at: offset + 2)))
        }
        return tags
    }

    /// The innermost VLAN identifier, or nil for an untagged frame (no allocation).
    public var vlanID: UInt16? {
        guard tagCount > 0 else { return nil }
        return bytes.getUInt16(at: 12 + (tagCount - 1) * VLANTag.encodedLength + 2) & 0x0fff
    }

    /// The EtherType after the tags.
    public var etherType: UInt16 { bytes.getUInt16(at: headerLength - 2) }
    public var headerLength: Int { EthernetHeader.headerLength + tagCount * VLANTag.encodedLength }
    /// Everything after the header, including any link padding (the layer above trims it).
    public var payload: UnsafeRawBufferPointer { bytes.suffix(from: headerLength) }
}

public struct EthernetHeader: Equatable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    /// Outermost first: at most an 802.1ad tag then an 802.1Q tag.
    public var vlanTags: [VLANTag]
    public var etherType: UInt16

    /// Length of an untagged header.
    public static let headerLength = 14

    public init(destination: MACAddress, source: MACAddress, etherType: UInt16,
                vlanTags: [VLANTag] = []) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.vlanTags = vlanTags
    }

    public init(_ view: EthernetView) {
        self.init(destination: view.destination, source: view.source, etherType: view.etherType,
                  vlanTags: view.vlanTags)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(EthernetParseError) -> EthernetHeader {
        guard let view = EthernetView(bytes) else { throw .truncated }
        return EthernetHeader(view)
    }

    public var encodedLength: Int { EthernetHeader.headerLength + vlanTags.count * VLANTag.encodedLength }

    /// Writes the header at the start of `out`.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= encodedLength, "Ethernet emit buffer too small")
        var writer = ByteWriter(out)
        writer.writeBytes(destination.bytes)
        writer.writeBytes(source.bytes)
        for tag in vlanTags {
            writer.writeUInt16(tag.tpid)
            writer.writeUInt16(tag.tci)
        }
        writer.writeUInt16(etherType)
    }

    /// Prepends this header to the payload in `packet`. Padding to the 60-byte minimum frame is
    /// the device's job.
    public func prepend(to packet: inout PacketBuffer) {
        packet.prepend(encodedLength)
        packet.withUnsafeMutableReadableBytes { emit(into: $0) }
    }
}
