// DHCP option codes (RFC 2132 and later), the message type, typed accessors on `DHCPMessage` for
// what a client needs, and the domain search list codec (RFC 3397). Classless static routes
// (RFC 3442) are in DHCPClasslessRoutes.swift.
//
// Getters return nil when the option is absent or its data has the wrong length for its type;
// setters replace the option in place (keeping its position) or append it, and nil removes it.

/// Option codes (IANA "BOOTP Vendor Extensions and DHCP Options").
public enum DHCPOptionCode {
    public static let pad: UInt8 = 0                    // RFC 2132 §3.1
    public static let subnetMask: UInt8 = 1             // RFC 2132 §3.3
    public static let router: UInt8 = 3                 // RFC 2132 §3.5
    public static let domainNameServer: UInt8 = 6       // RFC 2132 §3.8
    public static let hostName: UInt8 = 12              // RFC 2132 §3.14
    public static let domainName: UInt8 = 15            // RFC 2132 §3.17
    public static let interfaceMTU: UInt8 = 26          // RFC 2132 §5.1
    public static let broadcastAddress: UInt8 = 28      // RFC 2132 §5.3
    public static let requestedIPAddress: UInt8 = 50    // RFC 2132 §9.1
    public static let leaseTime: UInt8 = 51             // RFC 2132 §9.2
    public static let overload: UInt8 = 52              // RFC 2132 §9.3
    public static let messageType: UInt8 = 53           // RFC 2132 §9.6
    public static let serverIdentifier: UInt8 = 54      // RFC 2132 §9.7
    public static let parameterRequestList: UInt8 = 55  // RFC 2132 §9.8
    public static let message: UInt8 = 56               // RFC 2132 §9.9
    public static let maximumMessageSize: UInt8 = 57    // RFC 2132 §9.10
    public static let renewalTime: UInt8 = 58           // RFC 2132 §9.11 (T1)
    public static let rebindingTime: UInt8 = 59         // RFC 2132 §9.12 (T2)
    public static let vendorClassIdentifier: UInt8 = 60 // RFC 2132 §9.13
    public static let clientIdentifier: UInt8 = 61      // RFC 2132 §9.14
    public static let domainSearch: UInt8 = 119         // RFC 3397
    public static let classlessStaticRoute: UInt8 = 121 // RFC 3442
    public static let end: UInt8 = 255                  // RFC 2132 §3.2
}

/// Option 53 (RFC 2132 §9.6).
public enum DHCPMessageType: UInt8, Sendable {
    case discover = 1
    case offer = 2
    case request = 3
    case decline = 4
    case ack = 5
    case nak = 6
    case release = 7
    case inform = 8
}

extension DHCPMessage {
    public var messageType: DHCPMessageType? {
        get {
            guard let data = option(DHCPOptionCode.messageType), data.count == 1 else { return nil }
            return DHCPMessageType(rawValue: data[0])
        }
        set { setOrRemove(DHCPOptionCode.messageType, newValue.map { [$0.rawValue] }) }
    }

    public var subnetMask: IPv4Address? {
        get { address(DHCPOptionCode.subnetMask) }
        set { setOrRemove(DHCPOptionCode.subnetMask, newValue?.bytes) }
    }

    /// Option 3, in order of preference.
    public var routers: [IPv4Address]? {
        get { addresses(DHCPOptionCode.router) }
        set { setOrRemove(DHCPOptionCode.router, newValue.map(DHCPMessage.encodeAddresses)) }
    }

    /// Option 6, in order of preference.
    public var domainNameServers: [IPv4Address]? {
        get { addresses(DHCPOptionCode.domainNameServer) }
        set { setOrRemove(DHCPOptionCode.domainNameServer, newValue.map(DHCPMessage.encodeAddresses)) }
    }

    public var hostName: String? {
        get { text(DHCPOptionCode.hostName) }
        set { setOrRemove(DHCPOptionCode.hostName, newValue.map { Array($0.utf8) }) }
    }

    public var domainName: String? {
        get { text(DHCPOptionCode.domainName) }
        set { setOrRemove(DHCPOptionCode.domainName, newValue.map { Array($0.utf8) }) }
    }

    /// Option 26 as sent (RFC 2132 §5.1 sets a minimum of 68; the caller checks).
    public var interfaceMTU: UInt16? {
        get {
            guard let data = option(DHCPOptionCode.interfaceMTU), data.count == 2 else { return nil }
            return UInt16(data[0]) << 8 | UInt16(data[1])
        }
        set { setOrRemove(DHCPOptionCode.interfaceMTU, newValue.map { [UInt8($0 >> 8), UInt8($0 & 0xff)] }) }
    }

