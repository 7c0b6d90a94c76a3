import SkiffWire

/// What the kernel command line says about the network: its `ip=` and `skiff.net=` parameters,
/// checked.
///
/// Skiff allows several `ip=` parameters, one per device. Which device each configures
/// (`assign`):
/// 1. an `ip=` with a device field configures the device of that name, or with that MAC when the
///    field is one (`52-54-00-12-34-56`); two for the same device are an error;
/// 2. the `ip=` parameters without a device, in command-line order, configure the devices that no
///    `ip=` names, in device order: with `ip=dhcp ip=198.18.1.10/24:::::eth0`, eth0 is static and
///    eth1 runs DHCP.
/// (Linux uses every device for autoconfiguration when the device field is empty; Skiff gives each
/// `ip=` one device.) Each `skiff.net=` configures the device it selects by name or MAC; where a
/// `skiff.net=` and an `ip=` reach the same device the `skiff.net=` wins (NetworkConfiguration).
/// A parameter that reaches no device — a name or MAC no device has, or one unnamed `ip=` more
/// than there are devices left — is returned as unmatched, for the caller to report.
public struct BootConfiguration: Equatable, Sendable {
    /// The whole command line, for the parameters that are not Skiff's.
    public var commandLine: KernelCommandLine
    /// The `ip=` parameters, in command-line order.
    public var ipParameters: [IPParameter]
    /// The `skiff.net=` parameters, in command-line order.
    public var netParameters: [SkiffNetParameter]

    /// Splits `commandLine` and checks every `ip=` and `skiff.net=` in it, in command-line order.
    public init(commandLine text: String) throws(CommandLineError) {
        let commandLine = try KernelCommandLine(text)
        var parameters: [IPParameter] = []
        var netParameters: [SkiffNetParameter] = []
        for parameter in commandLine.parameters {
            let isIP = parameter.hasKey("ip")
            guard isIP || parameter.hasKey("skiff.net") else { continue }
            guard let value = parameter.value, let valueColumn = parameter.valueColumn else {
                throw CommandLineError(column: parameter.column, problem: .missingValue(key: parameter.key))
            }
            if isIP {
                let ip = try IPParameter.parse(value, column: parameter.column, valueColumn: valueColumn)
                if ip.selectsDevice, let first = parameters.first(where: { BootConfiguration.sameSelection($0, ip) }) {
                    throw CommandLineError(column: ip.deviceColumn ?? ip.column,
                                           problem: .duplicateDevice(ip.deviceText ?? "", firstColumn: first.column))
                }
                parameters.append(ip)
            } else {
                let net = try SkiffNetParameter.parse(value, column: parameter.column, valueColumn: valueColumn)
                if let first = netParameters.first(where: { BootConfiguration.sameSelection($0.device, net.device) }) {
                    throw CommandLineError(column: valueColumn,
                                           problem: .net(.duplicateDevice(net.device.description, firstColumn: first.column)))
                }
                netParameters.append(net)
            }
        }
        self.commandLine = commandLine
        self.ipParameters = parameters
        self.netParameters = netParameters
    }

    public init(commandLine: KernelCommandLine, ipParameters: [IPParameter], netParameters: [SkiffNetParameter] = []) {
        self.commandLine = commandLine
        self.ipParameters = ipParameters
        self.netParameters = netParameters
    }

    /// The first hostname an `ip=` gives.
    public var hostname: String? {
        for parameter in ipParameters { if let name = parameter.hostname { return name } }
        return nil
    }

    /// The DNS servers of all `ip=` parameters, in order, each once.
    public var dnsServers: [IPv4Address] {
        var servers: [IPv4Address] = []
        for parameter in ipParameters {
            for server in parameter.dnsServers where !servers.contains(server) { servers.append(server) }
        }
        return servers
    }

    /// The `ip=` parameter of each device (by the rule above), in the order of `deviceNames`; nil
    /// for a device no `ip=` reaches. Strict: an `ip=` that reaches no device is an error
    /// (`unknownDevice`, `noDeviceLeft`). `macs`, one per device, let an `ip=` select by MAC.
    public func assignDevices(_ deviceNames: [String], macs: [MACAddress]? = nil) throws(CommandLineError) -> [IPParameter?] {
        let assignment = try assign(names: deviceNames, macs: macs)
        for unmatched in assignment.unmatched {
            switch unmatched {
            case .ip(let parameter):
                throw CommandLineError(column: parameter.deviceColumn ?? parameter.column,
                                       problem: .unknownDevice(parameter.deviceText ?? "", existing: deviceNames))
            case .ipNoDeviceLeft(let parameter):
                throw CommandLineError(column: parameter.column, problem: .noDeviceLeft(existing: deviceNames))
            case .net:
                continue
            }
        }
        return assignment.ip
    }

