import SkiffPlatform
import SkiffWire

/// The states of RFC 2131 §4.4 (Figure 5), plus the address check of RFC 5227 between an ACK and
/// BOUND, and `stopped` before `start` and after `release`/`stop`.
public enum DHCPClientState: Equatable, Sendable, CustomStringConvertible {
    case stopped
    /// INIT: about to send a DHCPDISCOVER (at once, or after the wait that follows a DECLINE).
    case initial
    case selecting
    case requesting
    /// RFC 5227 §2.1: ARP probes for the address an ACK granted, before it is used.
    case probing
    case bound
    case renewing
    case rebinding
    /// INIT-REBOOT: about to ask for a remembered address.
    case initReboot
    case rebooting

    public var description: String {
        switch self {
        case .stopped: return "STOPPED"
        case .initial: return "INIT"
        case .selecting: return "SELECTING"
        case .requesting: return "REQUESTING"
        case .probing: return "PROBING"
        case .bound: return "BOUND"
        case .renewing: return "RENEWING"
        case .rebinding: return "REBINDING"
        case .initReboot: return "INIT-REBOOT"
        case .rebooting: return "REBOOTING"
        }
    }
}

/// What happened to the lease, for the application to report (`dhcp:` lines).
public enum DHCPEvent: Equatable, Sendable {
    /// A lease was installed on the interface (after SELECTING/REQUESTING or INIT-REBOOT).
    case bound(DHCPLease)
    /// The lease was extended in RENEWING or REBINDING; `changed` when the address, routes or MTU
    /// differ and were reinstalled.
    case renewed(DHCPLease, changed: Bool)
    /// The lease ran out (RFC 2131 §4.4.5): address and routes removed, back to INIT.
    case expired(DHCPLease)
    /// A DHCPNAK (from `server`, with option 56 when sent); `lost` is the lease it ended, if any.
    case nak(server: IPv4Address, message: String?, lost: DHCPLease?)
    /// The ARP probe found `address` in use by `mac`: DHCPDECLINE sent (RFC 2131 §3.1 step 5).
    case declined(address: IPv4Address, by: MACAddress)
    /// DHCPRELEASE sent (RFC 2131 §4.4.6) and the lease removed.
    case released(DHCPLease)
}

/// Counters of one client.
public struct DHCPClientStatistics: Equatable, Sendable {
    public var discoversSent = 0
    public var requestsSent = 0
    public var declinesSent = 0
    public var releasesSent = 0
    public var probesSent = 0
    public var offersReceived = 0
    public var acksReceived = 0
    public var naksReceived = 0
    /// Not a reply to this client's current transaction, malformed, or not expected in the state.
    public var ignored = 0
    /// Sends the stack refused (no link).
    public var sendFailures = 0
    public init() {}
}

/// A DHCP client (RFC 2131) for one interface of a `NetworkStack`. It reads no clock: the caller
/// passes the time to `start`, `step` and `release`, and calls `step(now:)` after `stack.poll` in
/// the application loop (it returns its next deadline). Replies reach it through the stack even
/// before the interface has an address (`Interface.dhcpPort`).
///
/// On a lease it installs the address (with its connected route), the routes (option 121 when
/// present, ignoring option 3, RFC 3442 §2; else a default route through the first router) and the
/// MTU (option 26, lowered only); on a changed renewal it reinstalls them; on expiry, NAK and
/// release it removes them. What happened is queued for `takeEvents()`.
public final class DHCPClient {
    public let stack: NetworkStack
    public let interface: Interface
    public let configuration: DHCPClientConfiguration
    public private(set) var state: DHCPClientState = .stopped
    /// The lease installed on the interface (BOUND, RENEWING, REBINDING).
    public private(set) var lease: DHCPLease?
    public private(set) var statistics = DHCPClientStatistics()
    /// One line per state change worth a human's attention (`dhcp: eth0 renewing ...`).
    public var log: ((String) -> Void)?

