import SkiffWire

// The Linux `ip=` parameter (Documentation/admin-guide/nfs/nfsroot.rst, "ip="):
//
//   ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>
//
// Any field may be empty and trailing fields may be left out. The value may also be only an
// autoconf word: `ip=off`, `ip=none` (no autoconfiguration), `ip=on`, `ip=any` (any protocol),
// `ip=dhcp`, `ip=bootp`, `ip=rarp`, `ip=both`. (A value without a colon is such a word when it
// starts with a letter, else the client field alone: `ip=198.18.0.10/24`.) An empty `ip=` and an
// empty autoconf field mean `off` when a client address is given (the fields are the
// configuration) and `any` when not, as in Linux.
//
// Skiff's rules, where Linux is silent or differs:
// - The client field may carry a prefix length, `198.18.0.10/24` (an extension); when the netmask
//   field is given too they must agree.
// - A static address (autoconf off) needs a netmask or a prefix length: Skiff does not guess the
//   classful mask Linux falls back to.
// - A netmask must be contiguous. `0.0.0.0` in an address field (client, server, gateway, netmask,
//   DNS, NTP) means the same as an empty field.
// - The client must be unicast (not 0/8, loopback, multicast or 240/4) and, for prefixes
//   shorter than 31, neither the network nor the broadcast address of its subnet. The gateway must
//   be inside that subnet and not the client itself.
// - The hostname is at most 64 bytes of letters, digits, `-` and `.`; the device name at most 15
//   bytes without `/`, `:` or white space (Linux `dev_valid_name`).
// - The device field may instead be a MAC written with dashes, `52-54-00-12-34-56` (a Skiff
//   extension): it selects the device with that MAC whatever its name. Being 17 bytes long it can
//   never be a device name, and dashes keep the colons free for the fields.
// - Autoconf words are matched without regard to ASCII case; an unknown word is an error, and so is
//   an eleventh field.
// - Several `ip=` parameters may be given, one per device; which device an `ip=` without a device
//   name configures is decided by `BootConfiguration` (see there).
// Skiff implements static configuration and DHCP; the other autoconf modes are recorded for the
// caller to decide about.

/// The `<autoconf>` field of `ip=`.
public enum IPAutoconf: Equatable, Sendable, CustomStringConvertible {
    /// `off` or `none`: no autoconfiguration. With a client address the fields are a static
    /// configuration; without one the device is left unconfigured.
    case off
    /// `on` or `any`: any protocol available (Linux: DHCP, BOOTP and RARP).
    case any
    case dhcp
    case bootp
    case rarp
    /// BOOTP and RARP.
    case both

    /// The word as written in `ip=` (`off`, `on`, `dhcp`…).
    public var description: String {
        switch self {
        case .off: return "off"
        case .any: return "on"
        case .dhcp: return "dhcp"
        case .bootp: return "bootp"
        case .rarp: return "rarp"
        case .both: return "both"
        }
    }

    /// The mode a word names, ignoring ASCII case; nil for another word.
    public init?(word: String) {
        var lower: [UInt8] = []
        for byte in word.utf8 {
            guard lower.count < 5 else { return nil }
            lower.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte)
        }
        func matches(_ candidate: StaticString) -> Bool {
            candidate.utf8CodeUnitCount == lower.count
                && candidate.withUTF8Buffer { $0.elementsEqual(lower) }
        }
        if matches("off") || matches("none") { self = .off }
        else if matches("on") || matches("any") { self = .any }
        else if matches("dhcp") { self = .dhcp }
        else if matches("bootp") { self = .bootp }
        else if matches("rarp") { self = .rarp }
        else if matches("both") { self = .both }
        else { return nil }
    }
}

/// One `ip=` parameter, checked.
public struct IPParameter: Equatable, Sendable {
    /// The autoconfiguration asked for, with the empty field resolved (see above).
    public var autoconf: IPAutoconf
    /// The client address, without its prefix length.
    public var address: IPv4Address?
    /// The prefix length, from the client's `/n` or the netmask field.
    public var prefixLength: Int?
    public var server: IPv4Address?
    public var gateway: IPv4Address?
    public var hostname: String?
    /// The device this parameter configures, by name; nil with `deviceMAC` nil: the first device
    /// no other `ip=` names.
    public var device: String?
    /// dns0 then dns1, the ones given.
    public var dnsServers: [IPv4Address]
    public var ntpServer: IPv4Address?
    /// Where the parameter's key starts (1-based byte column).
    public var column: Int
    /// Where the device field starts, when there is one.
    public var deviceColumn: Int?
    /// The device this parameter configures, by MAC (a device field `52-54-00-12-34-56`).
    public var deviceMAC: MACAddress?

