import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The DHCP client's state machine against a simulated server on a memory link, with a manual
/// clock (Support/DHCPTestServer.swift).
final class DHCPClientTests: XCTestCase {
    private let offered = IPv4Address(198, 18, 0, 50)
    private let serverAddress = IPv4Address(198, 18, 0, 1)

    /// A client bound to 198.18.0.50/24 with a 3600 s lease (T1 1800 s, T2 3150 s) taken at 1 s.
    private func boundSimulation(configure: (DHCPSimulation) -> Void = { _ in }) -> DHCPSimulation {
        let sim = DHCPSimulation()
        configure(sim)
        sim.start()
        XCTAssertTrue(sim.run(untilState: .bound), "bound; log: \(sim.log)")
        return sim
    }

    private func routeStrings(_ stack: NetworkStack) -> [String] {
        stack.routes.map { $0.description }
    }

    // MARK: SELECTING, REQUESTING, BOUND

    func testRFC2131DiscoverLeavesFromUnspecifiedSourceAsLinkBroadcast() throws {
        let sim = DHCPSimulation()
        sim.server.answering = false
        sim.start()
        let discover = try XCTUnwrap(sim.server.messages(.discover).first)
        XCTAssertEqual(discover.source, .any, "RFC 2131 §4.1: 0.0.0.0 before the client has an address")
        XCTAssertEqual(discover.destination, .broadcast)
        XCTAssertEqual(discover.ethernetDestination, .broadcast)
        XCTAssertEqual(discover.sourcePort, 68)
        XCTAssertEqual(discover.destinationPort, 67)
        let message = discover.message
        XCTAssertEqual(message.op, .bootRequest)
        XCTAssertEqual(message.clientMAC, DHCPSimulation.clientMAC)
        XCTAssertEqual(message.ciaddr, .any)
        XCTAssertEqual(message.clientIdentifier, [1, 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a], "RFC 2132 §9.14: type 1 + MAC")
        XCTAssertEqual(message.hostName, "app1")
        let asked = try XCTUnwrap(message.parameterRequestList)
        for code: UInt8 in [1, 3, 6, 12, 15, 26, 28, 51, 58, 59, 119, 121] {
            XCTAssertTrue(asked.contains(code), "option 55 asks for \(code)")
        }
        XCTAssertLessThan(asked.firstIndex(of: 121)!, asked.firstIndex(of: 3)!)
        XCTAssertEqual(sim.client.state, .selecting)
    }