    /// Asked for in INIT-REBOOT and as a hint (option 50) in DISCOVERs: the last lease's address.
    public private(set) var rememberedAddress: IPv4Address?

    let port = DHCPPort()
    private var random: DHCPRandom
    private var events: [DHCPEvent] = []

    /// The transaction ID of the exchange under way (RFC 2131 §2).
    private(set) var xid: UInt32 = 0
    /// When the exchange under way began (the `secs` field) and when its first request left (the
    /// lease starts then, RFC 2131 §4.4.1).
    private var transactionStart = Instant.zero
    private var requestSentAt = Instant.zero
    /// Transmissions of the current message so far.
    private var attempts = 0
    /// The next timer of the current state.
    private var deadline: Instant?
    /// SELECTING → REQUESTING: the offered address and the server chosen.
    private var offeredAddress = IPv4Address.any
    private var selectedServer = IPv4Address.any
    /// PROBING: the granted lease, its start, and probes sent.
    private var candidate: DHCPLease?
    private var candidateStart = Instant.zero
    private var probesSent = 0
    /// BOUND and later: the timers of `lease` (nil for an infinite lease).
    private var renewAt: Instant?
    private var rebindAt: Instant?
    private var expiresAt: Instant?
    /// What `install` did, so `uninstall` undoes exactly that.
    private var installedRoutes: [Route] = []
    private var mtuBeforeLease: Int?
    /// NAKs in a row; from the second on INIT waits like a retransmission.
    private var consecutiveNAKs = 0

    /// A client whose random numbers (transaction IDs, jitter) come from `randomSeed`.
    public init(stack: NetworkStack, interface: Interface,
                configuration: DHCPClientConfiguration = DHCPClientConfiguration(), randomSeed: UInt64) {
        self.stack = stack
        self.interface = interface
        self.configuration = configuration
        self.random = DHCPRandom(seed: randomSeed)
    }

    /// A client seeded from `platform`'s entropy (RFC 2131 §4.1: the retransmission jitter and
    /// the xid are random, so clients booted together do not stay in step).
    public convenience init(stack: NetworkStack, interface: Interface, platform: some Platform,
                            configuration: DHCPClientConfiguration = DHCPClientConfiguration()) {
        self.init(stack: stack, interface: interface, configuration: configuration,
                  randomSeed: platform.randomBits())
    }

    deinit {
        if interface.dhcpPort === port { interface.dhcpPort = nil }
    }

    /// Starts in INIT, or in INIT-REBOOT asking for `rememberedAddress` (RFC 2131 §3.2).
    public func start(now: Instant, rememberedAddress: IPv4Address? = nil) {
        precondition(interface.dhcpPort == nil || interface.dhcpPort === port, "one DHCP client per interface")
        interface.dhcpPort = port
        if let rememberedAddress, rememberedAddress.isUnicastHost {
            self.rememberedAddress = rememberedAddress
            enter(.initReboot)
        } else {
            enter(.initial)
        }
        deadline = now + random.interval(from: .zero, through: configuration.startDelay)
    }

    /// The events since the last call, oldest first.
    public func takeEvents() -> [DHCPEvent] {
        defer { events = [] }
        return events
    }

    /// When `step` wants to be called next (nil: only when a datagram arrives).
    public var nextDeadline: Instant? { deadline }

    /// Handles what arrived for the client since the last step and runs its timers.
    @discardableResult
    public func step(now: Instant) -> Instant? {
        guard state != .stopped else { return nil }
        for received in port.take() {
            handle(received, now: now)
        }
        if state == .probing, let conflict = port.conflict {
            decline(conflict.address, by: conflict.mac, now: now)
        }
        // Each pass either moves a deadline later or changes state; bounded all the same.
        var passes = 0
        while let due = deadline, due <= now, passes < 8 {
            passes += 1
            fire(now: now)
        }
        return deadline
    }

