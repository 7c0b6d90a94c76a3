import SkiffWire

// Debian `interfaces(5)` files (ifupdown), the subset that describes IPv4 configuration:
//
//   auto eth0                       # also allow-hotplug, allow-auto
//   iface eth0 inet static          # static, dhcp, manual, loopback
//       address 198.18.0.10/24      # or `address 198.18.0.10` with `netmask 255.255.255.0` (or `netmask 24`)
//       gateway 198.18.0.1          # the default route
//       mtu 1400
//       hwaddress ether 52:54:00:12:34:56     # Skiff: selects the device with this MAC
//       dns-nameservers 198.18.0.1 198.18.0.2
//       dns-search example.com
//       up ip route add 198.19.0.0/16 via 198.18.0.2 [dev eth0]
//       post-up route add -net 198.20.0.0 netmask 255.255.0.0 gw 198.18.0.3
//
// Lines starting with `#` (after blanks) are comments; a `\` at the end of a line continues the
// logical line on the next one (Skiff reads the join as a blank, so it never glues two words).
// A line that starts with none of `iface`, `mapping`, `auto`, `allow-*`, `source`,
// `source-directory` is an option of the `iface` stanza above it.
//
// Skiff's rules, where ifupdown would run commands or is silent:
// - `source`, `source-directory`, `mapping`, `inet6` stanzas, unknown options and `up` commands
//   other than the two route forms are warnings and are not acted on; `down`, `pre-down`,
//   `post-down` and `pre-up` are ignored (a unikernel never takes an interface down).
// - Any error inside an `iface` stanza (a bad address, netmask, gateway, MTU, MAC or route, or a
//   static stanza without an address) leaves that interface unconfigured; the other stanzas
//   still apply. A second `iface` for the same name is an error and is ignored.
// - The address must be unicast and, for prefixes shorter than 31, not its subnet's network or
//   broadcast address; the gateway and each route's gateway must be inside the subnet (the rules
//   of `ip=`, IPParameter.swift).
// The parser takes bytes, returns every stanza with its diagnostics, and never traps.

/// How an `iface` stanza configures its interface (`inet <method>`).
public enum InterfaceMethod: Equatable, Sendable, CustomStringConvertible {
    case staticAddress
    case dhcp
    case manual
    case loopback

    public var description: String {
        switch self {
        case .staticAddress: return "static"
        case .dhcp: return "dhcp"
        case .manual: return "manual"
        case .loopback: return "loopback"
        }
    }
}

/// A static route from an `up`/`post-up` line: `destination` through `gateway`.
public struct InterfacesRoute: Equatable, Sendable {
    public var destination: IPv4CIDR
    public var gateway: IPv4Address
    /// The `dev` word, when given.
    public var device: String?
    public var line: Int

    public init(destination: IPv4CIDR, gateway: IPv4Address, device: String? = nil, line: Int) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.line = line
    }
}

/// One `iface <name> inet <method>` stanza with its options.
public struct InterfaceStanza: Equatable, Sendable {
    public var name: String
    public var method: InterfaceMethod
    /// The line of the `iface` word.
    public var line: Int
    /// The address with its prefix length (from `/n` or `netmask`).
    public var address: IPv4CIDR?
    public var gateway: IPv4Address?
    public var mtu: Int?
    /// `hwaddress`: the MAC of the device this stanza configures.
    public var hardwareAddress: MACAddress?
    public var dnsServers: [IPv4Address] = []
    public var dnsSearch: [String] = []
    public var routes: [InterfacesRoute] = []
    /// Named by `auto` / `allow-auto`, or by `allow-hotplug`.
    public var isAuto = false
    public var isHotplug = false
    /// False when an error was found in the stanza: it configures nothing.
    public var isValid = true

    public init(name: String, method: InterfaceMethod, line: Int) {
        self.name = name
        self.method = method
        self.line = line
    }
}

/// A warning or an error, with where it is. Errors read `interfaces:LINE:COLUMN: message`,
/// warnings `interfaces:LINE: warning: message`.
public struct InterfacesDiagnostic: Equatable, Sendable, CustomStringConvertible {
    public enum Severity: Equatable, Sendable { case warning, error }
    public var severity: Severity
    public var line: Int
    /// 1-based byte column; nil for warnings about a whole line.
    public var column: Int?
    public var message: String

