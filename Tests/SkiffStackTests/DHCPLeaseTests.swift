import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The lease read from an ACK (options applied, timers, routes) and the retransmission schedules,
/// without a network.
final class DHCPLeaseTests: XCTestCase {
    private let server = IPv4Address(198, 18, 0, 1)

    private func ack(lease: UInt32? = 3600, options: (inout DHCPMessage) -> Void = { _ in }) -> DHCPMessage {
        var message = DHCPMessage(op: .bootReply, xid: 1, clientMAC: MACAddress(0x52, 0x54, 0, 0, 0, 0x0a))
        message.messageType = .ack
        message.yiaddr = IPv4Address(198, 18, 0, 50)
        message.serverIdentifier = server
        message.subnetMask = IPv4Address(255, 255, 255, 0)
        message.leaseTime = lease
        options(&message)
        return message
    }

    private func routes(_ lease: DHCPLease) -> [String] {
        lease.routes.map { "\($0.destination)" + ($0.gateway.map { " via \($0)" } ?? " on-link") }
    }

    // MARK: RFC 2131 §4.4.5 timers

    func testRFC2131T1AndT2DefaultToHalfAndSevenEighthsOfTheLease() throws {
        let lease = try XCTUnwrap(DHCPLease(ack: ack(lease: 3600)))
        XCTAssertEqual(lease.leaseTime, 3600)
        XCTAssertEqual(lease.renewalTime, 1800)
        XCTAssertEqual(lease.rebindingTime, 3150)
        let short = try XCTUnwrap(DHCPLease(ack: ack(lease: 120)))
        XCTAssertEqual(short.renewalTime, 60)
        XCTAssertEqual(short.rebindingTime, 105)
    }

    func testRFC2132Options58And59AreUsedWhenConsistent() throws {
        let given = try XCTUnwrap(DHCPLease(ack: ack(lease: 120) { $0.renewalTime = 20; $0.rebindingTime = 40 }))
        XCTAssertEqual(given.renewalTime, 20)
        XCTAssertEqual(given.rebindingTime, 40)
        // T2 at or past the lease's end, T1 past T2: the defaults instead.
        let badT2 = try XCTUnwrap(DHCPLease(ack: ack(lease: 120) { $0.rebindingTime = 120 }))
        XCTAssertEqual(badT2.rebindingTime, 105)
        let badT1 = try XCTUnwrap(DHCPLease(ack: ack(lease: 120) { $0.renewalTime = 110 }))
        XCTAssertEqual(badT1.renewalTime, 60)
        XCTAssertEqual(badT1.rebindingTime, 105)
    }

    func testRFC2131InfiniteLeaseHasNoTimers() throws {
        let lease = try XCTUnwrap(DHCPLease(ack: ack(lease: 0xffff_ffff)))
        XCTAssertNil(lease.leaseTime)
        XCTAssertNil(lease.renewalTime)
        XCTAssertNil(lease.rebindingTime)
    }

    func testRFC2131AckWithoutLeaseTimeAddressOrServerGrantsNothing() {
        XCTAssertNil(DHCPLease(ack: ack(lease: nil)), "lease time is a MUST in an ACK")
        XCTAssertNil(DHCPLease(ack: ack(lease: 0)))
        XCTAssertNil(DHCPLease(ack: ack { $0.yiaddr = .any }))
        XCTAssertNil(DHCPLease(ack: ack { $0.yiaddr = IPv4Address(224, 0, 0, 1) }))
        XCTAssertNil(DHCPLease(ack: ack { $0.serverIdentifier = nil }))
        XCTAssertNotNil(DHCPLease(ack: ack { $0.serverIdentifier = nil }, fallbackServer: server))
    }

    func testMissingOrBadSubnetMaskFallsBackToTheAddressClass() throws {
        XCTAssertEqual(DHCPLease(ack: ack { $0.subnetMask = nil })?.address.prefixLength, 24, "198.18/15 is class C")
        XCTAssertEqual(DHCPLease(ack: ack { $0.subnetMask = IPv4Address(255, 0, 255, 0) })?.address.prefixLength, 24)
        XCTAssertEqual(DHCPLease(ack: ack { $0.subnetMask = nil; $0.yiaddr = IPv4Address(10, 1, 2, 3) })?
            .address.prefixLength, 8)
        XCTAssertEqual(DHCPLease(ack: ack { $0.subnetMask = IPv4Address(255, 255, 255, 255) })?.address.prefixLength, 32)
    }

    func testRFC2132OptionsAreRead() throws {
        let lease = try XCTUnwrap(DHCPLease(ack: ack {
            $0.domainNameServers = [IPv4Address(198, 18, 0, 2), IPv4Address(198, 18, 0, 3)]
            $0.hostName = "app1"
            $0.domainName = "example.test"
            $0.interfaceMTU = 1400
            $0.broadcastAddress = IPv4Address(198, 18, 0, 255)
            $0.setDomainSearch(["example.test", "lab.example.test"])
        }))
        XCTAssertEqual(lease.dnsServers, [IPv4Address(198, 18, 0, 2), IPv4Address(198, 18, 0, 3)])
        XCTAssertEqual(lease.hostName, "app1")
        XCTAssertEqual(lease.domainName, "example.test")
        XCTAssertEqual(lease.mtu, 1400)
        XCTAssertEqual(lease.broadcastAddress, IPv4Address(198, 18, 0, 255))
        XCTAssertEqual(lease.domainSearch, ["example.test", "lab.example.test"])
        // RFC 2132 §5.1: an MTU below 68 is not applied.
        XCTAssertNil(DHCPLease(ack: ack { $0.interfaceMTU = 67 })?.mtu)
    }

