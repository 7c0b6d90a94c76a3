import SkiffWire

// `skiff.net=`: Skiff's own per-interface setting on the kernel command line, beside Linux's `ip=`
// (IPParameter.swift). One parameter configures one interface, chosen by name or by MAC:
//
//   skiff.net=<device>:<setting>[,<setting>...]
//
//   <device>   eth0                     the interface of that name (eth0, eth1… in PCI order)
//              mac=52:54:00:12:34:56    the interface with that MAC, whatever its name
//   <setting>  addr=198.18.0.2/24       a static address with its prefix length
//              gw=198.18.0.1            the default route (inside addr='s subnet)
//              mtu=1400                 68 to 65535 (lowered only: never above the NIC's own)
//              dns=198.18.0.53          a name server (repeat for more)
//              search=example.test      a search domain (repeat for more)
//              static | dhcp | off      how: static is implied by addr=, off leaves the interface down
//
//   skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.1,mtu=1400,dns=198.18.0.53,search=example.test
//   skiff.net=mac=52:54:00:12:34:56:dhcp
//   skiff.net=eth1:off
//
// The rules:
// - The device comes first and ends at the first `:` (an interface name holds none, Linux
//   `dev_valid_name`; Skiff also refuses `=` and `,` in it). `mac=` takes exactly 17 bytes, six
//   two-digit hex pairs separated by `:` or `-`, so the `:` that follows is unambiguous.
// - Settings are separated by `,`; keys and words are lower case; a blank ends the parameter.
// - One of: `addr=` (the word `static` may be added), `dhcp`, or `off`. `gw=` needs `addr=`;
//   `dhcp` takes `mtu=`, `dns=` and `search=` besides (the lease adds its own servers and domains,
//   and its option 26 MTU replaces `mtu=`); `off` takes nothing else.
// - `addr=`, `gw=` and `mtu=` at most once, a mode word once. The address and the gateway follow
//   ip='s rules: a unicast address that is neither the network nor the broadcast address of its
//   subnet (prefixes shorter than 31), a gateway inside the subnet that is not the address itself.
// - One skiff.net= per device: a second one for the same name or the same MAC is an error, and so
//   are one by name and one by MAC that select the same device (found when the devices are known).
//   A skiff.net= that selects no device is reported and ignored: the other interfaces come up.
// Which source wins for a device (skiff.net= over ip= over interfaces files) is
// NetworkConfiguration's; errors name the byte column of the setting at fault (CommandLineError).

/// How a `skiff.net=` selects its device.
public enum SkiffNetDevice: Equatable, Sendable, CustomStringConvertible {
    /// The device of this name (eth0, eth1… unless the caller names them).
    case name(String)
    /// The device with this MAC.
    case mac(MACAddress)

    /// `eth0`, or `mac=52:54:00:12:34:56`, as written in `skiff.net=`.
    public var description: String {
        switch self {
        case .name(let name): return name
        case .mac(let mac): return "mac=\(mac)"
        }
    }
}

/// What a `skiff.net=` does with its device.
public enum SkiffNetMode: Equatable, Sendable, CustomStringConvertible {
    /// The address of `addr=`.
    case staticAddress
    case dhcp
    /// Leaves the device down: no address, and no DHCP by default.
    case off

    public var description: String {
        switch self {
        case .staticAddress: return "static"
        case .dhcp: return "dhcp"
        case .off: return "off"
        }
    }
}

/// One `skiff.net=` parameter, checked.
public struct SkiffNetParameter: Equatable, Sendable {
    public var device: SkiffNetDevice
    public var mode: SkiffNetMode
    /// The static address with its prefix length (`mode == .staticAddress` only).
    public var address: IPv4CIDR?
    public var gateway: IPv4Address?
    public var mtu: Int?
    public var dnsServers: [IPv4Address]
    public var searchDomains: [String]
    /// Where the parameter's key starts (1-based byte column).
    public var column: Int

    public init(device: SkiffNetDevice, mode: SkiffNetMode, address: IPv4CIDR? = nil, gateway: IPv4Address? = nil,
                mtu: Int? = nil, dnsServers: [IPv4Address] = [], searchDomains: [String] = [], column: Int = 1) {
        self.device = device
        self.mode = mode
        self.address = address
        self.gateway = gateway
        self.mtu = mtu
        self.dnsServers = dnsServers
        self.searchDomains = searchDomains
        self.column = column
    }

