import ArgumentParser
import SkiffWire
import SkiffPlatform
import SkiffStack
import SkiffServices
import SkiffHosted
import SkiffConfig
import SkiffImage
import Foundation

/// `skiff run hosted`: the stack, the UDP and TCP echo services and optionally the demo web site
/// as a Linux process on a TAP device.
struct RunHosted: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosted",
        abstract: "Run the stack as a Linux process on a TAP device.",
        discussion: """
            Opens (creating if needed) the TAP device, gives the stack the addresses and routes \
            asked for, answers ping and ARP, echoes UDP datagrams and TCP streams (RFC 862), and \
            with --http-port serves the demo site of Examples/web (pages, /api/status, /bytes/N, \
            /chunked/N; with --assets the files of a folder, as `skiff build` packs them). \
            Prints the applied configuration, logs stack events, and on SIGINT or SIGTERM prints its \
            counters and exits 0. Needs root or CAP_NET_ADMIN.

            With --dhcp instead of --address the stack asks a DHCP server (RFC 2131): it prints \
            the lease as a `dhcp:` line followed by the `net:`, `route:` and `dns:` lines, renews \
            and rebinds it, and releases it on SIGINT or SIGTERM.

            With --resolve NAME (repeatable) Skiff's DNS stub resolver looks the names up one after \
            another once the network is up, through the --dns-server addresses and then those of \
            the --dhcp lease, with the --dns-search domains and the lease's, and prints \
            `dns: NAME -> a.b.c.d (ttl N, from SERVER)` or the error for each.

            Example (the Linux side is 198.18.0.1/24 on tap0):
              skiff run hosted --tap tap0 --address 198.18.0.2/24 --gateway 198.18.0.1
              skiff run hosted --tap tap0 --dhcp --hostname app1
              skiff run hosted --tap tap0 --dhcp --resolve www.example.test
            """
    )

    @Option(name: .customLong("tap"), help: ArgumentHelp("The TAP interface to open or create (at most 15 bytes).", valueName: "name"))
    var tap: String

    @Option(name: .customLong("address"), help: ArgumentHelp("An address of the stack with its prefix length; repeat for more.", valueName: "a.b.c.d/n"))
    var addresses: [String] = []

    @Option(name: .customLong("gateway"), help: ArgumentHelp("The default route's next hop; must be inside an --address network.", valueName: "a.b.c.d"))
    var gateway: String? = nil

    @Flag(name: .customLong("dhcp"), help: "Configure the address, routes, MTU and DNS servers by DHCP instead of --address/--gateway.")
    var dhcp = false

    @Option(name: .customLong("hostname"), help: ArgumentHelp("The host name sent to the DHCP server (option 12; default skiff- and the MAC's last three octets).", valueName: "name"))
    var hostname: String? = nil

    @Option(name: .customLong("dhcp-address"), help: ArgumentHelp("An address leased before, asked for first (RFC 2131 INIT-REBOOT).", valueName: "a.b.c.d"))
    var dhcpAddress: String? = nil

    @Option(name: .customLong("mtu"), help: ArgumentHelp("The largest IP packet on the link.", valueName: "bytes"))
    var mtu: String = "1500"

    @Option(name: .customLong("mac"), help: ArgumentHelp("The stack's MAC address (default: 02:... derived from the TAP name).", valueName: "aa:bb:cc:dd:ee:ff"))
    var mac: String? = nil

    @Option(name: .customLong("echo-port"), help: ArgumentHelp("The UDP echo service's port; 0 turns it off.", valueName: "port"))
    var echoPort: String = "7"

    @Option(name: .customLong("tcp-echo-port"), help: ArgumentHelp("The TCP echo service's port; 0 turns it off.", valueName: "port"))
    var tcpEchoPort: String = "7"

    @Option(name: .customLong("http-port"), help: ArgumentHelp("Serve the demo site (as Examples/web does) on this TCP port; 0 (the default) turns it off.", valueName: "port"))
    var httpPort: String = "0"

    @Option(name: .customLong("assets"), help: ArgumentHelp("With --http-port: serve the files of this folder as the site's pages (as `skiff build` packs an application's assets).", valueName: "dir"))
    var assets: String? = nil

    @OptionGroup var tcp: TCPOptions

    @OptionGroup var dns: DNSOptions

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
        var tcpEchoPort: UInt16
        var httpPort: UInt16
        /// Run DHCP: the host name to send (nil: derived from the MAC) and the address to ask for first.
        var dhcp: Bool = false
        var hostname: String? = nil
        var dhcpAddress: IPv4Address? = nil
    }

    func settings() throws(CLIError) -> Settings {
        guard TapDevice.isValidInterfaceName(tap) else {
            throw .usage("--tap \(tap): not a valid interface name (no '/', ':' or spaces)")
        }
        guard tap.utf8.count <= 15 else {
            throw .usage("--tap \(tap): longer than 15 bytes (the Linux limit for interface names)")
        }
        if dhcp {
            guard addresses.isEmpty && gateway == nil else {
                throw .usage("--dhcp configures the address and routes; leave out --address and --gateway")
            }
        } else {
            guard !addresses.isEmpty else {
                throw .usage("--address is required, e.g. --address 198.18.0.2/24")
            }
            if hostname != nil || dhcpAddress != nil {
                throw .usage("--hostname and --dhcp-address go with --dhcp")
            }
        }
        if let hostname {
            // RFC 1123 §2.1 / RFC 2132 §3.14: letters, digits, '-' and '.', at most 63 bytes per label here.
            let bytes = Array(hostname.utf8)
            guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x2e
            }) else {
                throw .usage("--hostname \(hostname): use letters, digits, '-' and '.'")
            }
        }
        var rememberedAddress: IPv4Address? = nil
        if let dhcpAddress {
            rememberedAddress = try FlagValues.address(dhcpAddress, flag: "--dhcp-address")
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
        let tcpPort = try FlagValues.integer(tcpEchoPort, flag: "--tcp-echo-port", in: 0...65_535,
                                             meaning: "a TCP port", note: "0 turns the TCP echo service off")
        let webPort = try FlagValues.integer(httpPort, flag: "--http-port", in: 0...65_535,
                                             meaning: "a TCP port", note: "0 turns the web site off")
        if assets != nil && webPort == 0 {
            throw .usage("--assets serves files over HTTP: give --http-port too")
        }
        if tcpPort != 0 && tcpPort == webPort {
            throw .usage("--http-port \(httpPort): the TCP echo service already uses that port (--tcp-echo-port)")
        }
        return Settings(tap: tap, addresses: cidrs, gateway: gatewayAddress, mtu: mtuValue,
                        mac: macValue, echoPort: UInt16(port), tcpEchoPort: UInt16(tcpPort), httpPort: UInt16(webPort),
                        dhcp: dhcp, hostname: hostname, dhcpAddress: rememberedAddress)
    }

    func run() throws {
        let settings = try settings()
        let dnsSettings = try dns.settings(dhcp: settings.dhcp)
        var stackConfiguration = RunHosted.stackConfiguration
        try tcp.apply(to: &stackConfiguration)
        let tcpInfo = try tcp.reporter()
        let device: TapDevice
        do {
            device = try TapDevice(name: settings.tap, macAddress: settings.mac, mtu: settings.mtu)
        } catch {
            throw CLIError.failure(error.description)
        }
        let platform = HostedPlatform(devices: [device])
        let stack = NetworkStack(platform: platform, configuration: stackConfiguration)
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
        var dhcp: DHCPAutoconfiguration? = nil
        if settings.dhcp {
            let hostName = settings.hostname ?? DHCPAutoconfiguration.defaultHostName(interface.macAddress)
            let client = DHCPClient(stack: stack, interface: interface, platform: platform,
                                    configuration: DHCPClientConfiguration(hostName: hostName))
            if !quiet { client.log = { line in platform.write(console: line + "\n") } }
            let autoconfiguration = DHCPAutoconfiguration(stack: stack, clients: [client],
                                                          rememberedAddresses: [settings.dhcpAddress])
            autoconfiguration.output = { line in platform.writeLine(line) }
            dhcp = autoconfiguration
        }
        var resolving: DNSLookups? = nil
        if let dnsSettings {
            let resolver = DNSResolver(stack: stack, platform: platform)
            if !quiet { resolver.log = { line in platform.write(console: line + "\n") } }
            let lookups = DNSLookups(resolver: resolver, names: dns.names, settings: dnsSettings)
            lookups.output = { line in platform.writeLine(line) }
            resolving = lookups
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

        var tcpEcho: TCPEchoService? = nil
        if settings.tcpEchoPort != 0 {
            do {
                tcpEcho = try TCPEchoService(stack: stack, port: settings.tcpEchoPort, backlog: 128,
                                             maxConnections: RunHosted.maxEchoConnections)
            } catch {
                throw CLIError.failure("--tcp-echo-port \(settings.tcpEchoPort): cannot listen on the TCP port")
            }
            tcpEcho?.log = { line in platform.write(console: line + "\n") }
        }
        var server: HTTPServer? = nil
        if settings.httpPort != 0 {
            let listener: TCPListener
            do {
                listener = try stack.listen(port: settings.httpPort, backlog: RunHosted.httpBacklog)
            } catch {
                throw CLIError.failure("--http-port \(settings.httpPort): cannot listen on the TCP port")
            }
            let demo = DemoSite(stack: stack, now: { platform.now() }, assets: try loadAssets())
            let http = HTTPServer(listener: listener, router: demo.router,
                                  configuration: HTTPServerConfiguration(maxConnections: RunHosted.maxHTTPConnections))
            if !quiet { http.log = { line in platform.write(console: line + "\n") } }
            demo.server = http
            demo.echo = tcpEcho
            server = http
        }

        for line in HostedReport.configuration(stack: stack, echoPort: echo?.port, tcpEchoPort: tcpEcho?.port,
                                               httpPort: server?.port) {
            platform.writeLine(line)
        }
        for line in resolving?.configurationLines ?? [] { platform.writeLine(line) }
        if device.isUpOnLinuxSide == false {
            platform.write(console: "\(device.name): the Linux side is down; run 'ip link set \(device.name) up'\n")
        }
        dhcp?.start(now: platform.now())

        // The application loop (see the platform protocol): poll the stack, let the service
        // answer, sleep until a frame, a timer or a stop signal.
        while !platform.shouldStop {
            let now = platform.now()
            var deadline = stack.poll(now: now)
            if let dhcp, let wanted = dhcp.step(now: now) {
                deadline = min(deadline ?? wanted, wanted)
            }
            if let resolving, let wanted = resolving.step(now: now, dhcp: dhcp) {
                deadline = min(deadline ?? wanted, wanted)
            }
            if let echo, let wanted = echo.step(now: now) {
                deadline = min(deadline ?? wanted, wanted)
            }
            if let tcpEcho, let wanted = tcpEcho.step(now: now) {
                deadline = min(deadline ?? wanted, wanted)
            }
            if let server, let wanted = server.step(now: now, date: platform.wallClock()) {
                deadline = min(deadline ?? wanted, wanted)
            }
            if let tcpInfo {
                let wanted = tcpInfo.step(stack: stack, now: now) { platform.write(console: $0) }
                deadline = min(deadline ?? wanted, wanted)
            }
            platform.wait(until: deadline)
        }

        let reason = platform.stopSignal.map { HostedPlatform.signalName($0) } ?? "stop requested"
        platform.write(console: "stopping (\(reason))\n")
        if let dhcp {
            // RFC 2131 §4.4.6: give the lease back; the DHCPRELEASE may wait for ARP, so poll a little.
            dhcp.release(now: platform.now())
            let giveUp = platform.now() + .seconds(2)
            while dhcp.hasPendingOutput && platform.now() < giveUp {
                let deadline = stack.poll(now: platform.now())
                platform.wait(until: min(deadline ?? giveUp, giveUp))
            }
        }
        for line in HostedReport.counters(stack: stack, devices: [device], echo: echo, tcpEcho: tcpEcho,
                                          server: server, dhcp: dhcp?.clients ?? []) {
            platform.writeLine(line)
        }
        if let resolving { platform.writeLine(resolving.countersLine) }
        echo?.close()
        tcpEcho?.close()
        server?.close()
        device.close()
    }

    /// The hosted stack's limits: a Linux process has memory to spare, so the SYN queue is larger
    /// than the default (2,000 clients connecting at once get real SYN-RECEIVED blocks before SYN
    /// cookies take over). Buffers stay at the defaults (64 KiB each way, allocated on first use).
    static var stackConfiguration: StackConfiguration {
        var configuration = StackConfiguration()
        configuration.tcpSYNQueueLength = 1024
        return configuration
    }
    /// The web site's limits: room for 2,000 concurrent keep-alive clients (e.g. wrk -c 2000),
    /// at most 4,096 connections x 128 KiB of TCP buffers.
    static let maxHTTPConnections = 4096
    static let httpBacklog = 1024
    static let maxEchoConnections = 256

    /// --assets: the folder packed and checked as `skiff build` does, kept for the life of the
    /// process (the site serves the files in place), or nil.
    func loadAssets() throws -> StaticAssets? {
        guard let assets else { return nil }
        let archive: [UInt8]
        do {
            archive = try AssetArchive(directory: URL(fileURLWithPath: assets)).archive
        } catch {
            throw CLIError.failure(error.description)
        }
        let immortal = UnsafeMutableRawBufferPointer.allocate(byteCount: max(archive.count, 1), alignment: 16)
        // In bounds: immortal holds at least archive.count bytes; it is never freed.
        archive.withUnsafeBytes { immortal.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: archive.count) }
        var site = StaticAssets()
        do {
            try site.add(archive: UnsafeRawBufferPointer(rebasing: immortal[0..<archive.count]))
        } catch {
            throw CLIError.failure("--assets \(assets): \(error)")
        }
        return site
    }
}