    /// RFC 2131 §4.4.6: on a clean shutdown, sends a DHCPRELEASE to the server (unicast) and
    /// removes the lease; then stops. Without a lease it only stops. The release may wait behind
    /// ARP: keep polling the stack while `interface.hasPendingOutput`.
    public func release(now: Instant) {
        if let lease, state == .bound || state == .renewing || state == .rebinding {
            xid = UInt32(truncatingIfNeeded: random.next())
            var message = makeMessage(.release, now: now)
            message.ciaddr = lease.address.address
            message.serverIdentifier = lease.server
            send(message, from: lease.address.address, to: lease.server, now: now)
            statistics.releasesSent += 1
            uninstall()
            self.lease = nil
            events.append(.released(lease))
            note("released \(lease.address.address) to \(lease.server)")
        }
        stop()
    }

    /// Stops without telling the server; a lease stays installed until the caller removes it.
    public func stop() {
        enter(.stopped)
        deadline = nil
        port.probedAddress = nil
        if interface.dhcpPort === port { interface.dhcpPort = nil }
    }

    // MARK: Timers

    private func fire(now: Instant) {
        switch state {
        case .stopped:
            deadline = nil
        case .initial:
            beginDiscover(now: now)
        case .selecting:
            sendDiscover(now: now)
        case .requesting:
            if attempts >= configuration.requestAttempts {
                note("no DHCPACK for \(offeredAddress) from \(selectedServer); starting over")
                restart(now: now)
            } else {
                sendSelectingRequest(now: now)
            }
        case .initReboot:
            beginReboot(now: now)
        case .rebooting:
            if attempts >= configuration.rebootAttempts {
                note("no answer for \(rememberedAddress.map { $0.description } ?? "?"); starting over")
                restart(now: now)
            } else {
                sendRebootRequest(now: now)
            }
        case .probing:
            probe(now: now)
        case .bound:
            if let expiresAt, expiresAt <= now { expire(now: now) }
            else if let rebindAt, rebindAt <= now { beginRebinding(now: now) }
            else { beginRenewing(now: now) }
        case .renewing:
            if let expiresAt, expiresAt <= now { expire(now: now) }
            else if let rebindAt, rebindAt <= now { beginRebinding(now: now) }
            else { sendLeaseRequest(now: now) }
        case .rebinding:
            if let expiresAt, expiresAt <= now { expire(now: now) }
            else { sendLeaseRequest(now: now) }
        }
    }

    private func enter(_ newState: DHCPClientState) {
        state = newState
        attempts = 0
    }

    private func newTransaction(now: Instant) {
        xid = UInt32(truncatingIfNeeded: random.next())
        transactionStart = now
    }

    /// The wait after the current transmission (RFC 2131 §4.1).
    private func backoff() -> Interval {
        DHCPSchedule.retransmitDelay(attempt: attempts - 1, configuration: configuration, random: &random)
    }

    // MARK: INIT, SELECTING, REQUESTING

    private func beginDiscover(now: Instant) {
        newTransaction(now: now)
        enter(.selecting)
        note("DHCPDISCOVER (SELECTING)")
        sendDiscover(now: now)
    }

    private func sendDiscover(now: Instant) {
        var message = makeMessage(.discover, now: now)
        if let rememberedAddress { message.requestedIPAddress = rememberedAddress }
        appendRequestOptions(&message)
        send(message, from: .any, to: .broadcast, now: now)
        statistics.discoversSent += 1
        attempts += 1
        deadline = now + backoff()
    }

    private func sendSelectingRequest(now: Instant) {
        // RFC 2131 §4.3.2 Table 5 / §4.4.1: server identifier and requested IP, ciaddr 0, broadcast.
        var message = makeMessage(.request, now: now)
        message.requestedIPAddress = offeredAddress
        message.serverIdentifier = selectedServer
        appendRequestOptions(&message)
        if attempts == 0 { requestSentAt = now }
        send(message, from: .any, to: .broadcast, now: now)
        statistics.requestsSent += 1
        attempts += 1
        deadline = now + backoff()
    }

    /// Back to INIT: the DISCOVER leaves in this step, or after `wait`.
    private func restart(now: Instant, after wait: Interval = .zero) {
        enter(.initial)
        deadline = now + wait
    }

