import SkiffPlatform
import SkiffWire

/// The DHCP client's tunables. The defaults are the RFCs' values.
public struct DHCPClientConfiguration: Sendable {
    /// Option 12 sent in every DISCOVER and REQUEST; nil sends none.
    public var hostName: String?
    /// Option 61; nil sends type 1 (Ethernet) followed by the interface's MAC (RFC 2132 §9.14).
    public var clientIdentifier: [UInt8]?
    /// Option 55: the options the client applies (121 before 3, for a server that fills its reply
    /// in the order asked and runs out of room).
    public var parameterRequestList: [UInt8] = [
        DHCPOptionCode.subnetMask, DHCPOptionCode.classlessStaticRoute, DHCPOptionCode.router,
        DHCPOptionCode.domainNameServer, DHCPOptionCode.hostName, DHCPOptionCode.domainName,
        DHCPOptionCode.interfaceMTU, DHCPOptionCode.broadcastAddress, DHCPOptionCode.leaseTime,
        DHCPOptionCode.renewalTime, DHCPOptionCode.rebindingTime, DHCPOptionCode.domainSearch,
    ]
    /// RFC 2131 §4.1: DISCOVER and REQUEST are retransmitted after 4 s, then 8, 16, 32 and 64 s
    /// (and 64 s from then on), each randomized by a uniform ±1 s.
    public var retransmitInitial: Interval = .seconds(4)
    public var retransmitMaximum: Interval = .seconds(64)
    public var retransmitJitter: Interval = .seconds(1)
    /// REQUESTs sent in REQUESTING before the client starts over in INIT (RFC 2131 §3.1 step 5
    /// leaves the count to the client: 4 covers 4 + 8 + 16 + 32 s).
    public var requestAttempts = 4
    /// REQUESTs sent in REBOOTING before the client gives the remembered address up (§3.2 step 5).
    public var rebootAttempts = 2
    /// RFC 2131 §4.4.5: in RENEWING and REBINDING the client waits half the time left until T2 (or
    /// the lease's end) before retransmitting, down to a minimum of 60 s.
    public var minimumRenewalRetransmit: Interval = .seconds(60)
    /// RFC 2131 §3.1 step 5: after a DHCPDECLINE the client waits at least 10 s before starting over.
    public var declineWait: Interval = .seconds(10)
    /// RFC 2131 §4.4.1 lets the client wait 1 to 10 s before the first DISCOVER; a unikernel
    /// booting alone does not, so the default is no wait. A random delay up to this bound otherwise.
    public var startDelay: Interval = .zero
    /// RFC 5227 §1.1: PROBE_WAIT, PROBE_NUM, PROBE_MIN, PROBE_MAX, ANNOUNCE_WAIT. With
    /// `probeCount` 0 the offered address is bound without checking it.
    public var probeWait: Interval = .seconds(1)
    public var probeCount = 3
    public var probeMinimum: Interval = .seconds(1)
    public var probeMaximum: Interval = .seconds(2)
    public var announceWait: Interval = .seconds(2)

    public init(hostName: String? = nil) {
        self.hostName = hostName
    }
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// transaction IDs and the jitter of the timers, seeded from the platform's entropy.
struct DHCPRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A uniform value in `low...high` (nanoseconds); `low` when the range is empty.
    mutating func interval(from low: Interval, through high: Interval) -> Interval {
        guard high.nanoseconds > low.nanoseconds else { return low }
        let span = UInt64(high.nanoseconds - low.nanoseconds) + 1
        return Interval(nanoseconds: low.nanoseconds + Int64(next() % span))
    }
}

/// The retransmission schedules of RFC 2131, apart from the state machine so they can be tested
/// alone.
enum DHCPSchedule {
    /// RFC 2131 §4.1: the wait after transmission number `attempt` (0 for the first) of a DISCOVER
    /// or REQUEST: `initial` doubled per attempt up to `maximum`, plus a uniform jitter in
    /// [-jitter, +jitter].
    static func retransmitDelay(attempt: Int, configuration: DHCPClientConfiguration,
                                random: inout DHCPRandom) -> Interval {
        var base = configuration.retransmitInitial
        var step = 0
        while step < attempt && base < configuration.retransmitMaximum {
            base = base * 2
            step += 1
        }
        if configuration.retransmitMaximum < base { base = configuration.retransmitMaximum }
        let jitter = configuration.retransmitJitter
        let offset = random.interval(from: .zero, through: jitter * 2)
        return Interval(nanoseconds: max(0, base.nanoseconds - jitter.nanoseconds + offset.nanoseconds))
    }

    /// RFC 2131 §4.4.5: in RENEWING (until T2) and REBINDING (until the lease ends) the next
    /// retransmission is half the time left away, but at least `minimum`, and never after `limit`.
    static func renewalRetransmit(now: Instant, limit: Instant, minimum: Interval) -> Instant {
        let half = Interval(nanoseconds: (limit - now).nanoseconds / 2)
        let wait = half < minimum ? minimum : half
        let next = now + wait
        return limit < next ? limit : next
    }
}