    public init(_ severity: Severity, line: Int, column: Int? = nil, _ message: String) {
        self.severity = severity
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        switch severity {
        case .error:
            if let column { return "interfaces:\(line):\(column): \(message)" }
            return "interfaces:\(line): \(message)"
        case .warning:
            return "interfaces:\(line): warning: \(message)"
        }
    }
}

/// A parsed interfaces file: the stanzas (valid or not) and what was wrong.
public struct InterfacesFile: Equatable, Sendable {
    public var stanzas: [InterfaceStanza]
    public var diagnostics: [InterfacesDiagnostic]
    /// Names given by `auto`/`allow-*` lines, in order, each once.
    public var autoNames: [String]

    /// At most this many diagnostics are kept; one more says how many were left out.
    public static let diagnosticLimit = 64

    /// The stanzas that configure something (valid ones).
    public var validStanzas: [InterfaceStanza] { stanzas.filter { $0.isValid } }

    public var errors: [InterfacesDiagnostic] { diagnostics.filter { $0.severity == .error } }

    public init(stanzas: [InterfaceStanza] = [], diagnostics: [InterfacesDiagnostic] = [], autoNames: [String] = []) {
        self.stanzas = stanzas
        self.diagnostics = diagnostics
        self.autoNames = autoNames
    }

    public init(_ text: String) { self = InterfacesFile.parse(Array(text.utf8)) }

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> InterfacesFile {
        parse(Array(bytes))
    }

    /// Parses the whole file. Never throws and never traps: problems are diagnostics.
    public static func parse(_ bytes: [UInt8]) -> InterfacesFile {
        var parser = InterfacesParser()
        for logical in InterfacesLines(bytes) { parser.handle(logical) }
        return parser.finish()
    }
}

/// A word of a logical line, with the physical line and column it starts at.
struct InterfacesWord {
    var bytes: [UInt8]
    var line: Int
    var column: Int
    var text: String { String(decoding: bytes, as: UTF8.self) }

    func equals(_ word: StaticString) -> Bool {
        word.utf8CodeUnitCount == bytes.count && word.withUTF8Buffer { $0.elementsEqual(bytes) }
    }
}

/// Splits a file into logical lines of words: comments and blank lines dropped, `\` continuations
/// joined.
struct InterfacesLines: Sequence, IteratorProtocol {
    let bytes: [UInt8]
    var index = 0
    var line = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> [InterfacesWord]? {
        var words: [InterfacesWord] = []
        var continuing = false
        while index < bytes.count {
            line += 1
            var end = index
            while end < bytes.count && bytes[end] != 0x0a { end += 1 }
            let start = index
            index = end + 1
            var last = end
            if last > start && bytes[last - 1] == 0x0d { last -= 1 }   // CRLF files
            var firstNonBlank = start
            while firstNonBlank < last && InterfacesLines.isBlank(bytes[firstNonBlank]) { firstNonBlank += 1 }
            if !continuing && firstNonBlank < last && bytes[firstNonBlank] == UInt8(ascii: "#") { continue }
            var continues = false
            if last > start && bytes[last - 1] == UInt8(ascii: "\\") {
                continues = true
                last -= 1
            }
            var position = start
            while position < last {
                while position < last && InterfacesLines.isBlank(bytes[position]) { position += 1 }
                guard position < last else { break }
                let wordStart = position
                while position < last && !InterfacesLines.isBlank(bytes[position]) { position += 1 }
                words.append(InterfacesWord(bytes: Array(bytes[wordStart..<position]), line: line,
                                            column: wordStart - start + 1))
            }
            if continues { continuing = true; continue }
            if !words.isEmpty { return words }
            continuing = false
        }
        return words.isEmpty ? nil : words
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0b || byte == 0x0c }
}

/// Where the parts of a stanza were written, for the checks at its end.
struct StanzaPositions {
    var address: InterfacesWord?
    var addressPrefix: Int?
    var netmask: InterfacesWord?
    var netmaskPrefix: Int?
    var gateway: InterfacesWord?
    var routeGateways: [InterfacesWord] = []
}

