// DHCPv4 messages: RFC 2131 §2 (the BOOTP fixed fields of RFC 951 plus the magic cookie) and the
// option encoding of RFC 2132 §2, RFC 3396 (long options split into several instances) and
// RFC 2132 §9.3 (option overload into `file` and `sname`).
// - `DHCPView`: a zero-copy view over a received message (fixed fields, raw option areas);
// - `DHCPOptionReader`: walks one option area instance by instance;
// - `DHCPMessage`: the validated value, with `parse`, `emit(into:)` and `encodedLength`. Typed option
//   accessors live in DHCPOptions.swift.

public enum DHCPParseError: Error, Equatable, Sendable {
    /// Fewer than the 240 bytes of fixed fields and magic cookie.
    case truncated
    /// The four bytes after `file` are not 99.130.83.99 (RFC 2131 §3).
    case badMagicCookie
    /// `op` is neither BOOTREQUEST (1) nor BOOTREPLY (2).
    case badOpcode
    /// An option's length byte or data runs past the end of its area.
    case truncatedOption
    /// Option 52 is not one octet of 1, 2 or 3, or appears inside an overloaded field (RFC 2132 §9.3).
    case badOverload
}

/// `op` (RFC 2131 §2).
public enum DHCPOpcode: UInt8, Sendable {
    case bootRequest = 1
    case bootReply = 2
}

public struct DHCPView {
    public enum Field {
        public static let op = 0..<1
        public static let htype = 1..<2
        public static let hlen = 2..<3
        public static let hops = 3..<4
        public static let xid = 4..<8
        public static let secs = 8..<10
        public static let flags = 10..<12
        public static let ciaddr = 12..<16
        public static let yiaddr = 16..<20
        public static let siaddr = 20..<24
        public static let giaddr = 24..<28
        public static let chaddr = 28..<44
        public static let sname = 44..<108
        public static let file = 108..<236
        public static let magicCookie = 236..<240
    }
    /// Fixed fields plus the magic cookie; the options field follows.
    public static let headerLength = 240
    /// 99.130.83.99 (RFC 2131 §3, RFC 2132 §2).
    public static let magicCookie: UInt32 = 0x6382_5363
    /// RFC 2131 §2, flags: the leftmost bit is BROADCAST; the rest must be zero.
    public static let broadcastFlag: UInt16 = 0x8000

    public let bytes: UnsafeRawBufferPointer

    /// Views `bytes` as a DHCP message: at least 240 bytes ending the fixed part with the cookie.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= DHCPView.headerLength,
              bytes.getUInt32(at: Field.magicCookie.lowerBound) == DHCPView.magicCookie else { return nil }
        self.bytes = bytes
    }

    public var op: UInt8 { bytes.getUInt8(at: Field.op.lowerBound) }
    public var htype: UInt8 { bytes.getUInt8(at: Field.htype.lowerBound) }
    public var hlen: UInt8 { bytes.getUInt8(at: Field.hlen.lowerBound) }
    public var hops: UInt8 { bytes.getUInt8(at: Field.hops.lowerBound) }
    public var xid: UInt32 { bytes.getUInt32(at: Field.xid.lowerBound) }
    public var secs: UInt16 { bytes.getUInt16(at: Field.secs.lowerBound) }
    public var flags: UInt16 { bytes.getUInt16(at: Field.flags.lowerBound) }
    public var isBroadcast: Bool { flags & DHCPView.broadcastFlag != 0 }
    public var ciaddr: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.ciaddr.lowerBound)) }
    public var yiaddr: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.yiaddr.lowerBound)) }
    public var siaddr: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.siaddr.lowerBound)) }
    public var giaddr: IPv4Address { IPv4Address(bytes.getUInt32(at: Field.giaddr.lowerBound)) }
    /// All 16 bytes of `chaddr`; `hlen` says how many are meaningful.
    public var chaddr: UnsafeRawBufferPointer { bytes.slice(Field.chaddr) }
    public var sname: UnsafeRawBufferPointer { bytes.slice(Field.sname) }
    public var file: UnsafeRawBufferPointer { bytes.slice(Field.file) }
    /// The options field: everything after the magic cookie (END and padding included).
    public var options: UnsafeRawBufferPointer { bytes.suffix(from: DHCPView.headerLength) }
}