    /// Which device each `ip=` and each `skiff.net=` reaches (see the type's comment), for devices
    /// named `names` with the MACs `macs` (nil: selection by MAC finds nothing). Throws only when
    /// two parameters of one kind turn out to select the same device, one by name and one by MAC.
    public func assign(names: [String], macs: [MACAddress]? = nil) throws(CommandLineError) -> CommandLineAssignment {
        precondition(macs.map { $0.count == names.count } ?? true, "assign: one MAC per device")
        func index(name: String?, mac: MACAddress?) -> Int? {
            if let mac { return macs?.firstIndex(of: mac) }
            guard let name else { return nil }
            return names.firstIndex { BootConfiguration.same($0, name) }
        }
        var assignment = CommandLineAssignment(ip: [IPParameter?](repeating: nil, count: names.count),
                                               net: [SkiffNetParameter?](repeating: nil, count: names.count),
                                               unmatched: [])
        for parameter in ipParameters where parameter.selectsDevice {
            guard let index = index(name: parameter.device, mac: parameter.deviceMAC) else {
                assignment.unmatched.append(.ip(parameter))
                continue
            }
            if let first = assignment.ip[index] {
                throw CommandLineError(column: parameter.deviceColumn ?? parameter.column,
                                       problem: .sameDevice(names[index], firstColumn: first.column))
            }
            assignment.ip[index] = parameter
        }
        var named = assignment.ip.map { $0 != nil }
        var next = 0
        for parameter in ipParameters where !parameter.selectsDevice {
            while next < named.count && named[next] { next += 1 }
            guard next < named.count else {
                assignment.unmatched.append(.ipNoDeviceLeft(parameter))
                continue
            }
            assignment.ip[next] = parameter
            named[next] = true
        }
        for parameter in netParameters {
            let found: Int?
            switch parameter.device {
            case .name(let name): found = index(name: name, mac: nil)
            case .mac(let mac): found = index(name: nil, mac: mac)
            }
            guard let found else {
                assignment.unmatched.append(.net(parameter))
                continue
            }
            if let first = assignment.net[found] {
                throw CommandLineError(column: parameter.column,
                                       problem: .net(.sameDevice(names[found], firstColumn: first.column)))
            }
            assignment.net[found] = parameter
        }
        return assignment
    }

    /// True when two `ip=` name the same device in the same way (both by name, or both by MAC).
    static func sameSelection(_ a: IPParameter, _ b: IPParameter) -> Bool {
        if let x = a.device, let y = b.device { return same(x, y) }
        if let x = a.deviceMAC, let y = b.deviceMAC { return x == y }
        return false
    }

    static func sameSelection(_ a: SkiffNetDevice, _ b: SkiffNetDevice) -> Bool {
        switch (a, b) {
        case (.name(let x), .name(let y)): return same(x, y)
        case (.mac(let x), .mac(let y)): return x == y
        default: return false
        }
    }

    /// Byte-wise name comparison (no Unicode tables in the kernel).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}

/// Where the command line's parameters go: per device, and those that reach none.
public struct CommandLineAssignment: Equatable, Sendable {
    /// Per device, in the order of the names given: its `ip=`, nil for none.
    public var ip: [IPParameter?]
    /// Per device: its `skiff.net=`, nil for none.
    public var net: [SkiffNetParameter?]
    /// The parameters that reach no device, in the order they were looked at.
    public var unmatched: [UnmatchedParameter]
}

/// A command-line parameter that reaches no device.
public enum UnmatchedParameter: Equatable, Sendable {
    /// An `ip=` whose device field names no device (by name or by MAC).
    case ip(IPParameter)
    /// An `ip=` without a device when every device already has an `ip=`.
    case ipNoDeviceLeft(IPParameter)
    /// A `skiff.net=` whose name or MAC no device has.
    case net(SkiffNetParameter)
}
