import SkiffPlatform
import SkiffStack
import SkiffWire

/// The network configuration from every source the kernel has: the command line's `skiff.net=`
/// and `ip=` parameters, the interfaces files of boot modules, the interfaces file built into the
/// image (`skiff build --interfaces`), and DHCP as the default.
///
/// Precedence, per device, highest first:
/// 1. a `skiff.net=` that selects the device (by name or MAC): Skiff's own override, so it wins
///    over an `ip=` for the same device, which is reported as overridden;
/// 2. an `ip=` that reaches the device (by `BootConfiguration.assign`);
/// 3. the first stanza of the interfaces files that selects the device — the boot modules' files
///    (modules in order, then file order) when any module carries one, else the image's file:
///    a module replaces the image's file as a whole. A stanza selects a device by `hwaddress`
///    when it has one (the device with that MAC, whatever its name: names depend on the
///    hypervisor's PCI order, MACs do not), else by name (eth0, eth1… in device order). A stanza
///    with errors leaves its device unconfigured;
/// 4. `fallback` (DHCP unless the caller says otherwise) for a device nothing else reaches.
/// A command-line source that wins over a stanza makes the stanza reported as overridden. `off`
/// (`skiff.net=eth1:off`, `ip=off`, `inet manual`) leaves a device without an address and without
/// the fallback.
public struct NetworkConfiguration {
    public var boot: BootConfiguration
    public var modules: [InterfacesModule]
    /// The interfaces file built into the image; used only when no boot module carries one.
    public var image: InterfacesFile?
    /// What a device that no source configures gets: DHCP by default; nil leaves it unconfigured.
    public var fallback: IPAutoconf?

    public init(boot: BootConfiguration, modules: [InterfacesModule] = [], image: InterfacesFile? = nil,
                fallback: IPAutoconf? = .dhcp) {
        self.boot = boot
        self.modules = modules
        self.image = image
        self.fallback = fallback
    }
}

/// Where a device's configuration came from.
public enum ConfigurationSource: Equatable, Sendable, CustomStringConvertible {
    /// An `ip=` on the command line (column of the parameter).
    case commandLine(column: Int)
    /// A `skiff.net=` on the command line (column of the parameter).
    case skiffNet(column: Int)
    /// An `iface` stanza of an interfaces file in boot module `module` (1-based), at `line`.
    case interfaces(module: Int, line: Int)
    /// An `iface` stanza of the interfaces file built into the image, at `line`.
    case imageInterfaces(line: Int)
    /// Nothing configures the device: `NetworkConfiguration.fallback` applies.
    case fallback
    case none

    public var description: String {
        switch self {
        case .commandLine(let column): return "command line (ip= at column \(column))"
        case .skiffNet(let column): return "command line (skiff.net= at column \(column))"
        case .interfaces(let module, let line): return "interfaces (module \(module), line \(line))"
        case .imageInterfaces(let line): return "interfaces (image, line \(line))"
        case .fallback: return "default (no skiff.net=, ip= or iface for it)"
        case .none: return "nothing"
        }
    }
}

/// A device as `NetworkConfiguration.apply` left it.
public struct AppliedInterface {
    public let interface: Interface
    public let source: ConfigurationSource
    /// The `ip=` applied, when an `ip=` configured the device.
    public let parameter: IPParameter?
    /// The `skiff.net=` applied, when one configured the device.
    public let net: SkiffNetParameter?
    /// The stanza applied, when an interfaces file configured the device.
    public let stanza: InterfaceStanza?
    /// DHCP (or another mode) the caller still has to run.
    public let pendingAutoconf: IPAutoconf?
    /// What else to say about the device (overrides, an MTU kept, routes not added).
    public var notes: [String]

    init(interface: Interface, source: ConfigurationSource, parameter: IPParameter? = nil, net: SkiffNetParameter? = nil,
         stanza: InterfaceStanza? = nil, pendingAutoconf: IPAutoconf? = nil, notes: [String]) {
        self.interface = interface
        self.source = source
        self.parameter = parameter
        self.net = net
        self.stanza = stanza
        self.pendingAutoconf = pendingAutoconf
        self.notes = notes
    }