    // MARK: RFC 3442

    func testRFC2132RouterOptionGivesTheDefaultRouteWithout121() throws {
        let lease = try XCTUnwrap(DHCPLease(ack: ack { $0.routers = [IPv4Address(198, 18, 0, 1), IPv4Address(198, 18, 0, 9)] }))
        XCTAssertEqual(routes(lease), ["0.0.0.0/0 via 198.18.0.1"])
        XCTAssertFalse(lease.routerOptionIgnored)
    }

    func testRFC3442Section2ClasslessRoutesOverrideRouterOption() throws {
        let lease = try XCTUnwrap(DHCPLease(ack: ack {
            $0.routers = [IPv4Address(198, 18, 0, 1)]
            $0.setOption(121, [8, 10, 198, 18, 0, 2,  0, 198, 18, 0, 3])
        }))
        XCTAssertEqual(routes(lease), ["10.0.0.0/8 via 198.18.0.2", "0.0.0.0/0 via 198.18.0.3"])
        XCTAssertTrue(lease.routerOptionIgnored)
        // Option 121 without a default route: option 3 is still ignored, so there is none.
        let noDefault = try XCTUnwrap(DHCPLease(ack: ack {
            $0.routers = [IPv4Address(198, 18, 0, 1)]
            $0.setOption(121, [8, 10, 198, 18, 0, 2])
        }))
        XCTAssertEqual(routes(noDefault), ["10.0.0.0/8 via 198.18.0.2"])
        // A malformed 121 is no 121: option 3 applies.
        let malformed = try XCTUnwrap(DHCPLease(ack: ack {
            $0.routers = [IPv4Address(198, 18, 0, 1)]
            $0.setOption(121, [33, 10, 0, 0, 0, 0, 198, 18, 0, 2])
        }))
        XCTAssertEqual(routes(malformed), ["0.0.0.0/0 via 198.18.0.1"])
    }

    /// RFC 3442 "Classless Route Option Format": each width sends only its significant octets; a
    /// zero-length prefix is the default route and a router of 0.0.0.0 an on-link route.
    func testRFC3442EncodingsForPrefixLengths0_1_8_19_24_25_32AndOnLinkRouter() throws {
        let option: [UInt8] = [
            0, 198, 18, 0, 1,
            1, 128, 198, 18, 0, 2,
            8, 10, 198, 18, 0, 3,
            19, 198, 18, 64, 198, 18, 0, 4,
            24, 203, 0, 113, 198, 18, 0, 5,
            25, 198, 51, 100, 128, 198, 18, 0, 6,
            32, 192, 0, 2, 7, 198, 18, 0, 7,
            24, 198, 19, 5, 0, 0, 0, 0,
        ]
        let lease = try XCTUnwrap(DHCPLease(ack: ack { $0.setOption(121, option) }))
        XCTAssertEqual(routes(lease), [
            "0.0.0.0/0 via 198.18.0.1",
            "128.0.0.0/1 via 198.18.0.2",
            "10.0.0.0/8 via 198.18.0.3",
            "198.18.64.0/19 via 198.18.0.4",
            "203.0.113.0/24 via 198.18.0.5",
            "198.51.100.128/25 via 198.18.0.6",
            "192.0.2.7/32 via 198.18.0.7",
            "198.19.5.0/24 on-link",
        ])
    }

    // MARK: RFC 2131 §4.1 and §4.4.5 schedules

    func testRFC2131BackoffIs4_8_16_32_64SecondsWithinOneSecond() {
        let configuration = DHCPClientConfiguration()
        var random = DHCPRandom(seed: 42)
        let bases: [Int64] = [4, 8, 16, 32, 64, 64, 64]
        var sawFraction = false
        for _ in 0..<200 {
            for (attempt, base) in bases.enumerated() {
                let delay = DHCPSchedule.retransmitDelay(attempt: attempt, configuration: configuration, random: &random)
                XCTAssertGreaterThanOrEqual(delay, Interval.seconds(base - 1), "attempt \(attempt)")
                XCTAssertLessThanOrEqual(delay, Interval.seconds(base + 1), "attempt \(attempt)")
                if delay.nanoseconds % 1_000_000_000 != 0 { sawFraction = true }
            }
        }
        XCTAssertTrue(sawFraction, "the jitter is uniform over the interval, not whole seconds")
    }

    func testRFC2131BackoffJitterDependsOnTheSeed() {
        let configuration = DHCPClientConfiguration()
        var a = DHCPRandom(seed: 1)
        var b = DHCPRandom(seed: 2)
        let first = (0..<5).map { DHCPSchedule.retransmitDelay(attempt: $0, configuration: configuration, random: &a) }
        let second = (0..<5).map { DHCPSchedule.retransmitDelay(attempt: $0, configuration: configuration, random: &b) }
        XCTAssertNotEqual(first, second)
    }

    func testRFC2131RenewalRetransmitIsHalfTheRemainingTimeDownTo60Seconds() {
        let t0 = Instant(nanoseconds: 0)
        let minimum = Interval.seconds(60)
        XCTAssertEqual(DHCPSchedule.renewalRetransmit(now: t0, limit: t0 + .seconds(1350), minimum: minimum),
                       t0 + .seconds(675))
        XCTAssertEqual(DHCPSchedule.renewalRetransmit(now: t0, limit: t0 + .seconds(100), minimum: minimum),
                       t0 + .seconds(60), "half is 50 s: the minimum wins")
        XCTAssertEqual(DHCPSchedule.renewalRetransmit(now: t0, limit: t0 + .seconds(30), minimum: minimum),
                       t0 + .seconds(30), "never past T2 or the lease's end")
    }
}