/// Walks one option area (the options field, or an overloaded `file`/`sname`), RFC 2132 §2:
/// PAD (0) is skipped, END (255) stops the walk, every other option is code, length, data.
/// Every call consumes at least one byte, so a walk takes at most `area.count` steps.
public struct DHCPOptionReader {
    private var cursor: ByteCursor
    private var ended = false

    public init(_ area: UnsafeRawBufferPointer) {
        cursor = ByteCursor(area)
    }

    /// The next option instance, nil after END or at the end of the area (a missing END is
    /// tolerated); throws `.truncatedOption` when a length byte or the data is cut off.
    public mutating func next() throws(DHCPParseError) -> (code: UInt8, data: UnsafeRawBufferPointer)? {
        while !ended, let code = cursor.readUInt8() {
            if code == DHCPOptionCode.pad { continue }
            if code == DHCPOptionCode.end { ended = true; break }
            guard let length = cursor.readUInt8(), let data = cursor.readBytes(Int(length)) else {
                throw .truncatedOption
            }
            return (code, data)
        }
        ended = true
        return nil
    }
}

/// One option after RFC 3396 concatenation: all instances of `code`, data joined in order.
public struct DHCPOption: Equatable, Sendable {
    public var code: UInt8
    public var data: [UInt8]

    public init(code: UInt8, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

public struct DHCPMessage: Equatable, Sendable {
    public var op: DHCPOpcode
    /// Hardware type (1 = Ethernet) and address length (6 for Ethernet).
    public var htype: UInt8
    public var hlen: UInt8
    public var hops: UInt8
    public var xid: UInt32
    public var secs: UInt16
    /// Raw flags; `isBroadcast` is the BROADCAST bit.
    public var flags: UInt16
    public var ciaddr: IPv4Address
    public var yiaddr: IPv4Address
    public var siaddr: IPv4Address
    public var giaddr: IPv4Address
    /// Up to 16 bytes, zero-padded on emit. Parsed messages hold all 16.
    public var chaddr: [UInt8]
    /// Up to 64 bytes, zero-padded on emit. All zero after parsing when it carried options (overload 2, 3).
    public var sname: [UInt8]
    /// Up to 128 bytes, zero-padded on emit. All zero after parsing when it carried options (overload 1, 3).
    public var file: [UInt8]
    /// The options in order of first appearance, one entry per code (RFC 3396 concatenation),
    /// never PAD or END. Use `option(_:)`, `setOption(_:_:)` and the typed accessors.
    public var options: [DHCPOption]
    /// `emit` zero-pads after END to at least this many bytes: BOOTP's 300 (RFC 1542 §2.1) for new
    /// messages, the received length for parsed ones (so real messages re-emit byte for byte).
    public var minimumLength: Int

    public static let bootpMinimumLength = 300
    /// RFC 2131 §2: every client accepts an options field (magic cookie included) of 312 octets,
    /// a 548-byte message. With overload requested, `emit` fills the options field up to this
    /// before continuing in `file` and `sname`.
    public static let optionsFieldCapacity = 312

    public init(op: DHCPOpcode, htype: UInt8 = 1, hlen: UInt8 = 6, hops: UInt8 = 0, xid: UInt32,
                secs: UInt16 = 0, flags: UInt16 = 0,
                ciaddr: IPv4Address = .any, yiaddr: IPv4Address = .any,
                siaddr: IPv4Address = .any, giaddr: IPv4Address = .any,
                chaddr: [UInt8] = [UInt8](repeating: 0, count: 16),
                sname: [UInt8] = [UInt8](repeating: 0, count: 64),
                file: [UInt8] = [UInt8](repeating: 0, count: 128),
                options: [DHCPOption] = [],
                minimumLength: Int = DHCPMessage.bootpMinimumLength) {
        self.op = op
        self.htype = htype
        self.hlen = hlen
        self.hops = hops
        self.xid = xid
        self.secs = secs
        self.flags = flags
        self.ciaddr = ciaddr
        self.yiaddr = yiaddr
        self.siaddr = siaddr
        self.giaddr = giaddr
        self.chaddr = chaddr
        self.sname = sname
        self.file = file
        self.options = options
        self.minimumLength = minimumLength
    }

    /// A message from an Ethernet client: htype 1, hlen 6, `chaddr` = the MAC and ten zeros.
    public init(op: DHCPOpcode, xid: UInt32, clientMAC: MACAddress) {
        self.init(op: op, xid: xid, chaddr: clientMAC.bytes + [UInt8](repeating: 0, count: 10))
    }

    public var isBroadcast: Bool {
        get { flags & DHCPView.broadcastFlag != 0 }
        set { flags = newValue ? flags | DHCPView.broadcastFlag : flags & ~DHCPView.broadcastFlag }
    }

    /// `chaddr` as a MAC address when htype is Ethernet and hlen is 6.
    public var clientMAC: MACAddress? {
        guard htype == 1, hlen == 6, chaddr.count >= 6 else { return nil }
        return MACAddress(chaddr[0], chaddr[1], chaddr[2], chaddr[3], chaddr[4], chaddr[5])
    }

    // MARK: Options by code

    /// The (concatenated) data of option `code`, nil if absent.
    public func option(_ code: UInt8) -> [UInt8]? {
        for option in options where option.code == code { return option.data }
        return nil
    }

    /// Replaces the data of option `code` in place, or appends it.
    public mutating func setOption(_ code: UInt8, _ data: [UInt8]) {
        precondition(code != DHCPOptionCode.pad && code != DHCPOptionCode.end, "PAD and END are not options")
        for i in options.indices where options[i].code == code {
            options[i].data = data
            return
        }
        options.append(DHCPOption(code: code, data: data))
    }

    public mutating func removeOption(_ code: UInt8) {
        options.removeAll { $0.code == code }
    }

    // MARK: Parse

    /// Parses a message (the UDP payload). Options from the options field, then `file`, then `sname`
    /// when option 52 asks for it (RFC 2131 §4.1), with all instances of a code concatenated in that
    /// order (RFC 3396 §5).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DHCPParseError) -> DHCPMessage {
        guard bytes.count >= DHCPView.headerLength else { throw .truncated }
        guard let view = DHCPView(bytes) else { throw .badMagicCookie }
        guard let op = DHCPOpcode(rawValue: view.op) else { throw .badOpcode }

        var collector = DHCPOptionCollector()
        try collector.read(view.options, overloadAllowed: true)
        var overload: UInt8 = 0
        if let data = collector.data(DHCPOptionCode.overload) {
            // RFC 2132 §9.3: length 1, value 1 (file), 2 (sname) or 3 (both).
            guard data.count == 1, data[0] >= 1, data[0] <= 3 else { throw .badOverload }
            overload = data[0]
        }
        let zeros64 = [UInt8](repeating: 0, count: 64)
        let zeros128 = [UInt8](repeating: 0, count: 128)
        var file = Array(view.file)
        var sname = Array(view.sname)
        if overload & DHCPOverload.file != 0 {
            try collector.read(view.file, overloadAllowed: false)
            file = zeros128
        }
        if overload & DHCPOverload.sname != 0 {
            try collector.read(view.sname, overloadAllowed: false)
            sname = zeros64
        }
        return DHCPMessage(
            op: op, htype: view.htype, hlen: view.hlen, hops: view.hops, xid: view.xid,
            secs: view.secs, flags: view.flags,
            ciaddr: view.ciaddr, yiaddr: view.yiaddr, siaddr: view.siaddr, giaddr: view.giaddr,
            chaddr: Array(view.chaddr), sname: sname, file: file,
            options: collector.options, minimumLength: bytes.count)
    }

    // MARK: Emit

    /// Bytes `emit` writes: header, options, END, zero padding up to `minimumLength`.
    public var encodedLength: Int {
        let layout = DHCPOptionLayout(options)
        return Swift.max(DHCPView.headerLength + layout.optionsFieldLength + 1, minimumLength)
    }

    /// Writes the message to the start of `out` (`encodedLength` bytes). Every option is written as
    /// instances of at most 255 data bytes (RFC 3396 §4). When option 52 holds 1, 2 or 3 the options
    /// field is filled up to `optionsFieldCapacity` and later options continue in `file`, then
    /// `sname` (each ended by END and padded); the fixed `file`/`sname` contents are then not
    /// written. Anything that does not fit there stays in the options field.
    public func emit(into out: UnsafeMutableRawBufferPointer) {
        let layout = DHCPOptionLayout(options)
        let length = Swift.max(DHCPView.headerLength + layout.optionsFieldLength + 1, minimumLength)
        precondition(out.count >= length, "DHCP emit buffer too small")
        precondition(chaddr.count <= 16 && sname.count <= 64 && file.count <= 128, "DHCP fixed field too long")
        typealias F = DHCPView.Field
        out.setUInt8(op.rawValue, at: F.op.lowerBound)
        out.setUInt8(htype, at: F.htype.lowerBound)
        out.setUInt8(hlen, at: F.hlen.lowerBound)
        out.setUInt8(hops, at: F.hops.lowerBound)
        out.setUInt32(xid, at: F.xid.lowerBound)
        out.setUInt16(secs, at: F.secs.lowerBound)
        out.setUInt16(flags, at: F.flags.lowerBound)
        out.setUInt32(ciaddr.value, at: F.ciaddr.lowerBound)
        out.setUInt32(yiaddr.value, at: F.yiaddr.lowerBound)
        out.setUInt32(siaddr.value, at: F.siaddr.lowerBound)
        out.setUInt32(giaddr.value, at: F.giaddr.lowerBound)
        DHCPMessage.writePadded(chaddr, into: out.slice(F.chaddr))
        if layout.overload & DHCPOverload.sname != 0 {
            writeArea(layout, layout.snameInstances, into: out.slice(F.sname))
        } else {
            DHCPMessage.writePadded(sname, into: out.slice(F.sname))
        }
        if layout.overload & DHCPOverload.file != 0 {
            writeArea(layout, layout.fileInstances, into: out.slice(F.file))
        } else {
            DHCPMessage.writePadded(file, into: out.slice(F.file))
        }
        out.setUInt32(DHCPView.magicCookie, at: F.magicCookie.lowerBound)
        writeArea(layout, layout.optionsFieldInstances,
                  into: out.slice(DHCPView.headerLength..<length))
    }

    /// Writes `bytes`, then zeros to the end of `field`.
    private static func writePadded(_ bytes: [UInt8], into field: UnsafeMutableRawBufferPointer) {
        var writer = ByteWriter(field)
        writer.writeBytes(bytes)
        writer.writeZeros(writer.writableBytes)
    }

    /// Writes the instances in `range` of the layout, END, then zeros to the end of `area`.
    private func writeArea(_ layout: DHCPOptionLayout, _ range: Range<Int>,
                           into area: UnsafeMutableRawBufferPointer) {
        var writer = ByteWriter(area)
        for instance in layout.instances[range] {
            let data = options[instance.option].data
            writer.writeUInt8(options[instance.option].code)
            writer.writeUInt8(UInt8(instance.count))
            data.withUnsafeBytes { writer.writeBytes($0.slice(instance.start..<instance.start + instance.count)) }
        }
        writer.writeUInt8(DHCPOptionCode.end)
        writer.writeZeros(writer.writableBytes)
    }
}

/// Bits of the option overload value (RFC 2132 §9.3).
enum DHCPOverload {
    static let file: UInt8 = 1
    static let sname: UInt8 = 2
}

/// Gathers option instances into one entry per code, in order of first appearance (RFC 3396 §5).
private struct DHCPOptionCollector {
    var options: [DHCPOption] = []
    /// Index into `options` per code, -1 when not seen yet.
    var index = [Int](repeating: -1, count: 256)

