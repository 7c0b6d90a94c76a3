// libFuzzer target for the kernel command line, `ip=` and `skiff.net=` (Sources/SkiffConfig),
// compiled as one module with the sources of the modules below by Scripts/fuzz.sh.
// fuzz-modules: SkiffWire SkiffPlatform SkiffStack SkiffConfig
//
// The input is the command line's bytes (as UTF-8, invalid sequences repaired), and also a value
// for `ip=` and for `skiff.net=` on its own. Nothing may trap. For what parses:
// - parameters lie inside the line, in order, and their values at the columns they claim;
// - every `ip=` is consistent (a static one has a prefix length; the client is neither the
//   network nor the broadcast address; the gateway is inside the subnet) and its canonical text
//   parses back to the same parameter; likewise every `skiff.net=` (a static one has an address,
//   off has no other settings, the MTU is in range);
// - applying the configuration to a stack with two devices either fails before touching the stack
//   or leaves each static device with its address, and the report has a `net:` line per device;
//   so does NetworkConfiguration.apply, with a `config:` line per device.

final class CommandLineFuzzDevice: NetworkDevice {
    let name: String
    let macAddress: MACAddress
    let mtu = 1500
    let isLinkUp = true

    init(name: String, last: UInt8) {
        self.name = name
        self.macAddress = MACAddress(0x02, 0, 0, 0, 0, last)
    }

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int { 0 }
    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult { .ok }
}

func commandLineFuzzSame(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

func commandLineFuzzCheck(_ parameter: IPParameter) {
    if parameter.isStatic && parameter.prefixLength == nil { fatalError("static ip= without a prefix length") }
    if let address = parameter.interfaceAddress {
        if address.prefixLength < 1 || address.prefixLength > 32 { fatalError("ip= prefix length out of range") }
        if address.prefixLength < 31 && (address.address == address.network || address.address == address.broadcast) {
            fatalError("ip= client is the network or broadcast address")
        }
        if let gateway = parameter.gateway, !address.contains(gateway) || gateway == address.address {
            fatalError("ip= gateway outside the subnet or the client itself")
        }
    }
    if let device = parameter.device, device.utf8.isEmpty || device.utf8.count > 15 {
        fatalError("ip= device name length")
    }
    if parameter.dnsServers.count > 2 { fatalError("ip= more than two DNS servers") }
    let text = parameter.text
    let again: IPParameter
    do throws(CommandLineError) {
        again = try IPParameter.parse(text, column: parameter.column, valueColumn: 4)
    } catch {
        fatalError("ip= canonical text does not parse: \(error)")
    }
    if !commandLineFuzzSame(again.text, text) { fatalError("ip= canonical text is not a fixed point") }
    if again.autoconf != parameter.autoconf || again.address != parameter.address
        || again.prefixLength != parameter.prefixLength || again.gateway != parameter.gateway
        || again.server != parameter.server || again.dnsServers != parameter.dnsServers
        || again.ntpServer != parameter.ntpServer {
        fatalError("ip= canonical text parses to another value")
    }
}

func commandLineFuzzCheck(_ net: SkiffNetParameter) {
    switch net.mode {
    case .staticAddress:
        guard let address = net.address else { fatalError("skiff.net= static without an address") }
        if address.prefixLength < 31 && (address.address == address.network || address.address == address.broadcast) {
            fatalError("skiff.net= address is the network or broadcast address")
        }
        if let gateway = net.gateway, !address.contains(gateway) || gateway == address.address {
            fatalError("skiff.net= gateway outside the subnet or the address itself")
        }
    case .dhcp:
        if net.address != nil || net.gateway != nil { fatalError("skiff.net= dhcp with an address") }
    case .off:
        if net.address != nil || net.gateway != nil || net.mtu != nil || !net.dnsServers.isEmpty || !net.searchDomains.isEmpty {
            fatalError("skiff.net= off with settings")
        }
    }
    if let mtu = net.mtu, !SkiffNetParameter.mtuRange.contains(mtu) { fatalError("skiff.net= mtu out of range") }
    let text = net.text
    let again: SkiffNetParameter
    do throws(CommandLineError) {
        again = try SkiffNetParameter.parse(text, column: net.column)
    } catch {
        fatalError("skiff.net= canonical text does not parse: \(error)")
    }
    if again != net || !commandLineFuzzSame(again.text, text) { fatalError("skiff.net= canonical text parses to another value") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)
    let bytes = Array(text.utf8)

    if let line = try? KernelCommandLine(text) {
        var previous = 0
        for parameter in line.parameters + line.applicationArguments {
            if parameter.column <= previous || parameter.column > bytes.count + 1 {
                fatalError("parameter columns out of order or outside the line")
            }
            previous = parameter.column
            if let value = parameter.value, let column = parameter.valueColumn {
                let valueBytes = Array(value.utf8)
                if column - 1 + valueBytes.count > bytes.count
                    || !bytes[(column - 1)..<(column - 1 + valueBytes.count)].elementsEqual(valueBytes) {
                    fatalError("parameter value is not at its column")
                }
            }
        }
    }

    do throws(CommandLineError) {
        let configuration = try BootConfiguration(commandLine: text)
        for parameter in configuration.ipParameters { commandLineFuzzCheck(parameter) }
        for net in configuration.netParameters { commandLineFuzzCheck(net) }
        let stack = NetworkStack()
        let devices: [any NetworkDevice] = [CommandLineFuzzDevice(name: "a", last: 1),
                                            CommandLineFuzzDevice(name: "b", last: 2)]
        do throws(CommandLineError) {
            let configured = try configuration.apply(to: stack, devices: devices, now: .zero)
            if configured.count != 2 || stack.interfaces.count != 2 { fatalError("apply: one interface per device") }
            for item in configured {
                if let parameter = item.parameter, parameter.isStatic, let address = parameter.interfaceAddress,
                   !item.interface.hasAddress(address.address) {
                    fatalError("apply: a static address is missing")
                }
            }
            let lines = ConfigurationReport.lines(stack)
            if lines.count < 2 || !lines[0].utf8.starts(with: "net: eth0 ".utf8) {
                fatalError("report: no net: line per interface")
            }
        } catch {
            if !stack.interfaces.isEmpty { fatalError("apply failed after touching the stack") }
            _ = error.description
        }
        let merged = NetworkStack()
        do throws(CommandLineError) {
            let application = try NetworkConfiguration(boot: configuration).apply(to: merged, devices: devices, now: .zero)
            if application.interfaces.count != 2 || merged.interfaces.count != 2 { fatalError("merge: one interface per device") }
            for applied in application.interfaces {
                if let net = applied.net, let address = net.address, !applied.interface.hasAddress(address.address) {
                    fatalError("merge: a skiff.net= address is missing")
                }
            }
            if application.lines.filter({ $0.utf8.starts(with: "config: eth".utf8) }).count < 2 {
                fatalError("merge: no config: line per device")
            }
        } catch {
            if !merged.interfaces.isEmpty { fatalError("merge failed after touching the stack") }
            _ = error.description
        }
    } catch {
        if error.column < 1 || error.column > bytes.count + 1 { fatalError("error column outside the line") }
        _ = error.description
    }

    // The input as an ip= value on its own.
    if let parameter = try? IPParameter.parse(text) { commandLineFuzzCheck(parameter) }
    if let net = try? SkiffNetParameter.parse(text) { commandLineFuzzCheck(net) }
    return 0
}
