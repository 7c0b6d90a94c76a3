import SkiffPlatform
import SkiffStack
import SkiffWire

/// A device as `BootConfiguration.apply` left it.
public struct ConfiguredInterface {
    /// The stack's interface for the device.
    public let interface: Interface
    /// The `ip=` that configures the device; nil when none reaches it.
    public let parameter: IPParameter?

    public init(interface: Interface, parameter: IPParameter?) {
        self.interface = interface
        self.parameter = parameter
    }

    /// The autoconfiguration the caller still has to run (DHCP, or a mode Skiff does not
    /// implement); nil when the device is configured statically or left unconfigured.
    public var pendingAutoconf: IPAutoconf? {
        guard let parameter, parameter.autoconf != .off else { return nil }
        return parameter.autoconf
    }
}

extension BootConfiguration {
    /// The names `apply` gives devices when the caller names none: eth0, eth1…
    public static func defaultDeviceNames(count: Int) -> [String] {
        (0..<max(count, 0)).map { "eth\($0)" }
    }

    /// Adds one interface per device to `stack`, in order, named `names` (default eth0, eth1…),
    /// and gives each device its `ip=` (see `assignDevices`): for a static one the address (which
    /// adds the route to its subnet) and, with a gateway, a default route through it. Devices
    /// whose `ip=` asks for autoconfiguration get an interface without an address: the caller runs
    /// DHCP on them (`pendingAutoconf`). With gateways on several devices every default route is
    /// added with metric 0, and the first device's is used (the routing table keeps the one added
    /// first among equals).
    ///
    /// Meant for a stack that has no interfaces yet. Everything is checked before the stack is
    /// touched: on an error the stack is unchanged. Only `ip=` is applied here, strictly (an `ip=`
    /// that reaches no device is an error); `NetworkConfiguration.apply` adds `skiff.net=`,
    /// interfaces files and the DHCP default, and reports what reaches no device instead.
    @discardableResult
    public func apply(to stack: NetworkStack, devices: [any NetworkDevice], names: [String]? = nil,
                      now: Instant) throws(CommandLineError) -> [ConfiguredInterface] {
        let deviceNames = names ?? BootConfiguration.defaultDeviceNames(count: devices.count)
        precondition(deviceNames.count == devices.count, "apply: one name per device")
        var macs: [MACAddress] = []
        for device in devices { macs.append(device.macAddress) }
        let assigned = try assignDevices(deviceNames, macs: macs)
        var result: [ConfiguredInterface] = []
        for (index, device) in devices.enumerated() {
            let interface = stack.addInterface(device, name: deviceNames[index])
            let parameter = assigned[index]
            if let parameter, parameter.autoconf == .off, let address = parameter.interfaceAddress {
                stack.addAddress(address, to: interface, now: now)
                if let gateway = parameter.gateway {
                    stack.addRoute(IPv4CIDR(address: .any, prefixLength: 0), via: gateway, interface: interface)
                }
            }
            result.append(ConfiguredInterface(interface: interface, parameter: parameter))
        }
        return result
    }
}
