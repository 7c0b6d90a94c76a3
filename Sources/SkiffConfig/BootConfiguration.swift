import SkiffWire

/// What the kernel command line says about the network: its `ip=` parameters, checked.
///
/// Skiff allows several `ip=` parameters, one per device. Which device each configures
/// (`assignDevices`):
/// 1. an `ip=` with a device field configures the device of that name; two for the same device are
///    an error, and so is a name no device has;
/// 2. the `ip=` parameters without a device, in command-line order, configure the devices that no
///    `ip=` names, in device order: with `ip=dhcp ip=198.18.1.10/24:::::eth0`, eth0 is static and
///    eth1 runs DHCP. One more such `ip=` than there are devices left is an error.
/// (Linux uses every device for autoconfiguration when the device field is empty; Skiff gives each
/// `ip=` one device.) Devices no `ip=` reaches are left unconfigured.
public struct BootConfiguration: Equatable, Sendable {
    /// The whole command line, for the parameters that are not Skiff's.
    public var commandLine: KernelCommandLine
    /// The `ip=` parameters, in command-line order.
    public var ipParameters: [IPParameter]

    /// Splits `commandLine` and checks every `ip=` in it.
    public init(commandLine text: String) throws(CommandLineError) {
        let commandLine = try KernelCommandLine(text)
        var parameters: [IPParameter] = []
        for parameter in commandLine.parameters(named: "ip") {
            guard let value = parameter.value, let valueColumn = parameter.valueColumn else {
                throw CommandLineError(column: parameter.column, problem: .missingValue(key: parameter.key))
            }
            let ip = try IPParameter.parse(value, column: parameter.column, valueColumn: valueColumn)
            if let device = ip.device,
               let first = parameters.first(where: { $0.device.map { BootConfiguration.same($0, device) } ?? false }) {
                throw CommandLineError(column: ip.deviceColumn ?? ip.column,
                                       problem: .duplicateDevice(device, firstColumn: first.column))
            }
            parameters.append(ip)
        }
        self.commandLine = commandLine
        self.ipParameters = parameters
    }

    public init(commandLine: KernelCommandLine, ipParameters: [IPParameter]) {
        self.commandLine = commandLine
        self.ipParameters = ipParameters
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
    /// for a device no `ip=` reaches.
    public func assignDevices(_ deviceNames: [String]) throws(CommandLineError) -> [IPParameter?] {
        var assigned = [IPParameter?](repeating: nil, count: deviceNames.count)
        for parameter in ipParameters {
            guard let device = parameter.device else { continue }
            guard let index = deviceNames.firstIndex(where: { BootConfiguration.same($0, device) }) else {
                throw CommandLineError(column: parameter.deviceColumn ?? parameter.column,
                                       problem: .unknownDevice(device, existing: deviceNames))
            }
            assigned[index] = parameter
        }
        var named = assigned.map { $0 != nil }
        var next = 0
        for parameter in ipParameters where parameter.device == nil {
            while next < named.count && named[next] { next += 1 }
            guard next < named.count else {
                throw CommandLineError(column: parameter.column, problem: .noDeviceLeft(existing: deviceNames))
            }
            assigned[next] = parameter
            named[next] = true
        }
        return assigned
    }

    /// Byte-wise name comparison (no Unicode tables in the kernel).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}