struct InterfacesParser {
    var stanzas: [InterfaceStanza] = []
    var diagnostics: [InterfacesDiagnostic] = []
    var dropped = 0
    var autoNames: [String] = []
    var hotplugNames: [String] = []
    /// The stanza options go to; nil outside one.
    var current: InterfaceStanza?
    var positions = StanzaPositions()
    /// True inside a stanza Skiff skips (mapping, inet6, a duplicate): its options are not read.
    var skipping = false

    mutating func report(_ diagnostic: InterfacesDiagnostic) {
        if diagnostics.count < InterfacesFile.diagnosticLimit { diagnostics.append(diagnostic) } else { dropped += 1 }
    }

    mutating func warn(_ word: InterfacesWord, _ message: String) {
        report(InterfacesDiagnostic(.warning, line: word.line, message))
    }

    /// An error; inside a stanza it also leaves the interface unconfigured.
    mutating func error(_ word: InterfacesWord, _ message: String) {
        report(InterfacesDiagnostic(.error, line: word.line, column: word.column, message))
        current?.isValid = false
    }

    mutating func handle(_ words: [InterfacesWord]) {
        guard let keyword = words.first else { return }
        if keyword.equals("iface") || keyword.equals("mapping") {
            closeStanza()
            if keyword.equals("mapping") {
                warn(keyword, "mapping stanzas are not supported; ignored")
                skipping = true
                return
            }
            openStanza(words)
        } else if keyword.equals("auto") || keyword.equals("allow-auto") || keyword.equals("allow-hotplug") {
            for word in words.dropFirst() {
                if keyword.equals("allow-hotplug") {
                    if !hotplugNames.contains(where: { BootConfiguration.same($0, word.text) }) { hotplugNames.append(word.text) }
                } else if !autoNames.contains(where: { BootConfiguration.same($0, word.text) }) {
                    autoNames.append(word.text)
                }
            }
        } else if keyword.bytes.starts(with: Array("allow-".utf8)) {
            // allow-<class>: only ifup's --allow filter reads these.
        } else if keyword.equals("source") || keyword.equals("source-directory") || keyword.equals("source-dir") {
            closeStanza()
            warn(keyword, "\(keyword.text) is not supported in a boot module (one file only); ignored")
        } else if keyword.equals("no-auto-down") || keyword.equals("no-scripts") || keyword.equals("rename") {
            closeStanza()
        } else if skipping {
            return
        } else if current == nil {
            report(InterfacesDiagnostic(.error, line: keyword.line, column: keyword.column,
                                        "option \(keyword.text) outside an iface stanza"))
        } else {
            option(words)
        }
    }

    mutating func openStanza(_ words: [InterfacesWord]) {
        let keyword = words[0]
        guard words.count >= 2 else {
            report(InterfacesDiagnostic(.error, line: keyword.line, column: keyword.column,
                                        "iface needs a name, a family and a method: iface eth0 inet static"))
            skipping = true
            return
        }
        let name = words[1]
        guard IPTextField.isDeviceName(name.bytes) else {
            report(InterfacesDiagnostic(.error, line: name.line, column: name.column,
                                        "\"\(name.text)\" is not an interface name (at most 15 bytes; no '/', ':')"))
            skipping = true
            return
        }
        guard words.count >= 4 else {
            let at = words.count == 3 ? words[2] : name
            report(InterfacesDiagnostic(.error, line: at.line, column: at.column + at.bytes.count,
                                        "iface \(name.text) needs a family and a method: iface \(name.text) inet static"))
            skipping = true
            return
        }
        let family = words[2]
        if family.equals("inet6") || family.equals("ipx") || family.equals("can") {
            warn(family, "iface \(name.text) \(family.text): only inet is supported; stanza ignored")
            skipping = true
            return
        }
        guard family.equals("inet") else {
            report(InterfacesDiagnostic(.error, line: family.line, column: family.column,
                                        "address family \"\(family.text)\" is not inet"))
            skipping = true
            return
        }
        let methodWord = words[3]
        let method: InterfaceMethod
        if methodWord.equals("static") { method = .staticAddress }
        else if methodWord.equals("dhcp") { method = .dhcp }
        else if methodWord.equals("manual") { method = .manual }
        else if methodWord.equals("loopback") { method = .loopback }
        else {
            report(InterfacesDiagnostic(.error, line: methodWord.line, column: methodWord.column,
                                        "method \"\(methodWord.text)\" is not one of static, dhcp, manual, loopback"))
            skipping = true
            return
        }
        if let first = stanzas.first(where: { BootConfiguration.same($0.name, name.text) }) {
            report(InterfacesDiagnostic(.error, line: name.line, column: name.column,
                                        "iface \(name.text) is already defined on line \(first.line); this stanza is ignored"))
            skipping = true
            return
        }
        if words.count > 4 {
            warn(words[4], "iface \(name.text): words after the method are ignored")
        }
        skipping = false
        positions = StanzaPositions()
        current = InterfaceStanza(name: name.text, method: method, line: keyword.line)
    }

