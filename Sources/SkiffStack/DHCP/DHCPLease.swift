import SkiffPlatform
import SkiffWire

/// What a DHCPACK grants (RFC 2131 §3.1 step 5), read from the options the client applies:
/// 1 (subnet mask), 3 (routers), 6 (DNS servers), 12 (host name), 15 (domain name), 26 (interface
/// MTU), 28 (broadcast address), 51 (lease time), 54 (server identifier), 58/59 (T1/T2), 119
/// (domain search) and 121 (classless static routes).
public struct DHCPLease: Equatable, Sendable {
    /// `yiaddr` with the prefix of option 1 (or of the address class when the server sent no
    /// usable mask, as RFC 2131 leaves it to the client).
    public var address: IPv4CIDR
    /// Option 54: where unicast renewals and the release go.
    public var server: IPv4Address
    /// Seconds; nil for an infinite lease (0xffffffff, RFC 2131 §3.3).
    public var leaseTime: UInt32?
    /// T1 and T2 in seconds after the lease starts (RFC 2131 §4.4.5): options 58/59 when they are
    /// consistent (T1 < T2 < lease), else 0.5 and 0.875 of the lease time.
    public var renewalTime: UInt32?
    public var rebindingTime: UInt32?
    /// Option 3, in order of preference.
    public var routers: [IPv4Address]
    /// Option 121 decoded, nil when absent or malformed (then option 3 applies).
    public var classlessRoutes: [DHCPClasslessRoute]?
    public var dnsServers: [IPv4Address]
    public var hostName: String?
    public var domainName: String?
    public var domainSearch: [String]
    /// Option 26 when it is at least 68 (RFC 2132 §5.1).
    public var mtu: Int?
    /// Option 28. The stack derives the subnet broadcast from the prefix; a different value is
    /// kept here and reported, not applied.
    public var broadcastAddress: IPv4Address?

    public init(address: IPv4CIDR, server: IPv4Address, leaseTime: UInt32?, renewalTime: UInt32? = nil,
                rebindingTime: UInt32? = nil, routers: [IPv4Address] = [],
                classlessRoutes: [DHCPClasslessRoute]? = nil, dnsServers: [IPv4Address] = [],
                hostName: String? = nil, domainName: String? = nil, domainSearch: [String] = [],
                mtu: Int? = nil, broadcastAddress: IPv4Address? = nil) {
        self.address = address
        self.server = server
        self.leaseTime = leaseTime
        self.renewalTime = renewalTime
        self.rebindingTime = rebindingTime
        self.routers = routers
        self.classlessRoutes = classlessRoutes
        self.dnsServers = dnsServers
        self.hostName = hostName
        self.domainName = domainName
        self.domainSearch = domainSearch
        self.mtu = mtu
        self.broadcastAddress = broadcastAddress
        normalizeTimers()
    }

    /// RFC 2131 §3.3: 0xffffffff is an infinite lease.
    public static let infinite: UInt32 = 0xffff_ffff
    public static let minimumMTU = 68

    /// The lease an ACK grants, nil when it grants none: `yiaddr` not a unicast host address, no
    /// lease time or 0 (RFC 2131 Table 3: MUST in a DHCPACK to a DHCPREQUEST), or no server identifier
    /// and no `fallbackServer` (RFC 2131 §4.3.1: MUST).
    public init?(ack: DHCPMessage, fallbackServer: IPv4Address? = nil) {
        let yiaddr = ack.yiaddr
        guard yiaddr.isUnicastHost, let time = ack.leaseTime, time > 0,
              let server = ack.serverIdentifier ?? fallbackServer, !server.isUnspecified else { return nil }
        var prefix = DHCPLease.classfulPrefixLength(yiaddr)
        if let mask = ack.subnetMask, let length = IPv4CIDR.prefixLength(ofMask: mask), length > 0 {
            prefix = length
        }
        var mtu: Int? = nil
        if let value = ack.interfaceMTU, Int(value) >= DHCPLease.minimumMTU { mtu = Int(value) }
        self.init(address: IPv4CIDR(address: yiaddr, prefixLength: prefix), server: server,
                  leaseTime: time == DHCPLease.infinite ? nil : time,
                  renewalTime: ack.renewalTime, rebindingTime: ack.rebindingTime,
                  routers: ack.routers ?? [], classlessRoutes: ack.classlessStaticRoutes,
                  dnsServers: ack.domainNameServers ?? [], hostName: ack.hostName,
                  domainName: ack.domainName, domainSearch: ack.domainSearch ?? [], mtu: mtu,
                  broadcastAddress: ack.broadcastAddress)
    }

    /// RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease; given values are kept only
    /// when T1 < T2 < lease (T1 alone when it is below the default T2, T2 alone above the default T1).
    private mutating func normalizeTimers() {
        guard let lease = leaseTime else {
            renewalTime = nil
            rebindingTime = nil
            return
        }
        let defaultT1 = lease / 2
        let defaultT2 = UInt32((UInt64(lease) * 7) / 8)
        var t2 = defaultT2
        if let given = rebindingTime, given < lease, given > 0 { t2 = given }
        var t1 = defaultT1
        if let given = renewalTime, given < t2, given > 0 { t1 = given }
        if t1 >= t2 { t1 = t2 / 2 }
        renewalTime = t1
        rebindingTime = t2
    }

    /// The prefix of an address's class (RFC 791) for a server that sends no subnet mask.
    static func classfulPrefixLength(_ address: IPv4Address) -> Int {
        switch address.value >> 29 {
        case 0...3: return 8      // class A: 0xxx
        case 4, 5: return 16      // class B: 10xx
        default: return 24        // class C: 110x
        }
    }

    /// True when option 121 is present and valid, which makes the client ignore option 3
    /// (RFC 3442 §2: "If the DHCP server returns both a Classless Static Routes option and a
    /// Router option, the DHCP client MUST ignore the Router option").
    public var routerOptionIgnored: Bool { classlessRoutes != nil && !routers.isEmpty }

    /// The routes to install besides the connected one, as (destination, gateway) with gateway nil
    /// for an on-link route: option 121's routes in order (a zero-length prefix is the default
    /// route, a router of 0.0.0.0 means on-link, RFC 3442), else a default route through the first
    /// router of option 3. Duplicates are dropped.
    public var routes: [(destination: IPv4CIDR, gateway: IPv4Address?)] {
        var result: [(destination: IPv4CIDR, gateway: IPv4Address?)] = []
        func add(_ destination: IPv4CIDR, _ gateway: IPv4Address?) {
            let normalized = IPv4CIDR(address: destination.network, prefixLength: destination.prefixLength)
            guard !result.contains(where: { $0.destination == normalized && $0.gateway == gateway }) else { return }
            result.append((normalized, gateway))
        }
        if let classless = classlessRoutes {
            for route in classless {
                add(route.destination, route.router.isUnspecified ? nil : route.router)
            }
        } else if let router = routers.first(where: { !$0.isUnspecified }) {
            add(IPv4CIDR(address: .any, prefixLength: 0), router)
        }
        return result
    }

    /// Whether installing `other` instead of this lease changes the interface (address, routes,
    /// MTU); timers, DNS and names do not.
    public func changesInterface(from other: DHCPLease) -> Bool {
        guard address == other.address, mtu == other.mtu else { return true }
        let mine = routes
        let theirs = other.routes
        guard mine.count == theirs.count else { return true }
        for (a, b) in zip(mine, theirs) where a.destination != b.destination || a.gateway != b.gateway {
            return true
        }
        return false
    }
}