    /// True when the source leaves the device down on purpose (`skiff.net=…:off`, `ip=off`).
    public var isOff: Bool {
        if let net { return net.mode == .off }
        if let parameter { return parameter.autoconf == .off && parameter.address == nil }
        return false
    }
}

/// What `apply` did: per device, and the lines to print.
public struct NetworkApplication {
    public var interfaces: [AppliedInterface]
    /// `config:` lines (which interfaces file, when the image has one; one per device, then notes,
    /// parameters and stanzas that matched no device) and `dns:` lines.
    public var lines: [String]
    public var dnsServers: [IPv4Address]
    public var dnsSearch: [String]
}

/// Where an interfaces file came from.
enum InterfacesOrigin {
    case module(Int)
    case image

    /// `module 1`, `image`: as in `interfaces (module 1, line 3)`.
    var text: String {
        switch self {
        case .module(let number): return "module \(number)"
        case .image: return "image"
        }
    }

    func source(line: Int) -> ConfigurationSource {
        switch self {
        case .module(let number): return .interfaces(module: number, line: line)
        case .image: return .imageInterfaces(line: line)
        }
    }
}

extension NetworkConfiguration {
    /// Adds one interface per device to `stack`, named `names` (default eth0, eth1…), and
    /// configures each from its source (see the type's comment): address, default route through
    /// the gateway, static routes, MTU (lowered only: a larger one than the device's is kept at the
    /// device's and reported). Meant for a stack without interfaces. A parameter or stanza that
    /// selects no device is a line and the others still apply; the command line's contradictions
    /// (two `skiff.net=` or two `ip=` reaching one device, one by name and one by MAC) throw before
    /// the stack is touched.
    public func apply(to stack: NetworkStack, devices: [any NetworkDevice], names: [String]? = nil,
                      now: Instant) throws(CommandLineError) -> NetworkApplication {
        let deviceNames = names ?? BootConfiguration.defaultDeviceNames(count: devices.count)
        precondition(deviceNames.count == devices.count, "apply: one name per device")
        var macs: [MACAddress] = []
        for device in devices { macs.append(device.macAddress) }
        let assignment = try boot.assign(names: deviceNames, macs: macs)
        var lines: [String] = []

        // The interfaces files: the modules' when there are any, else the image's.
        var files: [(origin: InterfacesOrigin, file: InterfacesFile)] = []
        for module in modules { files.append((.module(module.module), module.file)) }
        var header: [String] = []
        if let image {
            if files.isEmpty {
                files.append((.image, image))
                header.append("config: interfaces from the image (skiff build --interfaces)")
            } else {
                let names = modules.map { "module \($0.module)" }.joined(separator: ", ")
                header.append("config: interfaces from \(names); the image's file is not used")
            }
        }

        // Which stanza selects which device.
        var selected = [(origin: InterfacesOrigin, stanza: InterfaceStanza)?](repeating: nil, count: devices.count)
        var stanzaNames = [String?](repeating: nil, count: devices.count)
        for (origin, file) in files {
            for stanza in file.stanzas where stanza.method != .loopback {
                let index: Int?
                if let mac = stanza.hardwareAddress {
                    index = macs.firstIndex(of: mac)
                } else {
                    index = deviceNames.firstIndex { BootConfiguration.same($0, stanza.name) }
                }
                guard let index else {
                    let by = stanza.hardwareAddress.map { "hwaddress \($0)" } ?? "name"
                    lines.append("config: iface \(stanza.name) at interfaces (\(origin.text), line \(stanza.line)) "
                                 + "matches no device by \(by) (\(CommandLineError.listing(deviceNames)))")
                    continue
                }
                if let earlier = selected[index] {
                    lines.append("config: iface \(stanza.name) at interfaces (\(origin.text), line \(stanza.line)) "
                                 + "ignored: \(deviceNames[index]) is already configured by line \(earlier.stanza.line)")
                    continue
                }
                selected[index] = (origin, stanza)
                stanzaNames[index] = stanza.name
            }
        }

        // The command line's parameters that reach no device.
        var unmatchedLines: [String] = []
        for unmatched in assignment.unmatched {
            switch unmatched {
            case .ip(let parameter):
                unmatchedLines.append(NetworkConfiguration.noDeviceLine(
                    "ip=", column: parameter.column, name: parameter.device, mac: parameter.deviceMAC,
                    names: deviceNames, macs: macs))
            case .ipNoDeviceLeft(let parameter):
                unmatchedLines.append("config: ip= at column \(parameter.column) matches no device: every device already has an ip= "
                                      + "(\(CommandLineError.listing(deviceNames))); ignored")
            case .net(let net):
                var name: String? = nil
                var mac: MACAddress? = nil
                switch net.device {
                case .name(let text): name = text
                case .mac(let address): mac = address
                }
                unmatchedLines.append(NetworkConfiguration.noDeviceLine(
                    "skiff.net=", column: net.column, name: name, mac: mac, names: deviceNames, macs: macs))
            }
        }

        // DNS: ip='s servers (global, as in Linux), then each applied skiff.net='s, then the stanzas'.
        var dnsServers = boot.dnsServers
        var dnsSearch: [String] = []
        func addDNS(_ servers: [IPv4Address], _ domains: [String]) {
            for server in servers where !dnsServers.contains(server) { dnsServers.append(server) }
            for domain in domains where !dnsSearch.contains(where: { BootConfiguration.same($0, domain) }) {
                dnsSearch.append(domain)
            }
        }
        for net in assignment.net { if let net { addDNS(net.dnsServers, net.searchDomains) } }

        var result: [AppliedInterface] = []
        for (index, device) in devices.enumerated() {
            let interface = stack.addInterface(device, name: deviceNames[index])
            var notes: [String] = []
            func overridden(by what: String) {
                if let (origin, stanza) = selected[index] {
                    notes.append("interfaces (\(origin.text), line \(stanza.line)) iface \(stanza.name) overridden by \(what)")
                }
            }
            func setMTU(_ mtu: Int) {
                if mtu <= device.mtu {
                    interface.mtu = mtu
                } else {
                    notes.append("mtu \(mtu) is larger than the device's \(device.mtu); kept \(device.mtu)")
                }
            }
            func addStatic(_ address: IPv4CIDR, gateway: IPv4Address?) {
                stack.addAddress(address, to: interface, now: now)
                if let gateway {
                    stack.addRoute(IPv4CIDR(address: .any, prefixLength: 0), via: gateway, interface: interface)
                }
            }

            if let net = assignment.net[index] {
                if let parameter = assignment.ip[index] {
                    notes.append("ip= at column \(parameter.column) overridden by skiff.net= at column \(net.column)")
                }
                overridden(by: "the command line")
                var pending: IPAutoconf? = nil
                switch net.mode {
                case .staticAddress:
                    if let address = net.address { addStatic(address, gateway: net.gateway) }
                case .dhcp:
                    pending = .dhcp
                case .off:
                    break
                }
                if let mtu = net.mtu { setMTU(mtu) }
                result.append(AppliedInterface(interface: interface, source: .skiffNet(column: net.column), net: net,
                                               pendingAutoconf: pending, notes: notes))
                continue
            }
            if let parameter = assignment.ip[index] {
                if parameter.autoconf == .off, let address = parameter.interfaceAddress {
                    addStatic(address, gateway: parameter.gateway)
                }
                overridden(by: "the command line")
                result.append(AppliedInterface(interface: interface, source: .commandLine(column: parameter.column),
                                               parameter: parameter,
                                               pendingAutoconf: parameter.autoconf == .off ? nil : parameter.autoconf,
                                               notes: notes))
                continue
            }
            guard let (origin, stanza) = selected[index] else {
                if let fallback {
                    result.append(AppliedInterface(interface: interface, source: .fallback, pendingAutoconf: fallback, notes: notes))
                } else {
                    result.append(AppliedInterface(interface: interface, source: .none, notes: notes))
                }
                continue
            }
            guard stanza.isValid else {
                notes.append("interfaces (\(origin.text), line \(stanza.line)) iface \(stanza.name) has errors; left unconfigured")
                result.append(AppliedInterface(interface: interface, source: .none, stanza: stanza, notes: notes))
                continue
            }
            if let mtu = stanza.mtu { setMTU(mtu) }
            var pending: IPAutoconf? = nil
            switch stanza.method {
            case .staticAddress:
                if let address = stanza.address { addStatic(address, gateway: stanza.gateway) }
            case .dhcp:
                pending = .dhcp
            case .manual, .loopback:
                break
            }
            addDNS(stanza.dnsServers, stanza.dnsSearch)
            result.append(AppliedInterface(interface: interface, source: origin.source(line: stanza.line), stanza: stanza,
                                           pendingAutoconf: pending, notes: notes))
        }

        // Static routes, once every interface exists (a `dev` may name another one).
        for index in result.indices {
            guard let stanza = result[index].stanza, stanza.isValid else { continue }
            switch result[index].source {
            case .interfaces, .imageInterfaces: break
            default: continue
            }
            for route in stanza.routes {
                var target: Interface? = result[index].interface
                if let name = route.device, !BootConfiguration.same(name, stanza.name),
                   !BootConfiguration.same(name, deviceNames[index]) {
                    target = nil
                    for other in result.indices where BootConfiguration.same(deviceNames[other], name)
                        || stanzaNames[other].map({ BootConfiguration.same($0, name) }) == true {
                        target = result[other].interface
                    }
                }
                guard let target else {
                    result[index].notes.append("route \(route.destination) via \(route.gateway) (line \(route.line)): "
                                               + "no interface \(route.device ?? ""); not added")
                    continue
                }
                stack.addRoute(route.destination, via: route.gateway, interface: target)
            }
        }

        var deviceLines: [String] = []
        for applied in result {
            deviceLines.append(ConfigurationReport.sourceLine(applied))
            for note in applied.notes { deviceLines.append("config: \(applied.interface.name): \(note)") }
        }
        lines = header + deviceLines + unmatchedLines + lines
        if !dnsServers.isEmpty { lines.append("dns: " + dnsServers.map { $0.description }.joined(separator: " ")) }
        if !dnsSearch.isEmpty { lines.append("dns: search " + dnsSearch.joined(separator: " ")) }
        return NetworkApplication(interfaces: result, lines: lines, dnsServers: dnsServers, dnsSearch: dnsSearch)
    }