    // MARK: INIT-REBOOT

    private func beginReboot(now: Instant) {
        newTransaction(now: now)
        enter(.rebooting)
        note("DHCPREQUEST for \(rememberedAddress.map { $0.description } ?? "?") (INIT-REBOOT)")
        sendRebootRequest(now: now)
    }

    private func sendRebootRequest(now: Instant) {
        guard let address = rememberedAddress else {
            restart(now: now)
            return
        }
        // RFC 2131 §4.3.2 Table 5, INIT-REBOOT: requested IP, no server identifier, ciaddr 0.
        var message = makeMessage(.request, now: now)
        message.requestedIPAddress = address
        appendRequestOptions(&message)
        if attempts == 0 { requestSentAt = now }
        send(message, from: .any, to: .broadcast, now: now)
        statistics.requestsSent += 1
        attempts += 1
        deadline = now + backoff()
    }

    // MARK: RENEWING, REBINDING

    private func beginRenewing(now: Instant) {
        guard let lease else { return restart(now: now) }
        newTransaction(now: now)
        enter(.renewing)
        requestSentAt = now
        note("renewing \(lease.address.address) with \(lease.server)")
        sendLeaseRequest(now: now)
    }

    /// RFC 2131 §4.3.2 Table 5: the DHCPREQUEST of RENEWING (unicast to the server, retried
    /// until T2) and of REBINDING (the same, broadcast, retried until the lease expires): ciaddr,
    /// no server identifier or requested IP.
    private func sendLeaseRequest(now: Instant) {
        guard let lease else { return }
        let rebinding = state == .rebinding
        guard let limit = rebinding ? expiresAt : rebindAt else { return }
        var message = makeMessage(.request, now: now)
        message.ciaddr = lease.address.address
        appendRequestOptions(&message)
        send(message, from: lease.address.address, to: rebinding ? .broadcast : lease.server, now: now)
        statistics.requestsSent += 1
        attempts += 1
        deadline = DHCPSchedule.renewalRetransmit(now: now, limit: limit,
                                                  minimum: configuration.minimumRenewalRetransmit)
    }

    private func beginRebinding(now: Instant) {
        guard let lease else { return restart(now: now) }
        newTransaction(now: now)
        enter(.rebinding)
        requestSentAt = now
        note("rebinding \(lease.address.address) (no answer from \(lease.server))")
        sendLeaseRequest(now: now)
    }

    private func expire(now: Instant) {
        guard let lease else { return restart(now: now) }
        uninstall()
        self.lease = nil
        events.append(.expired(lease))
        note("lease of \(lease.address) expired")
        restart(now: now)
    }

    // MARK: Receive