    /// The value in canonical form, such that `skiff.net=<text>` parses back to this parameter
    /// (the column aside): the device, then the mode word unless `addr=` implies it, then the
    /// settings in the order of the table above.
    public var text: String {
        var settings: [String] = []
        if mode != .staticAddress { settings.append(mode.description) }
        if let address { settings.append("addr=\(address)") }
        if let gateway { settings.append("gw=\(gateway)") }
        if let mtu { settings.append("mtu=\(mtu)") }
        for server in dnsServers { settings.append("dns=\(server)") }
        for domain in searchDomains { settings.append("search=\(domain)") }
        return device.description + ":" + settings.joined(separator: ",")
    }

    /// The bounds of `mtu=`: IPv4's minimum (RFC 791) to the largest IPv4 datagram.
    public static let mtuRange = 68...65535

    /// Parses and checks the value of a `skiff.net=` parameter. `valueColumn` is where `value`
    /// starts on the command line and `column` where the parameter does (for errors).
    public static func parse(_ value: String, column: Int = 1, valueColumn: Int = 11) throws(CommandLineError) -> SkiffNetParameter {
        let bytes = Array(value.utf8)
        let colon = UInt8(ascii: ":")
        func fail(_ at: Int, _ problem: SkiffNetProblem) -> CommandLineError {
            CommandLineError(column: valueColumn + at, problem: .net(problem))
        }

        // The device: `mac=` and 17 bytes, or a name up to the first colon.
        let device: SkiffNetDevice
        var index: Int
        if bytes.starts(with: "mac=".utf8) {
            let start = 4
            let end = min(bytes.count, start + 17)
            let mac = SkiffNetParameter.strictMAC(Array(bytes[start..<end]))
            if let mac, end == bytes.count || bytes[end] == colon {
                device = .mac(mac)
                index = end
            } else if mac != nil && hexDigit(bytes[end]) == nil && bytes[end] != UInt8(ascii: "-") {
                // A whole MAC, then something else than the colon.
                throw fail(end, .missingSettings(device: "mac=" + text(bytes, start, end)))
            } else {
                throw fail(start, .invalidMAC(SkiffNetParameter.macLikeText(bytes, from: start)))
            }
        } else {
            let end = bytes.firstIndex(of: colon) ?? bytes.count
            guard end > 0 else { throw fail(0, .missingDevice) }
            let name = Array(bytes[..<end])
            guard IPTextField.isDeviceName(name), !name.contains(UInt8(ascii: "=")), !name.contains(UInt8(ascii: ",")) else {
                throw fail(0, .invalidDeviceName(text(bytes, 0, end)))
            }
            device = .name(text(bytes, 0, end))
            index = end
        }
        guard index + 1 < bytes.count else { throw fail(index, .missingSettings(device: device.description)) }
        index += 1   // past the colon
        let settingsStart = index

        var mode: SkiffNetMode? = nil
        var modeAt = 0
        var address: IPv4CIDR? = nil
        var addressAt: Int? = nil
        var gateway: IPv4Address? = nil
        var gatewayAt: Int? = nil
        var mtu: Int? = nil
        var mtuAt: Int? = nil
        var dnsServers: [IPv4Address] = []
        var searchDomains: [String] = []
        // The first setting besides the mode word, for `off` (which takes none).
        var firstOther: (name: String, at: Int)? = nil

        var start = index
        for end in index...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: ",") {
            defer { start = end + 1 }
            guard end > start else { throw fail(start, .emptySetting) }
            let setting = Array(bytes[start..<end])
            guard let equals = setting.firstIndex(of: UInt8(ascii: "=")) else {
                let word = text(bytes, start, end)
                let given: SkiffNetMode
                if word.utf8.elementsEqual("static".utf8) { given = .staticAddress }
                else if word.utf8.elementsEqual("dhcp".utf8) { given = .dhcp }
                else if word.utf8.elementsEqual("off".utf8) { given = .off }
                else { throw fail(start, .unknownSetting(word)) }
                if let mode {
                    throw fail(start, mode == given ? .repeatedSetting(word, firstColumn: valueColumn + modeAt)
                                                   : .conflictingModes(word, mode.description))
                }
                mode = given
                modeAt = start
                continue
            }
            let keyBytes = Array(setting[..<equals])
            func isKey(_ name: StaticString) -> Bool {
                name.utf8CodeUnitCount == keyBytes.count && name.withUTF8Buffer { $0.elementsEqual(keyBytes) }
            }
            let key = text(bytes, start, start + equals)
            let valueAt = start + equals + 1
            let valueText = text(bytes, valueAt, end)
            if firstOther == nil { firstOther = (key, start) }
            func once(_ seen: Int?) throws(CommandLineError) {
                if let seen { throw fail(start, .repeatedSetting(key + "=", firstColumn: valueColumn + seen)) }
            }
            func nonEmpty() throws(CommandLineError) {
                if valueAt == end { throw fail(start, .emptyValue(key)) }
            }
            if isKey("addr") {
                try once(addressAt)
                try nonEmpty()
                let valueBytes = Array(bytes[valueAt..<end])
                guard let slash = valueBytes.firstIndex(of: UInt8(ascii: "/")) else {
                    guard let plain = IPv4Address(valueText) else { throw fail(valueAt, .invalidAddress(valueText)) }
                    throw fail(valueAt, .missingPrefixLength(plain))
                }
                guard let length = IPTextField.prefixLength(Array(valueBytes[(slash + 1)...])) else {
                    throw fail(valueAt + slash, .invalidPrefixLength(text(bytes, valueAt + slash + 1, end)))
                }
                guard let host = IPv4Address(text(bytes, valueAt, valueAt + slash)) else {
                    throw fail(valueAt, .invalidAddress(valueText))
                }
                // Not 0/8, loopback, multicast or 240/4, as for ip= (RFC 1122 §3.2.1.3).
                guard host.value >> 24 != 0, !host.isLoopback, !host.isMulticast, host.value >> 28 != 0xf else {
                    throw fail(valueAt, .addressNotUnicast(host))
                }
                let cidr = IPv4CIDR(address: host, prefixLength: length)
                let subnet = IPv4CIDR(address: cidr.network, prefixLength: length)
                if length < 31 && host == cidr.network { throw fail(valueAt, .networkAddress(host, subnet: subnet)) }
                if length < 31 && host == cidr.broadcast { throw fail(valueAt, .broadcastAddress(host, subnet: subnet)) }
                address = cidr
                addressAt = start
            } else if isKey("gw") {
                try once(gatewayAt)
                try nonEmpty()
                guard let value = IPv4Address(valueText), !value.isUnspecified else { throw fail(valueAt, .invalidGateway(valueText)) }
                gateway = value
                gatewayAt = start
            } else if isKey("mtu") {
                try once(mtuAt)
                try nonEmpty()
                guard let value = InterfacesParser.decimal(Array(bytes[valueAt..<end])), SkiffNetParameter.mtuRange.contains(value) else {
                    throw fail(valueAt, .invalidMTU(valueText))
                }
                mtu = value
                mtuAt = start
            } else if isKey("dns") {
                try nonEmpty()
                guard let server = IPv4Address(valueText), !server.isUnspecified else { throw fail(valueAt, .invalidDNSServer(valueText)) }
                if !dnsServers.contains(server) { dnsServers.append(server) }
            } else if isKey("search") {
                try nonEmpty()
                guard SkiffNetParameter.isDomainName(Array(bytes[valueAt..<end])) else {
                    throw fail(valueAt, .invalidSearchDomain(valueText))
                }
                if !searchDomains.contains(where: { BootConfiguration.same($0, valueText) }) { searchDomains.append(valueText) }
            } else {
                throw fail(start, .unknownSetting(text(bytes, start, end)))
            }
        }

