import SkiffPlatform
import SkiffStack
import SkiffWire

/// The network configuration from every source the kernel has: the command line's `ip=`
/// parameters and the interfaces files of boot modules.
///
/// Precedence, per device: an `ip=` that reaches the device (by `BootConfiguration.assignDevices`)
/// wins over any interfaces file, and the file's stanza for that device is reported as
/// overridden; otherwise the first stanza (modules in order, then file order) that selects the
/// device configures it; otherwise the device is left unconfigured. A stanza selects a device by
/// `hwaddress` when it has one (the device with that MAC, whatever its name: names depend on the
/// hypervisor's PCI order, MACs do not), else by name (eth0, eth1… in device order).
public struct NetworkConfiguration {
    public var boot: BootConfiguration
    public var modules: [InterfacesModule]

    public init(boot: BootConfiguration, modules: [InterfacesModule] = []) {
        self.boot = boot
        self.modules = modules
    }
}

/// Where a device's configuration came from.
public enum ConfigurationSource: Equatable, Sendable, CustomStringConvertible {
    /// An `ip=` on the command line (column of the parameter).
    case commandLine(column: Int)
    /// An `iface` stanza of an interfaces file in boot module `module` (1-based), at `line`.
    case interfaces(module: Int, line: Int)
    case none

    public var description: String {
        switch self {
        case .commandLine(let column): return "command line (ip= at column \(column))"
        case .interfaces(let module, let line): return "interfaces (module \(module), line \(line))"
        case .none: return "nothing"
        }
    }
}

/// A device as `NetworkConfiguration.apply` left it.
public struct AppliedInterface {
    public let interface: Interface
    public let source: ConfigurationSource
    /// The `ip=` applied, when the command line configured the device.
    public let parameter: IPParameter?
    /// The stanza applied, when an interfaces file configured the device.
    public let stanza: InterfaceStanza?
    /// DHCP (or another mode) the caller still has to run.
    public let pendingAutoconf: IPAutoconf?
    /// What else to say about the device (overrides, an MTU kept, routes not added).
    public var notes: [String]
}

/// What `apply` did: per device, and the lines to print.
public struct NetworkApplication {
    public var interfaces: [AppliedInterface]
    /// `config:` lines (one per device, then notes and stanzas that matched no device) and `dns:`
    /// lines.
    public var lines: [String]
    public var dnsServers: [IPv4Address]
    public var dnsSearch: [String]
}