    public init(autoconf: IPAutoconf, address: IPv4Address? = nil, prefixLength: Int? = nil,
                server: IPv4Address? = nil, gateway: IPv4Address? = nil, hostname: String? = nil,
                device: String? = nil, dnsServers: [IPv4Address] = [], ntpServer: IPv4Address? = nil,
                column: Int = 1, deviceColumn: Int? = nil, deviceMAC: MACAddress? = nil) {
        self.autoconf = autoconf
        self.address = address
        self.prefixLength = prefixLength
        self.server = server
        self.gateway = gateway
        self.hostname = hostname
        self.device = device
        self.dnsServers = dnsServers
        self.ntpServer = ntpServer
        self.column = column
        self.deviceColumn = deviceColumn
        self.deviceMAC = deviceMAC
    }

    /// True when the device field names a device (by name or by MAC).
    public var selectsDevice: Bool { device != nil || deviceMAC != nil }

    /// The device field as written: the name, or the MAC with dashes.
    public var deviceText: String? {
        if let device { return device }
        return deviceMAC.map { SkiffNetParameter.dashed($0) }
    }

    /// The client address with its prefix length, when both are known.
    public var interfaceAddress: IPv4CIDR? {
        guard let address, let prefixLength else { return nil }
        return IPv4CIDR(address: address, prefixLength: prefixLength)
    }

    /// True when the fields are the whole configuration: autoconf off with a client address.
    public var isStatic: Bool { autoconf == .off && address != nil }

    /// The value in canonical form, such that `ip=<text>` parses back to this parameter (columns
    /// aside): the short form when only the autoconf mode is set, else the fields with trailing
    /// empty ones left out and the prefix length on the client address.
    public var text: String {
        let hasFields = address != nil || server != nil || gateway != nil || hostname != nil
            || selectsDevice || !dnsServers.isEmpty || ntpServer != nil
        if !hasFields { return autoconf.description }
        let defaultAutoconf: IPAutoconf = address != nil ? .off : .any
        var fields: [String] = []
        if let address {
            fields.append(prefixLength.map { "\(address)/\($0)" } ?? address.description)
        } else {
            fields.append("")
        }
        fields.append(server?.description ?? "")
        fields.append(gateway?.description ?? "")
        fields.append("")  // the netmask is carried by the prefix length
        fields.append(hostname ?? "")
        fields.append(deviceText ?? "")
        fields.append(autoconf == defaultAutoconf ? "" : autoconf.description)
        fields.append(dnsServers.count > 0 ? dnsServers[0].description : "")
        fields.append(dnsServers.count > 1 ? dnsServers[1].description : "")
        fields.append(ntpServer?.description ?? "")
        while let last = fields.last, last.utf8.isEmpty { fields.removeLast() }
        return fields.joined(separator: ":")
    }