    /// `config: skiff.net= at column 11 matches no device by mac 02:00:00:00:00:99 (devices: eth0
    /// 52:54:00:12:34:50, eth1 52:54:00:12:34:51); ignored`, or `… by name eth2 (devices: eth0, eth1); ignored`.
    static func noDeviceLine(_ key: String, column: Int, name: String?, mac: MACAddress?, names: [String],
                             macs: [MACAddress]) -> String {
        var line = "config: \(key) at column \(column) matches no device "
        if let mac {
            var listing = "there are no network devices"
            if !names.isEmpty {
                var pairs: [String] = []
                for (index, name) in names.enumerated() { pairs.append("\(name) \(macs[index])") }
                listing = "devices: " + pairs.joined(separator: ", ")
            }
            line += "by mac \(mac) (\(listing))"
        } else {
            line += "by name \(name ?? "") (\(CommandLineError.listing(names)))"
        }
        return line + "; ignored"
    }
}

extension ConfigurationReport {
    /// `config: eth0 from interfaces (module 1, line 3)`, `config: eth1 from command line (ip= at
    /// column 12)`, `config: eth0 from interfaces (module 1, line 3) by hwaddress 52:54:00:12:34:56
    /// as lan0, dhcp pending`, `config: eth1 from command line (skiff.net= at column 1) by mac
    /// 52:54:00:12:34:57`, `config: eth2 from command line (skiff.net= at column 40), off`,
    /// `config: eth3 from default (no skiff.net=, ip= or iface for it), dhcp pending`,
    /// `config: eth4 unconfigured`.
    public static func sourceLine(_ applied: AppliedInterface) -> String {
        var line = "config: \(applied.interface.name) "
        if case .none = applied.source { return line + "unconfigured" }
        line += "from \(applied.source)"
        if let stanza = applied.stanza {
            if let mac = stanza.hardwareAddress { line += " by hwaddress \(mac)" }
            if !BootConfiguration.same(stanza.name, applied.interface.name) { line += " as \(stanza.name)" }
            if stanza.method == .manual { line += ", manual (no address)" }
        }
        if let mac = applied.parameter?.deviceMAC { line += " by mac \(mac)" }
        if let net = applied.net, case .mac(let mac) = net.device { line += " by mac \(mac)" }
        if applied.isOff { line += ", off" }
        if let pending = applied.pendingAutoconf { line += ", \(pending) pending" }
        return line
    }
}