    /// Checks the stanza as a whole and keeps it.
    mutating func closeStanza() {
        skipping = false
        guard var stanza = current else { return }
        defer {
            current = nil
            positions = StanzaPositions()
        }
        if stanza.method == .staticAddress, stanza.isValid {
            if let word = positions.address {
                var prefix = positions.addressPrefix
                if let maskPrefix = positions.netmaskPrefix {
                    if let given = prefix, given != maskPrefix, let mask = positions.netmask {
                        current = stanza
                        error(mask, "netmask \(mask.text) disagrees with the address's prefix length /\(given)")
                        stanza = current!
                    }
                    prefix = prefix ?? maskPrefix
                }
                if let prefix, stanza.isValid, let address = stanza.address?.address {
                    let cidr = IPv4CIDR(address: address, prefixLength: prefix)
                    let subnet = IPv4CIDR(address: cidr.network, prefixLength: prefix)
                    current = stanza
                    if prefix < 31 && address == cidr.network {
                        error(word, "address \(address) is the network address of \(subnet)")
                    } else if prefix < 31 && address == cidr.broadcast {
                        error(word, "address \(address) is the broadcast address of \(subnet)")
                    }
                    if let gateway = stanza.gateway, let at = positions.gateway {
                        if gateway == address {
                            error(at, "gateway \(gateway) is the interface's own address")
                        } else if !cidr.contains(gateway) {
                            error(at, "gateway \(gateway) is not inside \(subnet)")
                        }
                    }
                    for (route, at) in zip(stanza.routes, positions.routeGateways) where !cidr.contains(route.gateway) {
                        error(at, "route gateway \(route.gateway) is not inside \(subnet)")
                    }
                    stanza = current!
                    stanza.address = cidr
                } else if prefix == nil {
                    current = stanza
                    error(word, "address \(word.text) has no netmask: write \(word.text)/24 or add a netmask line")
                    stanza = current!
                }
            } else {
                report(InterfacesDiagnostic(.error, line: stanza.line, column: 1,
                                            "iface \(stanza.name) inet static has no address"))
                stanza.isValid = false
            }
        }
        if !stanza.isValid { stanza.address = nil }
        stanzas.append(stanza)
    }