    private func handle(_ received: DHCPPort.Received, now: Instant) {
        let parsed: DHCPMessage? = received.payload.withUnsafeBytes { try? DHCPMessage.parse($0) }
        guard let message = parsed, message.op == .bootReply, message.xid == xid,
              let mac = message.clientMAC, mac.isSame(as: interface.macAddress),
              let type = message.messageType else {
            statistics.ignored += 1
            return
        }
        switch (state, type) {
        case (.selecting, .offer):
            statistics.offersReceived += 1
            // RFC 2131 §4.4.1: the first acceptable offer is taken.
            guard message.yiaddr.isUnicastHost, let server = message.serverIdentifier, !server.isUnspecified else {
                statistics.ignored += 1
                return
            }
            offeredAddress = message.yiaddr
            selectedServer = server
            note("offer of \(message.yiaddr) from \(server)")
            enter(.requesting)
            sendSelectingRequest(now: now)
        case (.requesting, .ack), (.rebooting, .ack):
            statistics.acksReceived += 1
            if state == .requesting, let server = message.serverIdentifier, server != selectedServer {
                statistics.ignored += 1
                return
            }
            guard let granted = DHCPLease(ack: message, fallbackServer: state == .requesting ? selectedServer : nil) else {
                statistics.ignored += 1
                return
            }
            consecutiveNAKs = 0
            beginProbing(granted, start: requestSentAt, now: now)
        case (.renewing, .ack), (.rebinding, .ack):
            statistics.acksReceived += 1
            guard let current = lease,
                  let granted = DHCPLease(ack: message, fallbackServer: current.server) else {
                statistics.ignored += 1
                return
            }
            consecutiveNAKs = 0
            let changed = granted.changesInterface(from: current)
            if changed {
                uninstall()
                install(granted, now: now)
            }
            startLease(granted, start: requestSentAt)
            enter(.bound)
            events.append(.renewed(granted, changed: changed))
        case (.requesting, .nak), (.rebooting, .nak), (.renewing, .nak), (.rebinding, .nak):
            statistics.naksReceived += 1
            if state == .requesting, let server = message.serverIdentifier, server != selectedServer {
                statistics.ignored += 1
                return
            }
            let lost = lease
            if lost != nil {
                uninstall()
                lease = nil
            }
            // RFC 2131 §3.2 step 4 / §4.4.5: a NAK means the address is not ours; start over.
            if state == .rebooting { rememberedAddress = nil }
            let text = message.option(DHCPOptionCode.message).map { String(decoding: $0, as: UTF8.self) }
            events.append(.nak(server: message.serverIdentifier ?? received.source, message: text, lost: lost))
            note("DHCPNAK from \(message.serverIdentifier ?? received.source)" + (text.map { ": \($0)" } ?? ""))
            consecutiveNAKs += 1
            var wait = Interval.zero
            if consecutiveNAKs > 1 {
                wait = DHCPSchedule.retransmitDelay(attempt: consecutiveNAKs - 2, configuration: configuration,
                                                    random: &random)
            }
            restart(now: now, after: wait)
        default:
            statistics.ignored += 1
        }
    }

    // MARK: RFC 5227 probing, DECLINE, BOUND

    private func beginProbing(_ granted: DHCPLease, start: Instant, now: Instant) {
        candidate = granted
        candidateStart = start
        guard configuration.probeCount > 0 else {
            bind(now: now)
            return
        }
        enter(.probing)
        probesSent = 0
        port.probedAddress = granted.address.address
        port.conflict = nil
        // RFC 5227 §2.1.1: wait a random time in [0, PROBE_WAIT] before the first probe.
        deadline = now + random.interval(from: .zero, through: configuration.probeWait)
    }

    private func probe(now: Instant) {
        guard let candidate else { return restart(now: now) }
        guard probesSent < configuration.probeCount else {
            // ANNOUNCE_WAIT passed since the last probe without a conflict.
            bind(now: now)
            return
        }
        stack.sendARPProbe(for: candidate.address.address, on: interface, now: now)
        statistics.probesSent += 1
        probesSent += 1
        // RFC 5227 §2.1.1: probes PROBE_MIN to PROBE_MAX apart, then ANNOUNCE_WAIT.
        deadline = now + (probesSent < configuration.probeCount
            ? random.interval(from: configuration.probeMinimum, through: configuration.probeMaximum)
            : configuration.announceWait)
    }

    private func decline(_ address: IPv4Address, by mac: MACAddress, now: Instant) {
        port.probedAddress = nil
        port.conflict = nil
        let server = candidate?.server ?? selectedServer
        candidate = nil
        // RFC 2131 §4.4.1 / Table 5: DECLINE with the requested IP and the server identifier,
        // ciaddr 0, broadcast; then INIT after at least 10 s (§3.1 step 5).
        var message = makeMessage(.decline, now: now)
        message.requestedIPAddress = address
        message.serverIdentifier = server
        send(message, from: .any, to: .broadcast, now: now)
        statistics.declinesSent += 1
        if rememberedAddress == address { rememberedAddress = nil }
        events.append(.declined(address: address, by: mac))
        note("\(address) is in use by \(mac); DHCPDECLINE sent, starting over in \(configuration.declineWait.milliseconds / 1000) s")
        enter(.initial)
        deadline = now + configuration.declineWait
    }

