import SkiffPlatform
import SkiffWire

/// An IPv4 host stack over one or more Ethernet interfaces: ARP, IPv4 with fragmentation and
/// reassembly, ICMP echo and errors, UDP sockets, TCP (TCP/). It reads no clock: the caller passes the time to
/// `poll(now:)` and to sends, and sleeps until the deadline `poll` returns.
///
/// Replies (ARP, echo, ICMP errors) are transmitted from inside the device's `receive` callback.
public final class NetworkStack {
    public let configuration: StackConfiguration
    /// One line per event worth a human's attention ("arp: 198.18.0.1 is-at 52:54:00:..."); never
    /// one per packet.
    public var log: ((String) -> Void)?
    public private(set) var interfaces: [Interface] = []
    public var statistics = StackStatistics()

    var routingTable = RoutingTable()
    var reassembly: ReassemblyBuffer
    var icmpErrorBucket: TokenBucket
    var udpSockets = UDPSocketTable()
    var echoReplies: [EchoReply] = []
    /// Datagrams to our own addresses, delivered at the next poll: (datagram, receiving interface).
    var loopbackQueue: [([UInt8], Int)] = []
    static let loopbackQueueLimit = 64
    /// Identification of the next datagram sent (RFC 791; RFC 6864 §4.1 allows any value for
    /// atomic datagrams, a counter is fine for all).
    var nextIdentification: UInt16 = 1
    /// Connections, listeners and TCP's clock (TCP/TCPLayer.swift).
    var tcp: TCPTables
    /// Called when `primaryAddress` changes (an address added or removed); `init(platform:)`
    /// sets it to the platform's `primaryAddressChanged`.
    public var onPrimaryAddressChange: ((IPv4Address?) -> Void)?
    private var reportedPrimaryAddress: IPv4Address? = nil

    /// A stack whose secrets (the TCP ISN and SYN-cookie key) come from `platform`'s entropy,
    /// unless `configuration` already sets them. Applications use this one.
    public convenience init(platform: some Platform, configuration: StackConfiguration = StackConfiguration()) {
        var configuration = configuration
        if configuration.tcpSecret == TCPSecret(0, 0) {
            configuration.tcpSecret = TCPSecret(platform.randomBits(), platform.randomBits())
        }
        self.init(configuration: configuration)
        onPrimaryAddressChange = { address in platform.primaryAddressChanged(address) }
    }

    /// A stack with exactly `configuration` (tests: a fixed TCP secret makes runs repeatable).
    public init(configuration: StackConfiguration = StackConfiguration()) {
        self.configuration = configuration
        reassembly = ReassemblyBuffer(timeout: configuration.reassemblyTimeout,
                                      memoryLimit: configuration.reassemblyMemoryLimit)
        icmpErrorBucket = TokenBucket(ratePerSecond: configuration.icmpErrorsPerSecond,
                                      burst: configuration.icmpErrorBurst)
        tcp = TCPTables(configuration: configuration)
    }

    // MARK: Interfaces, addresses, routes

    /// Adds an interface for `device`, named `eth0`, `eth1`… in order unless `name` is given.
    @discardableResult
    public func addInterface(_ device: any NetworkDevice, name: String? = nil) -> Interface {
        let interface = Interface(name: name ?? "eth\(interfaces.count)", device: device,
                                  index: interfaces.count, configuration: configuration)
        interfaces.append(interface)
        return interface
    }

    public func interface(named name: String) -> Interface? {
        interfaces.first { $0.name == name }
    }

    /// Configures `address` on `interface`, adds the route to its subnet and announces it with a
    /// gratuitous ARP (RFC 5227 §3 announcement: a request with sender and target = the address).
    public func addAddress(_ address: IPv4CIDR, to interface: Interface, now: Instant) {
        guard interface.add(address) else { return }
        routingTable.add(Route(destination: address, gateway: nil, interfaceName: interface.name))
        emit("ip: \(interface.name) address \(address)")
        let announcement = ARPPacket(operation: .request, senderMAC: interface.macAddress,
                                     senderIP: address.address, targetMAC: .zero,
                                     targetIP: address.address)
        transmitARP(announcement, to: .broadcast, on: interface, now: now)
        statistics.arpGratuitousSent += 1
        reportPrimaryAddress()
    }

    /// The first address of the first interface that has one: the address a hypervisor shows
    /// for the machine.
    public var primaryAddress: IPv4Address? {
        for interface in interfaces {
            if let first = interface.addresses.first { return first.address }
        }
        return nil
    }

    private func reportPrimaryAddress() {
        let primary = primaryAddress
        guard primary != reportedPrimaryAddress else { return }
        reportedPrimaryAddress = primary
        onPrimaryAddressChange?(primary)
    }

    /// Removes `address` from `interface` with the connected route to its subnet (unless another
    /// address of the interface is in the same subnet).
    public func removeAddress(_ address: IPv4CIDR, from interface: Interface) {
        guard interface.remove(address.address) else { return }
        let subnet = Route(destination: address, gateway: nil, interfaceName: interface.name).destination
        if !interface.addresses.contains(where: { $0.network == subnet.network && $0.prefixLength == subnet.prefixLength }) {
            routingTable.remove { $0.destination == subnet && $0.gateway == nil && $0.interfaceName == interface.name }
        }
        emit("ip: \(interface.name) address \(address) removed")
        reportPrimaryAddress()
    }

    /// Adds a route (`0.0.0.0/0` for the default route); one with the same destination, gateway
    /// and interface is replaced.
    public func addRoute(_ destination: IPv4CIDR, via gateway: IPv4Address?, interface: Interface, metric: Int = 0) {
        let route = Route(destination: destination, gateway: gateway, interfaceName: interface.name, metric: metric)
        routingTable.add(route)
        emit("ip: route \(route)")
    }