        // The settings against each other.
        switch mode {
        case .off?:
            if let other = firstOther { throw fail(other.at, .offTakesNoSettings(other.name + "=")) }
        case .dhcp?:
            if let at = addressAt ?? gatewayAt {
                throw fail(at, .addressWithDHCP(addressAt != nil ? "addr=" : "gw="))
            }
        case .staticAddress?, nil:
            guard let address else {
                if mode == nil { throw fail(settingsStart, .noMode(device: device.description)) }
                throw fail(modeAt, .staticWithoutAddress)
            }
            if let gateway, let gatewayAt {
                let at = gatewayAt + 3
                if gateway == address.address { throw fail(at, .gatewayIsAddress(gateway)) }
                guard address.contains(gateway) else {
                    throw fail(at, .gatewayOutsideSubnet(gateway: gateway,
                                                         subnet: IPv4CIDR(address: address.network, prefixLength: address.prefixLength)))
                }
            }
        }
        return SkiffNetParameter(device: device, mode: mode ?? .staticAddress, address: address, gateway: gateway, mtu: mtu,
                                 dnsServers: dnsServers, searchDomains: searchDomains, column: column)
    }

    /// Six two-digit hex pairs separated by `:` or `-` (one kind throughout): exactly 17 bytes.
    public static func strictMAC(_ bytes: [UInt8]) -> MACAddress? {
        guard bytes.count == 17 else { return nil }
        let separator = bytes[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
        var octets: [UInt8] = []
        for group in 0..<6 {
            let at = group * 3
            if group > 0 && bytes[at - 1] != separator { return nil }
            guard let high = hexDigit(bytes[at]), let low = hexDigit(bytes[at + 1]) else { return nil }
            octets.append(high << 4 | low)
        }
        return MACAddress(octets[0], octets[1], octets[2], octets[3], octets[4], octets[5])
    }

    /// What a malformed MAC at `from` looks like, for the message: up to six groups of hex digits
    /// with `:` or `-` between them (`52:54:00:12:34:5` of `52:54:00:12:34:5:dhcp`), else the
    /// bytes up to the next colon or comma.
    static func macLikeText(_ bytes: [UInt8], from: Int) -> String {
        var end = from
        var groups = 0
        while end < bytes.count && groups < 6 {
            var digits = end
            while digits < bytes.count && hexDigit(bytes[digits]) != nil { digits += 1 }
            guard digits > end else { break }
            groups += 1
            end = digits
            let separator = end < bytes.count && (bytes[end] == UInt8(ascii: ":") || bytes[end] == UInt8(ascii: "-"))
            guard groups < 6, separator, end + 1 < bytes.count, hexDigit(bytes[end + 1]) != nil else { break }
            end += 1
        }
        if end == from {
            while end < bytes.count && bytes[end] != UInt8(ascii: ":") && bytes[end] != UInt8(ascii: ",") { end += 1 }
        }
        return text(bytes, from, end)
    }

    /// A MAC as `52-54-00-12-34-56`: the form the device field of `ip=` takes.
    public static func dashed(_ mac: MACAddress) -> String {
        var text = ""
        for (index, byte) in mac.bytes.enumerated() {
            if index > 0 { text += "-" }
            text += hex2(byte)
        }
        return text
    }

    /// A domain name for a search list: 1 to 253 bytes, labels of 1 to 63 letters, digits and `-`
    /// (RFC 1123 §2.1) separated by single dots, without a leading or trailing dot.
    static func isDomainName(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        var label = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard label > 0 else { return false }
                label = 0
                continue
            }
            let isLetterOrDigit = IPTextField.isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            guard isLetterOrDigit || byte == UInt8(ascii: "-") else { return false }
            label += 1
            guard label <= 63 else { return false }
        }
        return label > 0
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The bytes `from..<to` as a String (cuts at ASCII bytes keep the UTF-8 valid).
    static func text(_ bytes: [UInt8], _ from: Int, _ to: Int) -> String {
        from < to ? String(decoding: bytes[from..<to], as: UTF8.self) : ""
    }
}