    private func bind(now: Instant) {
        port.probedAddress = nil
        port.conflict = nil
        guard let granted = candidate else { return restart(now: now) }
        candidate = nil
        install(granted, now: now)
        startLease(granted, start: candidateStart)
        enter(.bound)
        rememberedAddress = granted.address.address
        events.append(.bound(granted))
    }

    /// Records `granted` as the lease, with its timers counted from `start`, and sets the BOUND
    /// deadline (T1; nil for an infinite lease).
    private func startLease(_ granted: DHCPLease, start: Instant) {
        lease = granted
        func at(_ seconds: UInt32?) -> Instant? {
            seconds.map { start + .seconds(Int64($0)) }
        }
        renewAt = at(granted.renewalTime)
        rebindAt = at(granted.rebindingTime)
        expiresAt = at(granted.leaseTime)
        deadline = renewAt
    }

    // MARK: Installing the lease

    private func install(_ granted: DHCPLease, now: Instant) {
        stack.addAddress(granted.address, to: interface, now: now)
        installedRoutes = []
        for route in granted.routes {
            stack.addRoute(route.destination, via: route.gateway, interface: interface)
            installedRoutes.append(Route(destination: route.destination, gateway: route.gateway,
                                         interfaceName: interface.name))
        }
        if let mtu = granted.mtu {
            mtuBeforeLease = interface.mtu
            // Lowered only: the device cannot carry more than its own MTU.
            interface.mtu = min(mtu, interface.device.mtu)
        }
    }

    private func uninstall() {
        for route in installedRoutes {
            if stack.routingTable.remove(where: { $0 == route }) > 0 {
                stack.emit("ip: route \(route) removed")
            }
        }
        installedRoutes = []
        if let lease { stack.removeAddress(lease.address, from: interface) }
        if let mtu = mtuBeforeLease {
            interface.mtu = mtu
            mtuBeforeLease = nil
        }
        renewAt = nil
        rebindAt = nil
        expiresAt = nil
    }

    // MARK: Messages

    /// A BOOTREQUEST of `type` for the current transaction: our MAC in chaddr, `secs` since the
    /// transaction began, option 53 then the client identifier (61).
    private func makeMessage(_ type: DHCPMessageType, now: Instant) -> DHCPMessage {
        var message = DHCPMessage(op: .bootRequest, xid: xid, clientMAC: interface.macAddress)
        let elapsed = (now - transactionStart).nanoseconds / 1_000_000_000
        message.secs = UInt16(clamping: max(0, elapsed))
        message.messageType = type
        message.clientIdentifier = configuration.clientIdentifier ?? ([1] + interface.macAddress.bytes)
        return message
    }

    /// Host name (12), maximum message size (57) and the parameter request list (55), sent in
    /// DISCOVERs and REQUESTs.
    private func appendRequestOptions(_ message: inout DHCPMessage) {
        if let name = configuration.hostName, !name.isEmpty { message.hostName = name }
        // RFC 2132 §9.10: at least 576; we accept a full frame.
        let size = UInt16(clamping: max(576, interface.mtu))
        message.setOption(DHCPOptionCode.maximumMessageSize, [UInt8(size >> 8), UInt8(size & 0xff)])
        message.parameterRequestList = configuration.parameterRequestList
    }

    private func send(_ message: DHCPMessage, from source: IPv4Address, to destination: IPv4Address, now: Instant) {
        var bytes = [UInt8](repeating: 0, count: message.encodedLength)
        bytes.withUnsafeMutableBytes { message.emit(into: $0) }
        do {
            try stack.sendUDP(bytes, on: interface, from: source, port: DHCPPort.clientPort,
                              to: destination, port: DHCPPort.serverPort, now: now)
        } catch {
            statistics.sendFailures += 1
        }
    }

    private func note(_ text: String) {
        log?("dhcp: \(interface.name) \(text)")
    }
}
