import ArgumentParser
import SkiffWire
import SkiffPlatform
import SkiffStack
import SkiffServices
import SkiffHosted

/// `skiff run hosted`: the stack and the UDP echo service as a Linux process on a TAP device.
struct RunHosted: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosted",
        abstract: "Run the stack as a Linux process on a TAP device.",
        discussion: """
            Opens (creating if needed) the TAP device, gives the stack the addresses and routes \
            asked for, answers ping and ARP, and echoes UDP datagrams (RFC 862). Prints the \
            applied configuration, logs stack events, and on SIGINT or SIGTERM prints its \
            counters and exits 0. Needs root or CAP_NET_ADMIN.

            Example (the Linux side is 198.18.0.1/24 on tap0):
              skiff run hosted --tap tap0 --address 198.18.0.2/24 --gateway 198.18.0.1
            """
    )

    @Option(name: .customLong("tap"), help: ArgumentHelp("The TAP interface to open or create (at most 15 bytes).", valueName: "name"))
    var tap: String

    @Option(name: .customLong("address"), help: ArgumentHelp("An address of the stack with its prefix length; repeat for more.", valueName: "a.b.c.d/n"))
    var addresses: [String] = []

    @Option(name: .customLong("gateway"), help: ArgumentHelp("The default route's next hop; must be inside an --address network.", valueName: "a.b.c.d"))
    var gateway: String? = nil

    @Option(name: .customLong("mtu"), help: ArgumentHelp("The largest IP packet on the link.", valueName: "bytes"))
    var mtu: String = "1500"

    @Option(name: .customLong("mac"), help: ArgumentHelp("The stack's MAC address (default: 02:... derived from the TAP name).", valueName: "aa:bb:cc:dd:ee:ff"))
    var mac: String? = nil

    @Option(name: .customLong("echo-port"), help: ArgumentHelp("The UDP echo service's port; 0 turns it off.", valueName: "port"))
    var echoPort: String = "7"

    @Flag(name: .customLong("quiet"), help: "Do not log stack events (configuration and counters are still printed).")
    var quiet = false

    /// The flags, checked.
    struct Settings {
        var tap: String
        var addresses: [IPv4CIDR]
        var gateway: IPv4Address?
        var mtu: Int
        var mac: MACAddress?
        var echoPort: UInt16
    }

    func settings() throws(CLIError) -> Settings {
        guard TapDevice.isValidInterfaceName(tap) else {
            throw .usage("--tap \(tap): not a valid interface name (no '/', ':' or spaces)")
        }
        guard tap.utf8.count <= 15 else {
            throw .usage("--tap \(tap): longer than 15 bytes (the Linux limit for interface names)")
        }
        guard !addresses.isEmpty else {
            throw .usage("--address is required, e.g. --address 198.18.0.2/24")
        }
        var cidrs: [IPv4CIDR] = []
        for text in addresses {
            let cidr = try FlagValues.interfaceAddress(text, flag: "--address")
            guard !cidrs.contains(where: { $0.address == cidr.address }) else {
                throw .usage("--address \(text): \(cidr.address) is given twice")
            }
            cidrs.append(cidr)
        }
        var gatewayAddress: IPv4Address? = nil
        if let gateway {
            let address = try FlagValues.address(gateway, flag: "--gateway")
            if cidrs.contains(where: { $0.address == address }) {
                throw .usage("--gateway \(gateway): that is the stack's own address; the gateway is another host")
            }
            guard cidrs.contains(where: { $0.contains(address) }) else {
                let networks = cidrs.map { FlagValues.network($0).description }.joined(separator: ", ")
                throw .usage("--gateway \(gateway): not inside any --address network (\(networks))")
            }
            gatewayAddress = address
        }
        let mtuValue = try FlagValues.integer(mtu, flag: "--mtu", in: 68...65_521, meaning: "an MTU in bytes")
        let macValue: MACAddress? = try mac.map { (text: String) throws(CLIError) -> MACAddress in
            try FlagValues.macAddress(text, flag: "--mac")
        }
        let port = try FlagValues.integer(echoPort, flag: "--echo-port", in: 0...65_535,
                                          meaning: "a UDP port", note: "0 turns the echo service off")
        return Settings(tap: tap, addresses: cidrs, gateway: gatewayAddress, mtu: mtuValue,
                        mac: macValue, echoPort: UInt16(port))
    }

    func run() throws {
        let settings = try settings()
        let device: TapDevice
        do {
            device = try TapDevice(name: settings.tap, macAddress: settings.mac, mtu: settings.mtu)
        } catch {
            throw CLIError.failure(error.description)
        }
        let platform = HostedPlatform(devices: [device])
        let stack = NetworkStack(platform: platform)
        if !quiet {
            stack.log = { line in platform.write(console: line + "\n") }
        }
        let interface = stack.addInterface(device, name: device.name)
        for cidr in settings.addresses {
            stack.addAddress(cidr, to: interface, now: platform.now())
        }
        if let gateway = settings.gateway {
            stack.addRoute(IPv4CIDR(address: .any, prefixLength: 0), via: gateway, interface: interface)
        }
        var echo: UDPEchoService? = nil
        if settings.echoPort != 0 {
            do {
                echo = try UDPEchoService(stack: stack, port: settings.echoPort)
            } catch {
                throw CLIError.failure("--echo-port \(settings.echoPort): cannot bind the UDP port")
            }
            echo?.log = { line in platform.write(console: line + "\n") }
        }

        for line in HostedReport.configuration(stack: stack, echoPort: echo?.port) {
            platform.writeLine(line)
        }
        if device.isUpOnLinuxSide == false {
            platform.write(console: "\(device.name): the Linux side is down; run 'ip link set \(device.name) up'\n")
        }

        // The application loop (see the platform protocol): poll the stack, let the service
        // answer, sleep until a frame, a timer or a stop signal.
        while !platform.shouldStop {
            let now = platform.now()
            var deadline = stack.poll(now: now)
            if let echo, let wanted = echo.step(now: now) {
                deadline = min(deadline ?? wanted, wanted)
            }
            platform.wait(until: deadline)
        }

        let reason = platform.stopSignal.map { HostedPlatform.signalName($0) } ?? "stop requested"
        platform.write(console: "stopping (\(reason))\n")
        for line in HostedReport.counters(stack: stack, devices: [device], echo: echo) {
            platform.writeLine(line)
        }
        echo?.close()
        device.close()
    }
}