/// What is wrong with a `skiff.net=` (CommandLineError.Problem.net).
public enum SkiffNetProblem: Equatable, Sendable, CustomStringConvertible {
    /// Nothing before the colon.
    case missingDevice
    /// A name that is not an interface name (too long, or with `/`, `=`, `,`, white space).
    case invalidDeviceName(String)
    /// What follows `mac=` is not six two-digit hex pairs.
    case invalidMAC(String)
    /// No colon and settings after the device.
    case missingSettings(device: String)
    /// Two commas in a row, or one at the end.
    case emptySetting
    /// A key or a word that is not a setting.
    case unknownSetting(String)
    /// `addr=`, `gw=`, `mtu=` or a mode word a second time; `firstColumn` is the first one's.
    case repeatedSetting(String, firstColumn: Int)
    /// Two different mode words: the second, then the first.
    case conflictingModes(String, String)
    /// `key=` without a value.
    case emptyValue(String)
    case invalidAddress(String)
    case missingPrefixLength(IPv4Address)
    case invalidPrefixLength(String)
    case addressNotUnicast(IPv4Address)
    case networkAddress(IPv4Address, subnet: IPv4CIDR)
    case broadcastAddress(IPv4Address, subnet: IPv4CIDR)
    case invalidGateway(String)
    case gatewayIsAddress(IPv4Address)
    case gatewayOutsideSubnet(gateway: IPv4Address, subnet: IPv4CIDR)
    case invalidMTU(String)
    case invalidDNSServer(String)
    case invalidSearchDomain(String)
    /// Neither `addr=` nor `dhcp` nor `off`.
    case noMode(device: String)
    /// `static` without `addr=`.
    case staticWithoutAddress
    /// `addr=` or `gw=` with `dhcp`.
    case addressWithDHCP(String)
    /// A setting besides `off`.
    case offTakesNoSettings(String)
    /// A second skiff.net= for the same name or MAC; `firstColumn` is where the first one starts.
    case duplicateDevice(String, firstColumn: Int)
    /// Found when the devices are known: this skiff.net= selects `device`, which the one at
    /// `firstColumn` already selects (one by name, one by MAC).
    case sameDevice(String, firstColumn: Int)