    mutating func read(_ area: UnsafeRawBufferPointer, overloadAllowed: Bool) throws(DHCPParseError) {
        var reader = DHCPOptionReader(area)
        while let instance = try reader.next() {
            let code = instance.code
            // RFC 2131 §4.1: option 52 must be in the options field.
            if !overloadAllowed && code == DHCPOptionCode.overload { throw .badOverload }
            let i = index[Int(code)]
            if i >= 0 {
                options[i].data.append(contentsOf: instance.data)
            } else {
                index[Int(code)] = options.count
                options.append(DHCPOption(code: code, data: Array(instance.data)))
            }
        }
    }

    func data(_ code: UInt8) -> [UInt8]? {
        let i = index[Int(code)]
        return i >= 0 ? options[i].data : nil
    }
}

/// Where `emit` puts each option instance: instances `0..<fileStart` in the options field, then
/// `file`, then `sname`.
private struct DHCPOptionLayout {
    struct Instance {
        var option: Int
        var start: Int
        var count: Int
        var encodedLength: Int { 2 + count }
    }
    var instances: [Instance] = []
    var overload: UInt8 = 0
    var fileStart = 0
    var snameStart = 0
    /// Bytes of option instances in the options field, END excluded.
    var optionsFieldLength = 0

    var optionsFieldInstances: Range<Int> { 0..<fileStart }
    var fileInstances: Range<Int> { fileStart..<snameStart }
    var snameInstances: Range<Int> { snameStart..<instances.count }