    public var broadcastAddress: IPv4Address? {
        get { address(DHCPOptionCode.broadcastAddress) }
        set { setOrRemove(DHCPOptionCode.broadcastAddress, newValue?.bytes) }
    }

    public var requestedIPAddress: IPv4Address? {
        get { address(DHCPOptionCode.requestedIPAddress) }
        set { setOrRemove(DHCPOptionCode.requestedIPAddress, newValue?.bytes) }
    }

    /// Seconds; 0xffffffff means infinity (RFC 2131 §3.3).
    public var leaseTime: UInt32? {
        get { uint32(DHCPOptionCode.leaseTime) }
        set { setOrRemove(DHCPOptionCode.leaseTime, newValue.map(DHCPMessage.encodeUInt32)) }
    }

    /// Option 52: 1 = `file` holds options, 2 = `sname`, 3 = both. Setting it makes `emit` use
    /// those fields once the options field is full.
    public var overload: UInt8? {
        get {
            guard let data = option(DHCPOptionCode.overload), data.count == 1 else { return nil }
            return data[0]
        }
        set { setOrRemove(DHCPOptionCode.overload, newValue.map { [$0] }) }
    }

    public var serverIdentifier: IPv4Address? {
        get { address(DHCPOptionCode.serverIdentifier) }
        set { setOrRemove(DHCPOptionCode.serverIdentifier, newValue?.bytes) }
    }

    /// Option 55: the codes the client asks for, in its order of preference.
    public var parameterRequestList: [UInt8]? {
        get { option(DHCPOptionCode.parameterRequestList) }
        set { setOrRemove(DHCPOptionCode.parameterRequestList, newValue) }
    }

    /// T1, seconds (RFC 2131 §4.4.5).
    public var renewalTime: UInt32? {
        get { uint32(DHCPOptionCode.renewalTime) }
        set { setOrRemove(DHCPOptionCode.renewalTime, newValue.map(DHCPMessage.encodeUInt32)) }
    }

    /// T2, seconds (RFC 2131 §4.4.5).
    public var rebindingTime: UInt32? {
        get { uint32(DHCPOptionCode.rebindingTime) }
        set { setOrRemove(DHCPOptionCode.rebindingTime, newValue.map(DHCPMessage.encodeUInt32)) }
    }

    /// Option 61 as sent: a type octet (1 = Ethernet) then the identifier (RFC 2132 §9.14).
    public var clientIdentifier: [UInt8]? {
        get { option(DHCPOptionCode.clientIdentifier) }
        set { setOrRemove(DHCPOptionCode.clientIdentifier, newValue) }
    }

    /// Option 119 decoded (RFC 3397); nil if absent or malformed.
    public var domainSearch: [String]? {
        guard let data = option(DHCPOptionCode.domainSearch) else { return nil }
        return DHCPDomainSearch.decode(data)
    }

    /// Sets option 119 from names (compressed); false, changing nothing, if a name is invalid.
    @discardableResult
    public mutating func setDomainSearch(_ names: [String]) -> Bool {
        guard let data = DHCPDomainSearch.encode(names) else { return false }
        setOption(DHCPOptionCode.domainSearch, data)
        return true
    }

    /// Option 121 decoded (RFC 3442); nil if absent or malformed.
    public var classlessStaticRoutes: [DHCPClasslessRoute]? {
        get {
            guard let data = option(DHCPOptionCode.classlessStaticRoute) else { return nil }
            return DHCPClasslessRoute.decode(data)
        }
        set { setOrRemove(DHCPOptionCode.classlessStaticRoute, newValue.map(DHCPClasslessRoute.encode)) }
    }

    // MARK: Helpers

    private mutating func setOrRemove(_ code: UInt8, _ data: [UInt8]?) {
        if let data { setOption(code, data) } else { removeOption(code) }
    }

    private func address(_ code: UInt8) -> IPv4Address? {
        guard let data = option(code), data.count == 4 else { return nil }
        return IPv4Address(data[0], data[1], data[2], data[3])
    }

    /// RFC 2132 §3.5: a list of addresses has a length that is a non-zero multiple of 4.
    private func addresses(_ code: UInt8) -> [IPv4Address]? {
        guard let data = option(code), data.count >= 4, data.count % 4 == 0 else { return nil }
        var result: [IPv4Address] = []
        var i = 0
        while i + 4 <= data.count {
            result.append(IPv4Address(data[i], data[i + 1], data[i + 2], data[i + 3]))
            i += 4
        }
        return result
    }

    private func uint32(_ code: UInt8) -> UInt32? {
        guard let data = option(code), data.count == 4 else { return nil }
        return UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
    }