    public var description: String {
        let form = "skiff.net=<device>:<settings>, e.g. skiff.net=eth0:addr=198.18.0.2/24,gw=198.18.0.1 or skiff.net=mac=52:54:00:12:34:56:dhcp"
        switch self {
        case .missingDevice:
            return "skiff.net= needs a device first: \(form)"
        case .invalidDeviceName(let name):
            return "skiff.net= device \"\(name)\" is not an interface name (at most 15 bytes; no '/', ':', '=', ','); "
                + "select by MAC with mac=52:54:00:12:34:56"
        case .invalidMAC(let text):
            return "skiff.net= mac \"\(text)\" is not a MAC address (six two-digit hex pairs: 52:54:00:12:34:56)"
        case .missingSettings(let device):
            return "skiff.net= \(device) needs settings after a colon: \(device):dhcp, \(device):off or \(device):addr=198.18.0.2/24"
        case .emptySetting:
            return "skiff.net= has an empty setting (two commas in a row, or one at the end)"
        case .unknownSetting(let text):
            return "skiff.net= setting \"\(text)\" is not one of addr=, gw=, mtu=, dns=, search=, static, dhcp, off"
        case .repeatedSetting(let name, let first):
            return "skiff.net= \(name) is already given at column \(first)"
        case .conflictingModes(let second, let first):
            return "skiff.net= \(second) contradicts \(first) (give one of static, dhcp, off)"
        case .emptyValue(let key):
            return "skiff.net= \(key)= needs a value"
        case .invalidAddress(let text):
            return "skiff.net= addr \"\(text)\" is not an IPv4 address with a prefix length (a.b.c.d/n)"
        case .missingPrefixLength(let address):
            return "skiff.net= addr \(address) needs a prefix length: addr=\(address)/24"
        case .invalidPrefixLength(let text):
            return "skiff.net= prefix length \"/\(text)\" is not 1 to 32"
        case .addressNotUnicast(let address):
            return "skiff.net= addr \(address) is not a unicast address"
        case .networkAddress(let address, let subnet):
            return "skiff.net= addr \(address) is the network address of \(subnet)"
        case .broadcastAddress(let address, let subnet):
            return "skiff.net= addr \(address) is the broadcast address of \(subnet)"
        case .invalidGateway(let text):
            return "skiff.net= gw \"\(text)\" is not an IPv4 address"
        case .gatewayIsAddress(let gateway):
            return "skiff.net= gw \(gateway) is the interface's own address"
        case .gatewayOutsideSubnet(let gateway, let subnet):
            return "skiff.net= gw \(gateway) is not inside \(subnet)"
        case .invalidMTU(let text):
            return "skiff.net= mtu \"\(text)\" is not a number from 68 to 65535"
        case .invalidDNSServer(let text):
            return "skiff.net= dns \"\(text)\" is not an IPv4 address"
        case .invalidSearchDomain(let text):
            return "skiff.net= search \"\(text)\" is not a domain name (labels of letters, digits and '-', dot-separated)"
        case .noMode(let device):
            return "skiff.net= \(device) says neither addr=, dhcp nor off"
        case .staticWithoutAddress:
            return "skiff.net= static needs addr=a.b.c.d/n"
        case .addressWithDHCP(let key):
            return "skiff.net= \(key) does not go with dhcp (the lease gives the address and routes; use static)"
        case .offTakesNoSettings(let key):
            return "skiff.net= off leaves the interface down and takes no other settings (\(key))"
        case .duplicateDevice(let device, let first):
            return "skiff.net= for \(device) is already given at column \(first)"
        case .sameDevice(let device, let first):
            return "skiff.net= selects \(device), which the skiff.net= at column \(first) already configures"
        }
    }
}