    /// Removes the routes to `destination` (any gateway, interface and metric); returns how many.
    @discardableResult
    public func removeRoutes(to destination: IPv4CIDR) -> Int {
        let normalized = IPv4CIDR(address: destination.network, prefixLength: destination.prefixLength)
        return routingTable.remove { $0.destination == normalized }
    }

    public var routes: [Route] { routingTable.routes }

    /// The route a datagram to `destination` takes: the longest prefix, then the lowest metric.
    public func route(to destination: IPv4Address) -> Route? {
        routingTable.lookup(destination)
    }

    // MARK: ARP cache access

    /// The hardware address `address` resolves to on `interface`, if it is in the cache.
    public func arpLookup(_ address: IPv4Address, on interface: Interface, now: Instant) -> MACAddress? {
        interface.arp.lookup(address, now: now)
    }

    /// Adds a permanent ARP entry; datagrams waiting for the address leave now.
    public func addStaticARPEntry(_ address: IPv4Address, mac: MACAddress, on interface: Interface, now: Instant) {
        let released = interface.arp.setStatic(address, at: mac)
        for datagram in released { transmitDatagram(datagram, to: mac, on: interface, now: now) }
    }

    // MARK: Polling

    /// Receives what the devices hold (up to `receiveBudget` frames each), delivers looped-back
    /// datagrams, runs the timers (ARP retries and expiry, reassembly timeout, TCP retransmission,
    /// delayed ACK, persist, keepalive, TIME-WAIT), retries frames the
    /// devices had no room for, and returns when to call again (nil: only when a frame arrives).
    @discardableResult
    public func poll(now: Instant) -> Instant? {
        tcp.clock = now
        var moreWaiting = false
        for interface in interfaces {
            let budget = configuration.receiveBudget
            let received = interface.device.receive(budget: budget) { frame in
                handleFrame(frame, on: interface, now: now)
            }
            if received >= budget { moreWaiting = true }
        }

        if !loopbackQueue.isEmpty {
            let queued = loopbackQueue
            loopbackQueue = []
            for (datagram, index) in queued {
                datagram.withUnsafeBytes { handleIPv4($0, on: interfaces[index], linkBroadcast: false, now: now) }
            }
        }

        runTimers(now: now)
        tcpRunTimers(now: now)
        for interface in interfaces { flushTransmitBacklog(interface) }

        var deadline: Instant? = nil
        func consider(_ candidate: Instant?) {
            guard let candidate else { return }
            if deadline.map({ candidate < $0 }) ?? true { deadline = candidate }
        }
        if moreWaiting || !loopbackQueue.isEmpty { consider(now) }
        for interface in interfaces {
            consider(interface.arp.nextDeadline)
            // A full transmit ring has no event of its own: look again shortly.
            if !interface.transmitBacklog.isEmpty { consider(now + .milliseconds(1)) }
        }
        consider(reassembly.nextDeadline)
        consider(tcpNextDeadline)
        return deadline
    }

    private func runTimers(now: Instant) {
        for interface in interfaces {
            let actions = interface.arp.poll(now: now)
            for address in actions.retries {
                sendARPRequest(for: address, on: interface, now: now)
            }
            for failure in actions.failures {
                statistics.arpResolutionFailures += 1
                statistics.arpResolutionDrops += failure.packets.count
                emit("arp: \(failure.address) unreachable on \(interface.name), dropped \(failure.packets.count) packet(s)")
            }
            statistics.arpEntriesExpired += actions.expired.count
        }
        for expired in reassembly.expire(now: now) {
            statistics.reassemblyTimeouts += 1
            emit("ip: reassembly of datagram \(expired.key.identification) from \(expired.key.source) timed out")
            // RFC 792, RFC 1122 §3.3.2: time exceeded (code 1) only if fragment zero arrived.
            if let quote = expired.firstFragmentQuote {
                quote.withUnsafeBytes { bytes in
                    sendICMPError(.timeExceeded(code: ICMPv4TimeExceededCode.reassemblyTimeExceeded),
                                  quoting: bytes, linkBroadcast: false, now: now)
                }
            }
        }
    }

    // MARK: UDP

    /// Binds `port` (0: an ephemeral port) on `address` (`.any`: all of the stack's addresses).
    public func udpBind(port: UInt16, address: IPv4Address = .any) throws(UDPBindError) -> UDPSocket {
        let endpoint = try udpSockets.bind(port: port, address: address,
                                           queueLimit: configuration.udpReceiveQueueLength)
        return UDPSocket(stack: self, endpoint: endpoint)
    }

    func unbind(_ endpoint: UDPEndpoint) {
        udpSockets.unbind(endpoint)
    }

    // MARK: Ping

    /// Sends an ICMP echo request; replies are collected for `takeEchoReplies()`.
    public func sendEchoRequest(to destination: IPv4Address, identifier: UInt16, sequence: UInt16,
                                payload: [UInt8], now: Instant) throws(SendError) {
        let plan = try planOutput(to: destination, from: nil)
        var packet = PacketBuffer(payload)
        ICMPv4Header(message: .echoRequest(identifier: identifier, sequence: sequence)).prepend(to: &packet)
        try output(&packet, protocolNumber: IPProtocol.icmp, plan: plan, dontFragment: false, now: now)
        statistics.icmpEchoRequestsSent += 1
    }

    /// The echo replies received since the last call, oldest first.
    public func takeEchoReplies() -> [EchoReply] {
        defer { echoReplies = [] }
        return echoReplies
    }

    func emit(_ line: String) {
        log?(line)
    }
}