    /// NVT ASCII text; RFC 2132 §2: the receiver deletes trailing NULs.
    private func text(_ code: UInt8) -> String? {
        guard var data = option(code) else { return nil }
        while data.last == 0 { data.removeLast() }
        return String(decoding: data, as: UTF8.self)
    }

    private static func encodeAddresses(_ addresses: [IPv4Address]) -> [UInt8] {
        var data: [UInt8] = []
        for address in addresses { data.append(contentsOf: address.bytes) }
        return data
    }

    private static func encodeUInt32(_ value: UInt32) -> [UInt8] {
        IPv4Address(value).bytes
    }
}

/// The domain search option (RFC 3397 §2): a sequence of DNS names in RFC 1035 §3.1 wire form, with
/// RFC 1035 §4.1.4 compression pointers whose offsets count from the first byte of the option data
/// (after RFC 3396 concatenation).
public enum DHCPDomainSearch {
    /// RFC 1035 §2.3.4: a name is at most 255 octets in wire form (length bytes and root included).
    public static let maximumNameLength = 255
    /// RFC 1035 §2.3.4: a label is at most 63 octets.
    public static let maximumLabelLength = 63

    /// The names, written with dots and no trailing dot (the root is ""); nil for a truncated name,
    /// a reserved label type, a name longer than 255 octets once expanded, or a pointer that does not
    /// point strictly before the labels being read (which also rules out every loop).
    public static func decode(_ data: [UInt8]) -> [String]? {
        var names: [String] = []
        var position = 0
        // Each name consumes at least one byte, so this loop takes at most data.count steps.
        while position < data.count {
            guard let decoded = decodeName(data, at: position) else { return nil }
            names.append(decoded.name)
            position = decoded.next
        }
        return names
    }

    /// One name starting at `start`: the name and the offset just after it in the option data.
    private static func decodeName(_ data: [UInt8], at start: Int) -> (name: String, next: Int)? {
        var name = ""
        var position = start
        // Start of the run of labels being read; every pointer must go strictly before it, so it
        // decreases at each jump and the walk ends after at most `start` jumps.
        var segmentStart = start
        var next = -1
        var wireLength = 0
        while true {
            guard position < data.count else { return nil }
            let length = Int(data[position])
            switch length & 0xc0 {
            case 0x00:
                wireLength += 1 + length
                guard wireLength <= maximumNameLength else { return nil }
                if length == 0 {
                    if next < 0 { next = position + 1 }
                    return (name, next)
                }
                guard position + 1 + length <= data.count else { return nil }
                if !name.isEmpty { name += "." }
                name += String(decoding: data[(position + 1)..<(position + 1 + length)], as: UTF8.self)
                position += 1 + length
            case 0xc0:
                guard position + 1 < data.count else { return nil }
                let target = (length & 0x3f) << 8 | Int(data[position + 1])
                guard target < segmentStart else { return nil }
                if next < 0 { next = position + 2 }
                segmentStart = target
                position = target
            default:
                // 0x40 and 0x80: extended and reserved label types (RFC 6891 §5), not used here.
                return nil
            }
        }
    }

    /// Wire form of `names`, compressing repeated suffixes with pointers as servers do; nil if a
    /// name has an empty label (other than a single trailing dot), a label over 63 octets, or is
    /// over 255 octets.
    public static func encode(_ names: [String]) -> [UInt8]? {
        var out: [UInt8] = []
        // Offset of each suffix already written, keyed by its uncompressed wire form.
        var suffixes: [[UInt8]: Int] = [:]
        for name in names {
            guard let labels = splitLabels(name) else { return nil }
            var wireLength = 1
            for label in labels { wireLength += 1 + label.count }
            guard wireLength <= maximumNameLength else { return nil }
            var pointer: Int? = nil
            for i in labels.indices {
                var key: [UInt8] = []
                for label in labels[i...] {
                    key.append(UInt8(label.count))
                    key.append(contentsOf: label)
                }
                if let offset = suffixes[key] {
                    pointer = offset
                    break
                }
                // RFC 1035 §4.1.4: pointer offsets have 14 bits.
                if out.count < 0x4000 { suffixes[key] = out.count }
                out.append(UInt8(labels[i].count))
                out.append(contentsOf: labels[i])
            }
            if let offset = pointer {
                out.append(0xc0 | UInt8(offset >> 8))
                out.append(UInt8(offset & 0xff))
            } else {
                out.append(0)
            }
        }
        return out
    }

    private static func splitLabels(_ name: String) -> [[UInt8]]? {
        var bytes = Array(name.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty else { return [] }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !current.isEmpty else { return nil }
                labels.append(current)
                current = []
            } else {
                current.append(byte)
                guard current.count <= maximumLabelLength else { return nil }
            }
        }
        guard !current.isEmpty else { return nil }
        labels.append(current)
        return labels
    }
}