    func testRFC2131SelectingRequestingProbingBoundInstallsTheLease() throws {
        let sim = DHCPSimulation()
        sim.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 1)] }
        sim.start()
        XCTAssertEqual(sim.client.state, .probing, "offer, request and ack at once, then the ARP probe")
        let request = try XCTUnwrap(sim.server.messages(.request).first)
        // RFC 2131 §4.3.2 Table 5, SELECTING: requested IP and server identifier, ciaddr 0, broadcast.
        XCTAssertEqual(request.message.requestedIPAddress, offered)
        XCTAssertEqual(request.message.serverIdentifier, serverAddress)
        XCTAssertEqual(request.message.ciaddr, .any)
        XCTAssertEqual(request.source, .any)
        XCTAssertEqual(request.destination, .broadcast)
        XCTAssertEqual(request.message.xid, sim.server.messages(.discover)[0].message.xid)
        XCTAssertTrue(sim.interface.addresses.isEmpty, "nothing is used before the probe")

        XCTAssertTrue(sim.run(untilState: .bound))
        XCTAssertEqual(sim.interface.addresses, [IPv4CIDR(address: offered, prefixLength: 24)])
        XCTAssertEqual(routeStrings(sim.stack), ["198.18.0.0/24 dev eth0", "0.0.0.0/0 via 198.18.0.1 dev eth0"])
        let lease = try XCTUnwrap(sim.client.lease)
        XCTAssertEqual(lease.server, serverAddress)
        XCTAssertEqual(sim.events.map { $0.event }, [.bound(lease)])
        // RFC 5227 §2.1.1: three probes from 0.0.0.0 for the address, 1-2 s apart, and the address
        // used ANNOUNCE_WAIT (2 s) after the last one; the first within PROBE_WAIT (1 s).
        let probes = sim.server.probes
        XCTAssertEqual(probes.count, 3)
        for probe in probes {
            XCTAssertEqual(probe.packet.targetIP, offered)
            XCTAssertEqual(probe.packet.senderIP, .any)
            XCTAssertEqual(probe.packet.targetMAC, .zero)
        }
        XCTAssertLessThanOrEqual(probes[0].time - request.time, .seconds(1))
        for i in 1..<3 {
            let gap = probes[i].time - probes[i - 1].time
            XCTAssertTrue(gap >= .seconds(1) && gap <= .seconds(2), "probe gap \(gap.milliseconds) ms")
        }
        XCTAssertEqual(sim.events[0].time - probes[2].time, .seconds(2))
    }

    func testRFC2131ReplyUnicastToTheOfferedAddressReachesTheUnconfiguredInterface() {
        let unicast = DHCPSimulation()
        unicast.server.unicastReplies = true
        unicast.start()
        XCTAssertEqual(unicast.client.state, .probing)
        XCTAssertEqual(unicast.client.statistics.offersReceived, 1)

        let broadcast = DHCPSimulation()
        broadcast.server.unicastReplies = false
        broadcast.start()
        XCTAssertEqual(broadcast.client.state, .probing)
    }

    func testUDPToOtherPortsOfAnUnconfiguredInterfaceIsStillDropped() {
        let sim = DHCPSimulation()
        sim.server.answering = false
        sim.start()
        let udp = udpMessage(from: serverAddress, port: 67, to: offered, port: 69, payload: [1, 2, 3])
        sim.link.a.receiveQueue.append(ipv4Frame(from: serverAddress, to: offered, protocolNumber: IPProtocol.udp,
                                                 payload: udp, sourceMAC: sim.server.mac,
                                                 destinationMAC: DHCPSimulation.clientMAC))
        let before = sim.stack.statistics.ipDroppedNotForUs
        sim.settle()
        XCTAssertEqual(sim.stack.statistics.ipDroppedNotForUs, before + 1)
    }

    func testUnicastToPort68WithoutAClientIsNotForUs() {
        let link = MemoryLink()
        let stack = NetworkStack()
        _ = stack.addInterface(link.a)
        let udp = udpMessage(from: serverAddress, port: 67, to: offered, port: 68, payload: [1, 2, 3])
        link.a.receiveQueue.append(ipv4Frame(from: serverAddress, to: offered, protocolNumber: IPProtocol.udp,
                                             payload: udp, sourceMAC: link.b.macAddress,
                                             destinationMAC: link.a.macAddress))
        stack.poll(now: Instant(nanoseconds: 0))
        XCTAssertEqual(stack.statistics.ipDroppedNotForUs, 1)
    }

    func testRepliesForAnotherTransactionOrClientAreIgnored() {
        let sim = DHCPSimulation()
        sim.server.answering = false
        sim.start()
        let discover = sim.server.messages(.discover)[0].message
        var wrongXID = sim.server.reply(to: discover, type: .offer)
        wrongXID.xid ^= 1
        var otherClient = sim.server.reply(to: discover, type: .offer)
        otherClient.chaddr = [0x52, 0x54, 0, 0, 0, 0x77] + [UInt8](repeating: 0, count: 10)
        for message in [wrongXID, otherClient] {
            var payload = [UInt8](repeating: 0, count: message.encodedLength)
            payload.withUnsafeMutableBytes { message.emit(into: $0) }
            let udp = udpMessage(from: serverAddress, port: 67, to: .broadcast, port: 68, payload: payload)
            sim.link.a.receiveQueue.append(ipv4Frame(from: serverAddress, to: .broadcast, protocolNumber: IPProtocol.udp,
                                                     payload: udp, sourceMAC: sim.server.mac, destinationMAC: .broadcast))
        }
        sim.settle()
        XCTAssertEqual(sim.client.state, .selecting)
        XCTAssertEqual(sim.client.statistics.ignored, 2)
    }

    // MARK: RFC 2131 §4.1 retransmission

    func testRFC2131DiscoverBackoff4_8_16_32_64_64SecondsWithJitter() {
        let sim = DHCPSimulation()
        sim.server.answering = false
        sim.start()
        sim.run(for: .seconds(300))
        let times = sim.server.messages(.discover).map { $0.time }
        XCTAssertEqual(times.count, 8, "at 0, ~4, ~12, ~28, ~60, ~124, ~188, ~252 s")
        let expected: [Int64] = [4, 8, 16, 32, 64, 64, 64]
        for (i, base) in expected.enumerated() where i + 1 < times.count {
            let gap = times[i + 1] - times[i]
            XCTAssertTrue(gap >= .seconds(base - 1) && gap <= .seconds(base + 1), "gap \(i): \(gap.milliseconds) ms")
        }
        let xids = Set(sim.server.messages(.discover).map { $0.message.xid })
        XCTAssertEqual(xids.count, 1, "retransmissions keep the transaction ID")
        // `secs` counts from the first DISCOVER.
        XCTAssertEqual(sim.server.messages(.discover).last?.message.secs,
                       UInt16((times.last! - times.first!).nanoseconds / 1_000_000_000))
    }

    func testRFC2131RequestRetransmittedThenBackToInit() {
        let sim = DHCPSimulation()
        sim.server.answerRequests = false
        sim.start()
        sim.run(for: .seconds(70))
        let firstXID = sim.server.messages(.discover)[0].message.xid
        let requests = sim.server.messages(.request).filter { $0.message.xid == firstXID }
        XCTAssertEqual(requests.count, 4, "four REQUESTs: at 0, ~4, ~12, ~28 s")
        let expected: [Int64] = [4, 8, 16]
        for (i, base) in expected.enumerated() {
            let gap = requests[i + 1].time - requests[i].time
            XCTAssertTrue(gap >= .seconds(base - 1) && gap <= .seconds(base + 1), "gap \(i): \(gap.milliseconds) ms")
        }
        // After the last one's wait (32 ± 1 s) the client starts over with a new DISCOVER and xid.
        let discovers = sim.server.messages(.discover)
        XCTAssertEqual(discovers.count, 2)
        let restart = discovers[1].time - requests[3].time
        XCTAssertTrue(restart >= .seconds(31) && restart <= .seconds(33), "\(restart.milliseconds) ms")
        XCTAssertNotEqual(discovers[0].message.xid, discovers[1].message.xid)
    }

    // MARK: RENEWING, REBINDING, expiry

    func testRFC2131RenewingAtT1UnicastsToTheServer() throws {
        let sim = boundSimulation()
        let start = sim.server.messages(.request)[0].time
        sim.run(until: start + .seconds(1799))
        XCTAssertEqual(sim.client.state, .bound)
        XCTAssertEqual(sim.server.messages(.request).count, 1)
        sim.run(until: start + .seconds(1800))
        let renewal = try XCTUnwrap(sim.server.messages(.request).last)
        XCTAssertEqual(renewal.time, start + .seconds(1800))
        // RFC 2131 §4.3.2 Table 5, RENEWING: ciaddr, no requested IP, no server identifier, unicast.
        XCTAssertEqual(renewal.message.ciaddr, offered)
        XCTAssertNil(renewal.message.requestedIPAddress)
        XCTAssertNil(renewal.message.serverIdentifier)
        XCTAssertEqual(renewal.source, offered)
        XCTAssertEqual(renewal.destination, serverAddress)
        XCTAssertEqual(renewal.ethernetDestination, sim.server.mac)
        XCTAssertEqual(sim.client.state, .bound)
        let lease = try XCTUnwrap(sim.client.lease)
        XCTAssertEqual(sim.events.last?.event, .renewed(lease, changed: false))
        // The new lease counts from the renewal: next T1 1800 s later.
        sim.run(until: start + .seconds(3599))
        XCTAssertEqual(sim.server.messages(.request).count, 2)
        sim.run(until: start + .seconds(3600))
        XCTAssertEqual(sim.server.messages(.request).count, 3)
        XCTAssertEqual(sim.interface.addresses.count, 1, "the address never left")
    }

    /// RFC 2131 §4.4.5: RENEWING retransmits at half the time to T2 (at least 60 s), REBINDING at
    /// half the time to the lease's end, and at the end the lease is gone.
    func testRFC2131RenewRebindExpireScheduleWithTheServerDown() throws {
        let sim = boundSimulation()
        sim.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 1)] }
        let start = sim.server.messages(.request)[0].time
        sim.server.answering = false
        sim.run(until: start + .seconds(3599))
        XCTAssertEqual(sim.client.state, .rebinding)
        XCTAssertFalse(sim.interface.addresses.isEmpty)
        let requests = sim.server.messages(.request).dropFirst()
        let offsets = requests.map { Double(($0.time - start).nanoseconds) / 1e9 }
        XCTAssertEqual(offsets, [1800, 2475, 2812.5, 2981.25, 3065.625, 3125.625,
                                 3150, 3375, 3487.5, 3547.5])
        let unicast = requests.filter { $0.destination == serverAddress }
        let broadcast = requests.filter { $0.destination == .broadcast }
        XCTAssertEqual(unicast.count, 6, "RENEWING: unicast to the server")
        XCTAssertEqual(broadcast.count, 4, "REBINDING: broadcast")
        for request in broadcast {
            XCTAssertEqual(request.source, offered)
            XCTAssertEqual(request.message.ciaddr, offered)
            XCTAssertNil(request.message.serverIdentifier)
        }

        let lease = try XCTUnwrap(sim.client.lease)
        sim.run(until: start + .seconds(3600))
        XCTAssertNil(sim.client.lease)
        XCTAssertTrue(sim.interface.addresses.isEmpty, "expired: the address is removed")
        XCTAssertTrue(sim.stack.routes.isEmpty, "and its routes")
        XCTAssertTrue(sim.events.contains { $0.event == .expired(lease) && $0.time == start + .seconds(3600) })
        XCTAssertEqual(sim.client.state, .selecting, "back to INIT, which sends a DISCOVER at once")
        let discover = try XCTUnwrap(sim.server.messages(.discover).last)
        XCTAssertEqual(discover.time, start + .seconds(3600))
        XCTAssertEqual(discover.message.requestedIPAddress, offered, "the old address as a hint")
        XCTAssertEqual(discover.source, .any)
    }

    func testRFC2131RebindingAcceptsAnAckToTheBroadcastRequest() throws {
        let sim = boundSimulation()
        let start = sim.server.messages(.request)[0].time
        sim.server.answerOnlyBroadcastRequests = true
        sim.run(until: start + .seconds(3149))
        XCTAssertEqual(sim.client.state, .renewing)
        sim.run(until: start + .seconds(3150))
        XCTAssertEqual(sim.client.state, .bound)
        XCTAssertEqual(sim.server.messages(.request).last?.destination, .broadcast)
        XCTAssertEqual(sim.interface.addresses, [IPv4CIDR(address: offered, prefixLength: 24)])
        guard case .renewed(_, changed: false)? = sim.events.last?.event else {
            return XCTFail("expected renewed: \(sim.events)")
        }
    }

    func testRFC2131NakWhileRenewingRemovesTheLeaseAndRestarts() throws {
        let sim = boundSimulation { $0.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 1)] } }
        let start = sim.server.messages(.request)[0].time
        let lease = try XCTUnwrap(sim.client.lease)
        sim.server.nakRequests = true
        sim.run(until: start + .seconds(1800))
        XCTAssertTrue(sim.events.contains {
            $0.event == .nak(server: serverAddress, message: "address not available", lost: lease)
        })
        XCTAssertNil(sim.client.lease)
        XCTAssertTrue(sim.interface.addresses.isEmpty)
        XCTAssertTrue(sim.stack.routes.isEmpty)
        XCTAssertEqual(sim.server.messages(.discover).last?.time, start + .seconds(1800), "INIT at once")
        // The NAKs go on: from the second in a row the client waits like a retransmission.
        let discoversBefore = sim.server.messages(.discover).count
        sim.run(for: .seconds(3))
        XCTAssertEqual(sim.server.messages(.discover).count, discoversBefore)
        sim.server.nakRequests = false
        XCTAssertTrue(sim.run(untilState: .bound, limit: .seconds(120)))
        XCTAssertEqual(sim.interface.addresses, [IPv4CIDR(address: offered, prefixLength: 24)])
    }

    func testRFC2131NakWhileRequestingRestartsInInit() {
        let sim = DHCPSimulation()
        sim.server.nakRequests = true
        sim.start()
        // The first NAK restarts at once; the second (of the new transaction) waits 4 ± 1 s.
        XCTAssertEqual(sim.client.statistics.naksReceived, 2)
        XCTAssertEqual(sim.server.messages(.discover).count, 2)
        XCTAssertNotEqual(sim.server.messages(.discover)[0].message.xid, sim.server.messages(.discover)[1].message.xid)
        XCTAssertTrue(sim.interface.addresses.isEmpty)
        sim.run(for: .milliseconds(2999))
        XCTAssertEqual(sim.server.messages(.discover).count, 2)
        sim.run(for: .seconds(2))
        XCTAssertEqual(sim.server.messages(.discover).count, 3)
    }

    // MARK: INIT-REBOOT

    func testRFC2131InitRebootRequestsTheRememberedAddress() throws {
        let remembered = IPv4Address(198, 18, 0, 77)
        let sim = DHCPSimulation()
        sim.start(remembered: remembered)
        XCTAssertTrue(sim.server.messages(.discover).isEmpty)
        let request = try XCTUnwrap(sim.server.messages(.request).first)
        // RFC 2131 §4.3.2 Table 5, INIT-REBOOT: requested IP, no server identifier, ciaddr 0, broadcast.
        XCTAssertEqual(request.message.requestedIPAddress, remembered)
        XCTAssertNil(request.message.serverIdentifier)
        XCTAssertEqual(request.message.ciaddr, .any)
        XCTAssertEqual(request.destination, .broadcast)
        XCTAssertEqual(request.source, .any)
        XCTAssertTrue(sim.run(untilState: .bound))
        XCTAssertEqual(sim.interface.addresses, [IPv4CIDR(address: remembered, prefixLength: 24)])
    }

    func testRFC2131InitRebootNakGoesToInit() {
        let sim = DHCPSimulation()
        sim.server.nakRequests = true
        sim.start(remembered: IPv4Address(198, 18, 0, 77))
        XCTAssertGreaterThanOrEqual(sim.client.statistics.naksReceived, 1)
        XCTAssertNil(sim.client.rememberedAddress)
        let discover = sim.server.messages(.discover).first
        XCTAssertNotNil(discover)
        XCTAssertNil(discover?.message.requestedIPAddress, "the NAK'd address is forgotten")
    }

    func testRFC2131InitRebootWithoutAnswerFallsBackToDiscover() {
        let sim = DHCPSimulation()
        sim.server.answerRequests = false
        sim.start(remembered: IPv4Address(198, 18, 0, 77))
        sim.run(for: .seconds(20))
        XCTAssertEqual(sim.server.messages(.request).filter { $0.message.requestedIPAddress == IPv4Address(198, 18, 0, 77)
            && $0.message.serverIdentifier == nil }.count, 2)
        let discover = sim.server.messages(.discover).first
        XCTAssertEqual(discover?.message.requestedIPAddress, IPv4Address(198, 18, 0, 77))
        let wait = discover.map { $0.time - sim.server.messages(.request)[1].time }
        XCTAssertTrue(wait.map { $0 >= .seconds(7) && $0 <= .seconds(9) } ?? false)
    }

    // MARK: RFC 5227 and DHCPDECLINE

    func testRFC5227ArpReplyForTheOfferedAddressSendsDeclineAndWaits10Seconds() throws {
        let sim = DHCPSimulation()
        let other = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x99)
        sim.server.conflictingHost = other
        sim.start()
        sim.run(for: .seconds(3))
        let decline = try XCTUnwrap(sim.server.messages(.decline).first)
        // RFC 2131 §4.3.2 Table 5, DECLINE: requested IP and server identifier, ciaddr 0, broadcast.
        XCTAssertEqual(decline.message.requestedIPAddress, offered)
        XCTAssertEqual(decline.message.serverIdentifier, serverAddress)
        XCTAssertEqual(decline.message.ciaddr, .any)
        XCTAssertEqual(decline.source, .any)
        XCTAssertEqual(decline.destination, .broadcast)
        XCTAssertEqual(decline.message.xid, sim.server.messages(.request)[0].message.xid)
        XCTAssertTrue(sim.interface.addresses.isEmpty, "the address was never used")
        XCTAssertTrue(sim.events.contains { $0.event == .declined(address: offered, by: other) })
        XCTAssertEqual(sim.server.probes.count, 1, "the first probe found it")
        // RFC 2131 §3.1 step 5: at least 10 s before starting over.
        sim.server.conflictingHost = nil
        sim.server.offeredAddress = IPv4Address(198, 18, 0, 51)
        XCTAssertTrue(sim.run(untilState: .bound, limit: .seconds(30)))
        XCTAssertEqual(sim.server.messages(.discover)[1].time - decline.time, .seconds(10))
        XCTAssertEqual(sim.interface.addresses, [IPv4CIDR(address: IPv4Address(198, 18, 0, 51), prefixLength: 24)])
    }

    func testRFC5227ProbeFromAnotherHostForTheSameAddressIsAConflict() throws {
        let sim = DHCPSimulation()
        sim.start()
        XCTAssertEqual(sim.client.state, .probing)
        let other = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x98)
        sim.server.injectARP(ARPPacket(operation: .request, senderMAC: other, senderIP: .any,
                                       targetMAC: .zero, targetIP: offered), from: other, to: .broadcast)
        sim.settle()
        XCTAssertEqual(sim.server.messages(.decline).count, 1)
        XCTAssertEqual(sim.client.state, .initial)
        // A probe for another address is none of our business.
        let calm = DHCPSimulation()
        calm.start()
        calm.server.injectARP(ARPPacket(operation: .request, senderMAC: other, senderIP: .any,
                                        targetMAC: .zero, targetIP: IPv4Address(198, 18, 0, 60)), from: other, to: .broadcast)
        XCTAssertTrue(calm.run(untilState: .bound))
    }

    // MARK: Options applied

    func testRFC3442Section2ClasslessRoutesInstalledAndRouterOptionIgnored() throws {
        let sim = boundSimulation {
            $0.server.decorate = {
                $0.routers = [IPv4Address(198, 18, 0, 1)]
                $0.classlessStaticRoutes = [
                    DHCPClasslessRoute(destination: IPv4CIDR("203.0.113.0/24")!, router: IPv4Address(198, 18, 0, 2)),
                    DHCPClasslessRoute(destination: IPv4CIDR("198.51.100.0/24")!, router: IPv4Address(198, 18, 0, 3)),
                    DHCPClasslessRoute(destination: IPv4CIDR("192.0.2.0/24")!, router: .any),
                    DHCPClasslessRoute(destination: IPv4CIDR("0.0.0.0/0")!, router: IPv4Address(198, 18, 0, 4)),
                ]
            }
        }
        XCTAssertEqual(routeStrings(sim.stack), [
            "198.18.0.0/24 dev eth0",
            "203.0.113.0/24 via 198.18.0.2 dev eth0",
            "198.51.100.0/24 via 198.18.0.3 dev eth0",
            "192.0.2.0/24 dev eth0",
            "0.0.0.0/0 via 198.18.0.4 dev eth0",
        ])
        XCTAssertFalse(sim.stack.routes.contains { $0.gateway == IPv4Address(198, 18, 0, 1) }, "option 3 ignored")
        XCTAssertEqual(sim.stack.route(to: IPv4Address(203, 0, 113, 9))?.gateway, IPv4Address(198, 18, 0, 2))
        XCTAssertEqual(sim.stack.route(to: IPv4Address(198, 51, 100, 9))?.gateway, IPv4Address(198, 18, 0, 3))
        XCTAssertNil(sim.stack.route(to: IPv4Address(192, 0, 2, 9))?.gateway, "router 0.0.0.0: on-link")
        XCTAssertEqual(sim.stack.route(to: IPv4Address(198, 19, 1, 1))?.gateway, IPv4Address(198, 18, 0, 4))
        XCTAssertTrue(try XCTUnwrap(sim.client.lease).routerOptionIgnored)
    }

    /// RFC 3396 §5: a client joins the instances of a split option before reading it.
    func testRFC3396SplitClasslessRouteOptionIsConcatenated() throws {
        let routes: [UInt8] = [24, 203, 0, 113, 198, 18, 0, 2,  0, 198, 18, 0, 3]
        let sim = boundSimulation {
            $0.server.encodeAck = { ack in
                // 121 split in the middle of the first route, another option between the parts.
                DHCPClientTests.encode(ack, extraOptions: [121, 3] + routes[0..<3] + [15, 4] + Array("test".utf8)
                    + [121, UInt8(routes.count - 3)] + routes[3...])
            }
        }
        XCTAssertEqual(routeStrings(sim.stack), ["198.18.0.0/24 dev eth0", "203.0.113.0/24 via 198.18.0.2 dev eth0",
                                                 "0.0.0.0/0 via 198.18.0.3 dev eth0"])
        XCTAssertEqual(sim.client.lease?.domainName, "test")
    }

    /// RFC 3396 §4: an option over 255 bytes arrives as several instances (here 40 routes, 320 bytes).
    func testRFC3396LongClasslessRouteOptionSplitByTheServer() throws {
        var routes: [DHCPClasslessRoute] = []
        for i in 0..<40 {
            routes.append(DHCPClasslessRoute(destination: IPv4CIDR(address: IPv4Address(203, 0, 113, UInt8(i * 4)), prefixLength: 30),
                                             router: IPv4Address(198, 18, 0, 2)))
        }
        let sim = boundSimulation { $0.server.decorate = { $0.classlessStaticRoutes = routes } }
        XCTAssertEqual(sim.stack.routes.count, 41)
        XCTAssertEqual(sim.stack.route(to: IPv4Address(203, 0, 113, 157))?.destination, IPv4CIDR("203.0.113.156/30"))
    }

    /// RFC 2131 §4.1 / RFC 2132 §9.3: with option 52 = 3, options continue in `file`, then `sname`.
    func testRFC2132OverloadedFileAndSnameOptionsAreApplied() throws {
        let sim = boundSimulation {
            $0.server.encodeAck = { ack in
                var bytes = DHCPClientTests.encode(ack, extraOptions: [52, 1, 3])
                let file: [UInt8] = [121, 5, 0, 198, 18, 0, 9, 255]
                let sname: [UInt8] = [26, 2, 0x05, 0x78, 255]
                bytes.replaceSubrange(108..<(108 + file.count), with: file)
                bytes.replaceSubrange(44..<(44 + sname.count), with: sname)
                return bytes
            }
        }
        XCTAssertEqual(routeStrings(sim.stack), ["198.18.0.0/24 dev eth0", "0.0.0.0/0 via 198.18.0.9 dev eth0"])
        XCTAssertEqual(sim.interface.mtu, 1400)
    }

    func testRFC2132InterfaceMTUIsAppliedLoweredOnlyAndRestored() throws {
        let sim = boundSimulation { $0.server.decorate = { $0.interfaceMTU = 1400 } }
        XCTAssertEqual(sim.interface.mtu, 1400)
        sim.client.release(now: sim.now)
        XCTAssertEqual(sim.interface.mtu, 1500)
        let big = boundSimulation { $0.server.decorate = { $0.interfaceMTU = 9000 } }
        XCTAssertEqual(big.interface.mtu, 1500, "never above the device's MTU")
    }

    func testRenewalWithChangedRoutesReinstallsThem() throws {
        let sim = boundSimulation { $0.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 1)] } }
        let start = sim.server.messages(.request)[0].time
        sim.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 5)] }
        sim.run(until: start + .seconds(1800))
        XCTAssertEqual(routeStrings(sim.stack), ["198.18.0.0/24 dev eth0", "0.0.0.0/0 via 198.18.0.5 dev eth0"])
        guard case .renewed(_, changed: true)? = sim.events.last?.event else {
            return XCTFail("expected a changed renewal: \(sim.events)")
        }
    }

    func testInfiniteLeaseNeverRenews() {
        let sim = boundSimulation { $0.server.leaseTime = 0xffff_ffff }
        XCTAssertNil(sim.client.nextDeadline)
        sim.run(for: .seconds(100_000))
        XCTAssertEqual(sim.server.messages(.request).count, 1)
        XCTAssertEqual(sim.client.state, .bound)
    }

    // MARK: RELEASE

    func testRFC2131ReleaseUnicastsToTheServerAndRemovesTheLease() throws {
        let sim = boundSimulation { $0.server.decorate = { $0.routers = [IPv4Address(198, 18, 0, 1)] } }
        let lease = try XCTUnwrap(sim.client.lease)
        sim.client.release(now: sim.now)
        sim.settle()
        let release = try XCTUnwrap(sim.server.messages(.release).first)
        // RFC 2131 §4.4.6 / Table 5: ciaddr and server identifier, unicast to the server.
        XCTAssertEqual(release.message.ciaddr, offered)
        XCTAssertEqual(release.message.serverIdentifier, serverAddress)
        XCTAssertEqual(release.destination, serverAddress)
        XCTAssertEqual(release.source, offered)
        XCTAssertEqual(release.message.clientIdentifier, [1, 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a])
        XCTAssertEqual(sim.client.state, .stopped)
        XCTAssertTrue(sim.interface.addresses.isEmpty)
        XCTAssertTrue(sim.stack.routes.isEmpty)
        XCTAssertNil(sim.interface.dhcpPort)
        XCTAssertEqual(sim.events.last?.event, .released(lease))
    }

    // MARK: Helpers

    /// The ACK's fixed fields and options (its own, then `extraOptions` as raw bytes), END, padded
    /// to 300 bytes.
    static func encode(_ ack: DHCPMessage, extraOptions: [UInt8]) -> [UInt8] {
        var bare = ack
        bare.options = []
        var bytes = [UInt8](repeating: 0, count: bare.encodedLength)
        bytes.withUnsafeMutableBytes { bare.emit(into: $0) }
        bytes = Array(bytes[0..<240])
        for option in ack.options {
            bytes += [option.code, UInt8(option.data.count)] + option.data
        }
        bytes += extraOptions + [255]
        if bytes.count < 300 { bytes += [UInt8](repeating: 0, count: 300 - bytes.count) }
        return bytes
    }
}