    mutating func option(_ words: [InterfacesWord]) {
        let keyword = words[0]
        let arguments = Array(words.dropFirst())
        let name = keyword.text
        func needsArgument() -> InterfacesWord? {
            guard let first = arguments.first else {
                error(keyword, "\(name) needs a value")
                return nil
            }
            return first
        }
        if keyword.equals("address") {
            guard let word = needsArgument() else { return }
            var addressBytes = word.bytes
            if let slash = word.bytes.firstIndex(of: UInt8(ascii: "/")) {
                addressBytes = Array(word.bytes[..<slash])
                guard let length = IPTextField.prefixLength(Array(word.bytes[(slash + 1)...])) else {
                    error(InterfacesWord(bytes: [], line: word.line, column: word.column + slash + 1),
                          "prefix length in \"\(word.text)\" is not 1 to 32")
                    return
                }
                positions.addressPrefix = length
            }
            guard let address = IPv4Address(String(decoding: addressBytes, as: UTF8.self)) else {
                error(word, "address \"\(word.text)\" is not an IPv4 address (a.b.c.d or a.b.c.d/n)")
                return
            }
            guard address.value >> 24 != 0, !address.isLoopback, !address.isMulticast, address.value >> 28 != 0xf else {
                error(word, "address \(address) is not a unicast address")
                return
            }
            if positions.address != nil { warn(word, "a second address replaces the first") }
            positions.address = word
            current?.address = IPv4CIDR(address: address, prefixLength: 32)
        } else if keyword.equals("netmask") {
            guard let word = needsArgument() else { return }
            if let length = IPTextField.prefixLength(word.bytes) {
                positions.netmaskPrefix = length
            } else if let mask = IPv4Address(word.text) {
                guard let length = IPv4CIDR.prefixLength(ofMask: mask), length > 0 else {
                    error(word, "netmask \(mask) is not contiguous (ones, then zeros: e.g. 255.255.255.0)")
                    return
                }
                positions.netmaskPrefix = length
            } else {
                error(word, "netmask \"\(word.text)\" is not a netmask (255.255.255.0 or 24)")
                return
            }
            positions.netmask = word
        } else if keyword.equals("gateway") {
            guard let word = needsArgument() else { return }
            guard let gateway = IPv4Address(word.text), !gateway.isUnspecified else {
                error(word, "gateway \"\(word.text)\" is not an IPv4 address")
                return
            }
            positions.gateway = word
            current?.gateway = gateway
        } else if keyword.equals("mtu") {
            guard let word = needsArgument() else { return }
            guard let mtu = InterfacesParser.decimal(word.bytes), mtu >= 68, mtu <= 65535 else {
                error(word, "mtu \"\(word.text)\" is not a number from 68 to 65535")
                return
            }
            current?.mtu = mtu
        } else if keyword.equals("hwaddress") {
            guard var word = needsArgument() else { return }
            if word.equals("ether") {
                guard arguments.count >= 2 else {
                    error(word, "hwaddress ether needs a MAC address")
                    return
                }
                word = arguments[1]
            }
            guard let mac = MACAddress(word.text) else {
                error(word, "hwaddress \"\(word.text)\" is not a MAC address (aa:bb:cc:dd:ee:ff)")
                return
            }
            current?.hardwareAddress = mac
        } else if keyword.equals("dns-nameservers") || keyword.equals("dns-nameserver") {
            guard needsArgument() != nil else { return }
            for word in arguments {
                guard let server = IPv4Address(word.text), !server.isUnspecified else {
                    error(word, "name server \"\(word.text)\" is not an IPv4 address")
                    return
                }
                if current?.dnsServers.contains(server) == false { current?.dnsServers.append(server) }
            }
        } else if keyword.equals("dns-search") || keyword.equals("dns-domain") {
            guard needsArgument() != nil else { return }
            for word in arguments where current?.dnsSearch.contains(where: { BootConfiguration.same($0, word.text) }) == false {
                current?.dnsSearch.append(word.text)
            }
        } else if keyword.equals("up") || keyword.equals("post-up") {
            command(keyword, arguments)
        } else if keyword.equals("down") || keyword.equals("pre-down") || keyword.equals("post-down")
                    || keyword.equals("pre-up") || keyword.equals("broadcast") || keyword.equals("network") {
            // Nothing to do: taking down never happens; broadcast and network follow from the address.
        } else {
            warn(keyword, "unknown option \"\(name)\" ignored")
        }
    }

