import SkiffPlatform
import SkiffStack
import SkiffWire

/// The DHCP clients of the devices that boot-time configuration left pending DHCP, stepped
/// together, with what they do printed as `dhcp:` lines (plus `net:`/`route:`/`dns:` when the
/// configuration changes; see DHCPReport.swift). The application loop calls `step(now:)` after
/// `stack.poll(now:)`, and `release(now:)` on a clean shutdown.
public final class DHCPAutoconfiguration {
    public let stack: NetworkStack
    public let clients: [DHCPClient]
    /// Each client's address to ask for first (INIT-REBOOT), nil for none.
    public let rememberedAddresses: [IPv4Address?]
    /// Receives every line as it happens.
    public var output: ((String) -> Void)?

    public init(stack: NetworkStack, clients: [DHCPClient], rememberedAddresses: [IPv4Address?]? = nil) {
        precondition(rememberedAddresses.map { $0.count == clients.count } ?? true, "one remembered address per client")
        self.stack = stack
        self.clients = clients
        self.rememberedAddresses = rememberedAddresses ?? [IPv4Address?](repeating: nil, count: clients.count)
    }

    /// Whether Skiff answers `autoconf` with DHCP: `dhcp`, and `on`/`any` (Linux tries DHCP,
    /// BOOTP and RARP; DHCP is the one Skiff has). `bootp`, `rarp` and `both` are not.
    public static func usesDHCP(_ autoconf: IPAutoconf) -> Bool {
        autoconf == .dhcp || autoconf == .any
    }

    /// A client for each device of `application` pending DHCP (`ip=dhcp`, `ip=on`, `skiff.net=…:dhcp`,
    /// `inet dhcp`, and DHCP by default for a device nothing else configures).
    /// The host name sent (option 12) is the one of the device's `ip=`, else of any `ip=` on the
    /// command line, else `skiff-` and the last three octets of the MAC. An `ip=` that gives a
    /// client address along with `dhcp` names the address to ask for first (INIT-REBOOT).
    public convenience init(application: NetworkApplication, boot: BootConfiguration, stack: NetworkStack,
                            platform: some Platform,
                            configuration: DHCPClientConfiguration = DHCPClientConfiguration()) {
        self.init(application: application, boot: boot, stack: stack, configuration: configuration,
                  seed: { _ in platform.randomBits() })
    }

    /// As above, with the clients' random numbers derived from `randomSeed` (tests).
    public convenience init(application: NetworkApplication, boot: BootConfiguration, stack: NetworkStack,
                            randomSeed: UInt64,
                            configuration: DHCPClientConfiguration = DHCPClientConfiguration()) {
        self.init(application: application, boot: boot, stack: stack, configuration: configuration,
                  seed: { index in
                      // SplitMix64's finalizer over seed + index: unrelated streams per client.
                      var z = randomSeed &+ UInt64(index + 1) &* 0x9e37_79b9_7f4a_7c15
                      z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
                      z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
                      return z ^ (z >> 31)
                  })
    }

    private convenience init(application: NetworkApplication, boot: BootConfiguration, stack: NetworkStack,
                             configuration: DHCPClientConfiguration, seed: (Int) -> UInt64) {
        var clients: [DHCPClient] = []
        var remembered: [IPv4Address?] = []
        for applied in application.interfaces {
            guard let pending = applied.pendingAutoconf, DHCPAutoconfiguration.usesDHCP(pending) else { continue }
            var settings = configuration
            if settings.hostName == nil {
                settings.hostName = applied.parameter?.hostname ?? boot.hostname
                    ?? DHCPAutoconfiguration.defaultHostName(applied.interface.macAddress)
            }
            clients.append(DHCPClient(stack: stack, interface: applied.interface, configuration: settings,
                                      randomSeed: seed(clients.count)))
            remembered.append(applied.parameter?.address)
        }
        self.init(stack: stack, clients: clients, rememberedAddresses: remembered)
    }

    /// `skiff-345678` for 52:54:00:34:56:78.
    public static func defaultHostName(_ mac: MACAddress) -> String {
        let bytes = mac.bytes
        return "skiff-" + hex2(bytes[3]) + hex2(bytes[4]) + hex2(bytes[5])
    }

    /// Starts every client (INIT, or INIT-REBOOT with its remembered address).
    public func start(now: Instant) {
        for (client, address) in zip(clients, rememberedAddresses) {
            client.start(now: now, rememberedAddress: address)
        }
    }

    /// Steps every client and prints what happened; returns the earliest deadline.
    @discardableResult
    public func step(now: Instant) -> Instant? {
        var deadline: Instant? = nil
        for client in clients {
            if let wanted = client.step(now: now) {
                deadline = min(deadline ?? wanted, wanted)
            }
            report(client)
        }
        return deadline
    }

    /// Sends DHCPRELEASE for every lease held and removes them (RFC 2131 §4.4.6). Keep polling the
    /// stack while `hasPendingOutput` so a release waiting behind ARP leaves.
    public func release(now: Instant) {
        for client in clients {
            client.release(now: now)
            report(client)
        }
    }

    /// True while a client's interface holds frames waiting for ARP or for room to send.
    public var hasPendingOutput: Bool {
        clients.contains { $0.interface.hasPendingOutput }
    }

    /// True when every client holds a lease.
    public var allBound: Bool {
        clients.allSatisfy { $0.lease != nil }
    }

    private func report(_ client: DHCPClient) {
        for event in client.takeEvents() {
            for line in ConfigurationReport.dhcpLines(event, interfaceName: client.interface.name, stack: stack) {
                output?(line)
            }
        }
    }
}