    init(_ options: [DHCPOption]) {
        var overloadIndex = -1
        for (i, option) in options.enumerated() {
            precondition(option.code != DHCPOptionCode.pad && option.code != DHCPOptionCode.end,
                         "PAD and END are not options")
            if option.code == DHCPOptionCode.overload {
                overloadIndex = instances.count
                if option.data.count == 1, option.data[0] >= 1, option.data[0] <= 3 { overload = option.data[0] }
            }
            // RFC 3396 §4: split into instances of at most 255 bytes; an empty option is one instance.
            var start = 0
            repeat {
                let count = Swift.min(255, option.data.count - start)
                instances.append(Instance(option: i, start: start, count: count))
                start += count
            } while start < option.data.count
        }
        fileStart = instances.count
        snameStart = instances.count
        var fieldLength = 0
        for instance in instances { fieldLength += instance.encodedLength }
        optionsFieldLength = fieldLength
        guard overload != 0 else { return }

        // Options field first, at least up to and including option 52 (RFC 2131 §4.1: it must be
        // there), then within its capacity; then `file`, then `sname`, each keeping one byte for END.
        var k = 0
        var used = 0
        while k < instances.count,
              k <= overloadIndex || used + instances[k].encodedLength <= DHCPMessage.optionsFieldCapacity - 4 - 1 {
            used += instances[k].encodedLength
            k += 1
        }
        let fieldEnd = k
        if overload & DHCPOverload.file != 0 {
            var fileUsed = 0
            while k < instances.count, fileUsed + instances[k].encodedLength <= 128 - 1 {
                fileUsed += instances[k].encodedLength
                k += 1
            }
        }
        let fileEnd = k
        if overload & DHCPOverload.sname != 0 {
            var snameUsed = 0
            while k < instances.count, snameUsed + instances[k].encodedLength <= 64 - 1 {
                snameUsed += instances[k].encodedLength
                k += 1
            }
        }
        // What does not fit in the overloaded fields stays in the options field (order must hold:
        // options field, file, sname), so the fields then carry only END.
        guard k == instances.count else { return }
        fileStart = fieldEnd
        snameStart = fileEnd
        optionsFieldLength = used
    }
}