    /// `ip route add <net>/<len>|default via <gw> [dev <if>]` or
    /// `route add -net <net> netmask <mask> gw <gw> [dev <if>]` / `route add default gw <gw>`.
    mutating func command(_ keyword: InterfacesWord, _ words: [InterfacesWord]) {
        func at(_ index: Int) -> InterfacesWord? { index < words.count ? words[index] : nil }
        var destination: IPv4CIDR?
        var gateway: IPv4Address?
        var gatewayWord: InterfacesWord?
        var device: String?
        var index = 0
        var isIP = false
        if at(0)?.equals("ip") == true, at(1)?.equals("route") == true || at(1)?.equals("r") == true,
           at(2)?.equals("add") == true || at(2)?.equals("a") == true {
            isIP = true
            index = 3
        } else if at(0)?.equals("route") == true, at(1)?.equals("add") == true {
            index = 2
        } else {
            warn(keyword, "\(keyword.text) command not run (only static route commands are): \(words.map { $0.text }.joined(separator: " "))")
            return
        }
        var mask: IPv4Address?
        var maskWord: InterfacesWord?
        var network: InterfacesWord?
        while index < words.count {
            let word = words[index]
            let value = at(index + 1)
            if word.equals("default") {
                destination = IPv4CIDR(address: .any, prefixLength: 0)
                index += 1
                continue
            }
            if !isIP && word.equals("-host") {
                guard let value else { break }
                network = value
                mask = IPv4Address(0xffff_ffff)
                index += 2
                continue
            }
            if !isIP && word.equals("-net") {
                guard let value else { break }
                network = value
                index += 2
                continue
            }
            if (isIP && word.equals("via")) || (!isIP && (word.equals("gw") || word.equals("gateway"))) {
                guard let value else { break }
                guard let address = IPv4Address(value.text), !address.isUnspecified else {
                    error(value, "route gateway \"\(value.text)\" is not an IPv4 address")
                    return
                }
                gateway = address
                gatewayWord = value
                index += 2
                continue
            }
            if word.equals("dev") {
                guard let value else { break }
                device = value.text
                index += 2
                continue
            }
            if !isIP && (word.equals("netmask") || word.equals("genmask")) {
                guard let value else { break }
                guard let address = IPv4Address(value.text), IPv4CIDR.prefixLength(ofMask: address) != nil else {
                    error(value, "route netmask \"\(value.text)\" is not a contiguous netmask")
                    return
                }
                mask = address
                maskWord = value
                index += 2
                continue
            }
            if isIP && destination == nil && network == nil {
                network = word
                index += 1
                continue
            }
            if !isIP && destination == nil && network == nil {
                network = word   // `route add 198.18.5.0/24 gw …` (net-tools accepts a CIDR here)
                index += 1
                continue
            }
            error(word, "unexpected \"\(word.text)\" in the route command")
            return
        }
        if let network {
            if let cidr = IPv4CIDR(network.text) {
                if let mask, IPv4CIDR.prefixLength(ofMask: mask) != cidr.prefixLength, let maskWord {
                    error(maskWord, "route netmask \(mask) disagrees with /\(cidr.prefixLength)")
                    return
                }
                destination = cidr
            } else if let address = IPv4Address(network.text) {
                if let mask, let length = IPv4CIDR.prefixLength(ofMask: mask) {
                    destination = IPv4CIDR(address: address, prefixLength: length)
                } else if isIP {
                    destination = IPv4CIDR(address: address, prefixLength: 32)
                } else {
                    error(network, "route -net \(network.text) needs a netmask (netmask 255.255.0.0) or /n")
                    return
                }
            } else {
                error(network, "route destination \"\(network.text)\" is not an IPv4 network (a.b.c.d/n)")
                return
            }
        }
        guard let destination else {
            error(keyword, "the route command names no destination")
            return
        }
        guard let gateway, let gatewayWord else {
            warn(keyword, "route to \(destination) without a gateway is not added (on-link routes follow from the address)")
            return
        }
        let normalized = IPv4CIDR(address: destination.network, prefixLength: destination.prefixLength)
        current?.routes.append(InterfacesRoute(destination: normalized, gateway: gateway, device: device, line: keyword.line))
        positions.routeGateways.append(gatewayWord)
    }

    mutating func finish() -> InterfacesFile {
        closeStanza()
        for index in stanzas.indices {
            let name = stanzas[index].name
            stanzas[index].isAuto = autoNames.contains { BootConfiguration.same($0, name) }
            stanzas[index].isHotplug = hotplugNames.contains { BootConfiguration.same($0, name) }
        }
        if dropped > 0, let last = diagnostics.last {
            diagnostics.append(InterfacesDiagnostic(.warning, line: last.line, "\(dropped) more diagnostics left out"))
        }
        var names = autoNames
        for name in hotplugNames where !names.contains(where: { BootConfiguration.same($0, name) }) { names.append(name) }
        return InterfacesFile(stanzas: stanzas, diagnostics: diagnostics, autoNames: names)
    }

    /// 1 to 5 decimal digits.
    static func decimal(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 5 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