extension NetworkConfiguration {
    /// Adds one interface per device to `stack`, named `names` (default eth0, eth1…), and
    /// configures each from its source (see the type's comment): address, default route through
    /// the gateway, static routes, MTU (lowered only: a larger one than the device's is kept at the
    /// device's and reported). Meant for a stack without interfaces. Command-line errors (an `ip=`
    /// naming no device…) throw before the stack is touched; interfaces-file problems are lines.
    public func apply(to stack: NetworkStack, devices: [any NetworkDevice], names: [String]? = nil,
                      now: Instant) throws(CommandLineError) -> NetworkApplication {
        let deviceNames = names ?? BootConfiguration.defaultDeviceNames(count: devices.count)
        precondition(deviceNames.count == devices.count, "apply: one name per device")
        let assigned = try boot.assignDevices(deviceNames)
        var lines: [String] = []

        // Which stanza selects which device.
        var selected = [(module: Int, stanza: InterfaceStanza)?](repeating: nil, count: devices.count)
        var stanzaNames = [String?](repeating: nil, count: devices.count)
        for module in modules {
            for stanza in module.file.stanzas where stanza.method != .loopback {
                let index: Int?
                if let mac = stanza.hardwareAddress {
                    index = devices.firstIndex { $0.macAddress == mac }
                } else {
                    index = deviceNames.firstIndex { BootConfiguration.same($0, stanza.name) }
                }
                guard let index else {
                    let by = stanza.hardwareAddress.map { "hwaddress \($0)" } ?? "name"
                    lines.append("config: iface \(stanza.name) at interfaces (module \(module.module), line \(stanza.line)) "
                                 + "matches no device by \(by) (\(CommandLineError.listing(deviceNames)))")
                    continue
                }
                if let earlier = selected[index] {
                    lines.append("config: iface \(stanza.name) at interfaces (module \(module.module), line \(stanza.line)) "
                                 + "ignored: \(deviceNames[index]) is already configured by line \(earlier.stanza.line)")
                    continue
                }
                selected[index] = (module.module, stanza)
                stanzaNames[index] = stanza.name
            }
        }

        var result: [AppliedInterface] = []
        var dnsServers = boot.dnsServers
        var dnsSearch: [String] = []
        for (index, device) in devices.enumerated() {
            let interface = stack.addInterface(device, name: deviceNames[index])
            var notes: [String] = []
            if let parameter = assigned[index] {
                if parameter.autoconf == .off, let address = parameter.interfaceAddress {
                    stack.addAddress(address, to: interface, now: now)
                    if let gateway = parameter.gateway {
                        stack.addRoute(IPv4CIDR(address: .any, prefixLength: 0), via: gateway, interface: interface)
                    }
                }
                if let (module, stanza) = selected[index] {
                    notes.append("interfaces (module \(module), line \(stanza.line)) iface \(stanza.name) overridden by the command line")
                }
                result.append(AppliedInterface(interface: interface, source: .commandLine(column: parameter.column),
                                               parameter: parameter, stanza: nil,
                                               pendingAutoconf: parameter.autoconf == .off ? nil : parameter.autoconf,
                                               notes: notes))
                continue
            }
            guard let (module, stanza) = selected[index] else {
                result.append(AppliedInterface(interface: interface, source: .none, parameter: nil, stanza: nil,
                                               pendingAutoconf: nil, notes: notes))
                continue
            }
            let source = ConfigurationSource.interfaces(module: module, line: stanza.line)
            guard stanza.isValid else {
                notes.append("interfaces (module \(module), line \(stanza.line)) iface \(stanza.name) has errors; left unconfigured")
                result.append(AppliedInterface(interface: interface, source: .none, parameter: nil, stanza: stanza,
                                               pendingAutoconf: nil, notes: notes))
                continue
            }
            if let mtu = stanza.mtu {
                if mtu <= device.mtu {
                    interface.mtu = mtu
                } else {
                    notes.append("mtu \(mtu) is larger than the device's \(device.mtu); kept \(device.mtu)")
                }
            }
            var pending: IPAutoconf? = nil
            switch stanza.method {
            case .staticAddress:
                if let address = stanza.address {
                    stack.addAddress(address, to: interface, now: now)
                    if let gateway = stanza.gateway {
                        stack.addRoute(IPv4CIDR(address: .any, prefixLength: 0), via: gateway, interface: interface)
                    }
                }
            case .dhcp:
                pending = .dhcp
            case .manual, .loopback:
                break
            }
            for server in stanza.dnsServers where !dnsServers.contains(server) { dnsServers.append(server) }
            for domain in stanza.dnsSearch where !dnsSearch.contains(where: { BootConfiguration.same($0, domain) }) {
                dnsSearch.append(domain)
            }
            result.append(AppliedInterface(interface: interface, source: source, parameter: nil, stanza: stanza,
                                           pendingAutoconf: pending, notes: notes))
        }

        // Static routes, once every interface exists (a `dev` may name another one).
        for index in result.indices {
            guard let stanza = result[index].stanza, stanza.isValid, case .interfaces = result[index].source else { continue }
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
        lines = deviceLines + lines
        if !dnsServers.isEmpty { lines.append("dns: " + dnsServers.map { $0.description }.joined(separator: " ")) }
        if !dnsSearch.isEmpty { lines.append("dns: search " + dnsSearch.joined(separator: " ")) }
        return NetworkApplication(interfaces: result, lines: lines, dnsServers: dnsServers, dnsSearch: dnsSearch)
    }
}

extension ConfigurationReport {
    /// `config: eth0 from interfaces (module 1, line 3)`, `config: eth1 from command line (ip= at
    /// column 12)`, `config: eth0 from interfaces (module 1, line 3) by hwaddress 52:54:00:12:34:56
    /// as lan0, dhcp pending`, `config: eth2 unconfigured`.
    public static func sourceLine(_ applied: AppliedInterface) -> String {
        var line = "config: \(applied.interface.name) "
        if case .none = applied.source { return line + "unconfigured" }
        line += "from \(applied.source)"
        if let stanza = applied.stanza {
            if let mac = stanza.hardwareAddress { line += " by hwaddress \(mac)" }
            if !BootConfiguration.same(stanza.name, applied.interface.name) { line += " as \(stanza.name)" }
            if stanza.method == .manual { line += ", manual (no address)" }
        }
        if let pending = applied.pendingAutoconf { line += ", \(pending) pending" }
        return line
    }
}