    /// Parses and checks the value of an `ip=` parameter. `valueColumn` is where `value` starts on
    /// the command line and `column` where the parameter does (for errors).
    public static func parse(_ value: String, column: Int = 1, valueColumn: Int = 4) throws(CommandLineError) -> IPParameter {
        let bytes = Array(value.utf8)
        let colon = UInt8(ascii: ":")

        // The short form: a word alone (a value starting with a letter and without a colon).
        if !bytes.contains(colon) {
            if bytes.isEmpty { return IPParameter(autoconf: .any, column: column) }
            if IPTextField.isLetter(bytes[0]) {
                guard let mode = IPAutoconf(word: value) else {
                    throw CommandLineError(column: valueColumn, problem: .unknownAutoconf(value))
                }
                return IPParameter(autoconf: mode, column: column)
            }
        }

        // The fields, each with the column it starts at.
        var fields: [IPTextField] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == colon {
            if fields.count == 10 {
                throw CommandLineError(column: valueColumn + start, problem: .tooManyFields)
            }
            fields.append(IPTextField(bytes: Array(bytes[start..<index]), column: valueColumn + start))
            start = index + 1
        }
        func field(_ number: Int) -> IPTextField? {
            number < fields.count && !fields[number].bytes.isEmpty ? fields[number] : nil
        }

        var result = IPParameter(autoconf: .any, column: column)
        var clientPrefix: Int? = nil
        if let client = field(0) {
            var addressBytes = client.bytes
            if let slash = client.bytes.firstIndex(of: UInt8(ascii: "/")) {
                addressBytes = Array(client.bytes[..<slash])
                let lengthBytes = Array(client.bytes[(slash + 1)...])
                guard let length = IPTextField.prefixLength(lengthBytes) else {
                    throw CommandLineError(column: client.column + slash,
                                           problem: .invalidPrefixLength(text: client.string(lengthBytes)))
                }
                clientPrefix = length
            }
            guard let address = IPv4Address(client.string(addressBytes)) else {
                throw CommandLineError(column: client.column, problem: .invalidAddress(.client, text: client.text))
            }
            if !address.isUnspecified { result.address = address }
        }
        result.server = try field(1)?.address(.server)
        result.gateway = try field(2)?.address(.gateway)
        var maskPrefix: Int? = nil
        if let maskField = field(3), let mask = try maskField.address(.netmask) {
            guard let length = IPv4CIDR.prefixLength(ofMask: mask) else {
                throw CommandLineError(column: maskField.column, problem: .nonContiguousNetmask(mask))
            }
            if let clientPrefix, clientPrefix != length {
                throw CommandLineError(column: maskField.column,
                                       problem: .prefixMismatch(prefixLength: clientPrefix, netmask: mask))
            }
            maskPrefix = length
        }
        if let hostField = field(4) {
            guard IPTextField.isHostname(hostField.bytes) else {
                throw CommandLineError(column: hostField.column, problem: .invalidHostname(hostField.text))
            }
            result.hostname = hostField.text
        }
        if let deviceField = field(5), let mac = SkiffNetParameter.strictMAC(deviceField.bytes) {
            result.deviceMAC = mac
            result.deviceColumn = deviceField.column
        } else if let deviceField = field(5) {
            guard IPTextField.isDeviceName(deviceField.bytes) else {
                throw CommandLineError(column: deviceField.column, problem: .invalidDeviceName(deviceField.text))
            }
            result.device = deviceField.text
            result.deviceColumn = deviceField.column
        }
        var explicitMode: IPAutoconf? = nil
        if let modeField = field(6) {
            guard let mode = IPAutoconf(word: modeField.text) else {
                throw CommandLineError(column: modeField.column, problem: .unknownAutoconf(modeField.text))
            }
            explicitMode = mode
        }
        for (number, name) in [(7, CommandLineError.AddressField.dns0), (8, .dns1)] {
            if let dns = try field(number)?.address(name) { result.dnsServers.append(dns) }
        }
        result.ntpServer = try field(9)?.address(.ntp0)

        // Resolve the mode and check the addresses against each other.
        result.autoconf = explicitMode ?? (result.address != nil ? .off : .any)
        if let address = result.address, let client = field(0) {
            // Not 0/8 ("this network", RFC 1122 §3.2.1.3), loopback, multicast or 240/4 (reserved,
            // with the limited broadcast).
            guard address.value >> 24 != 0, !address.isLoopback, !address.isMulticast,
                  address.value >> 28 != 0xf else {
                throw CommandLineError(column: client.column, problem: .clientNotUnicast(address))
            }
            let prefix = clientPrefix ?? maskPrefix
            if prefix == nil && result.autoconf == .off {
                throw CommandLineError(column: client.column, problem: .missingNetmask(address))
            }
            result.prefixLength = prefix
            if let prefix {
                let cidr = IPv4CIDR(address: address, prefixLength: prefix)
                let subnet = IPv4CIDR(address: cidr.network, prefixLength: prefix)
                if prefix < 31 && address == cidr.network {
                    throw CommandLineError(column: client.column, problem: .clientIsNetworkAddress(address, subnet: subnet))
                }
                if prefix < 31 && address == cidr.broadcast {
                    throw CommandLineError(column: client.column, problem: .clientIsBroadcastAddress(address, subnet: subnet))
                }
                if let gateway = result.gateway, let gatewayField = field(2) {
                    if gateway == address {
                        throw CommandLineError(column: gatewayField.column, problem: .gatewayIsClient(gateway))
                    }
                    guard cidr.contains(gateway) else {
                        throw CommandLineError(column: gatewayField.column,
                                               problem: .gatewayOutsideSubnet(gateway: gateway, subnet: subnet))
                    }
                }
            }
        }
        return result
    }
}

/// One field of an `ip=` value, as bytes, with the column it starts at.
struct IPTextField {
    var bytes: [UInt8]
    var column: Int

    var text: String { String(decoding: bytes, as: UTF8.self) }
    func string(_ part: [UInt8]) -> String { String(decoding: part, as: UTF8.self) }

    /// The field as an address (nil for 0.0.0.0, which means "none").
    func address(_ field: CommandLineError.AddressField) throws(CommandLineError) -> IPv4Address? {
        guard let address = IPv4Address(text) else {
            throw CommandLineError(column: column, problem: .invalidAddress(field, text: text))
        }
        return address.isUnspecified ? nil : address
    }

    /// One or two decimal digits giving 1...32.
    static func prefixLength(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 2 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value >= 1 && value <= 32 ? value : nil
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    /// At most 64 bytes (Linux `__NEW_UTS_LEN`) of letters, digits, `-` and `.` (RFC 1123 §2.1).
    static func isHostname(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        return bytes.allSatisfy { byte in
            isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    /// Linux `dev_valid_name`: 1...15 bytes (IFNAMSIZ less the NUL), not `.` or `..`, no `/`, `:`
    /// or white space; Skiff also refuses control bytes and DEL.
    static func isDeviceName(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 15 else { return false }
        if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { return false }
        return bytes.allSatisfy { byte in
            byte > 0x20 && byte != 0x7f && byte != UInt8(ascii: "/") && byte != UInt8(ascii: ":")
        }
    }
}
