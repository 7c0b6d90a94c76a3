import SkiffPlatform
import SkiffStack
import SkiffWire

/// The DNS servers and search domains an application's `DNSResolver` uses, gathered from every
/// source: first the static ones (`ip=`'s dns0/dns1, `skiff.net=`'s `dns=`/`search=` and the
/// interfaces files' `dns-nameservers` and `dns-search`, as `NetworkConfiguration.apply` collected
/// them, or a hosted flag), then those
/// of each DHCP lease held (option 6; option 119, else option 15's domain as a one-entry search
/// list, as resolvconf does). Duplicates are dropped, the first place kept.
///
/// The application loop hands them over after the DHCP clients have stepped, so a lease that
/// arrives, changes or goes away reaches the resolver:
///
/// ```swift
/// resolver.use(DNSSettings(application: application).adding(dhcp.leases))
/// ```
public struct DNSSettings: Equatable, Sendable {
    public var servers: [IPv4Address]
    public var searchDomains: [String]

    public init(servers: [IPv4Address] = [], searchDomains: [String] = []) {
        self.servers = []
        self.searchDomains = []
        add(servers: servers, searchDomains: searchDomains)
    }

    /// The static settings of the boot-time configuration.
    public init(application: NetworkApplication) {
        self.init(servers: application.dnsServers, searchDomains: application.dnsSearch)
    }

    /// Adds a lease's servers (option 6) and search domains (option 119, else option 15).
    public mutating func add(_ lease: DHCPLease) {
        var domains = lease.domainSearch
        if domains.isEmpty, let domain = lease.domainName { domains = [domain] }
        add(servers: lease.dnsServers, searchDomains: domains)
    }

    /// These settings followed by those of `leases`.
    public func adding(_ leases: [DHCPLease]) -> DNSSettings {
        var settings = self
        for lease in leases { settings.add(lease) }
        return settings
    }

    private mutating func add(servers more: [IPv4Address], searchDomains moreDomains: [String]) {
        for server in more where !server.isUnspecified && !servers.contains(server) {
            servers.append(server)
        }
        for domain in moreDomains where !searchDomains.contains(where: { BootConfiguration.same($0, domain) }) {
            searchDomains.append(domain)
        }
    }

    /// The search domains as names; text that is not a domain name is left out (`dns-search` and
    /// option 15 come as text).
    public var searchNames: [DNSName] {
        searchDomains.compactMap { DNSName($0) }.filter { !$0.isRoot }
    }
}

extension DNSResolver {
    /// Takes the servers and search domains of `settings` when they differ from the resolver's
    /// (lookups under way keep the servers they started with). Returns whether anything changed.
    @discardableResult
    public func use(_ settings: DNSSettings) -> Bool {
        let names = settings.searchNames
        guard configuration.servers != settings.servers || configuration.searchDomains != names else { return false }
        configuration.servers = settings.servers
        configuration.searchDomains = names
        return true
    }
}

extension DHCPAutoconfiguration {
    /// The leases the clients hold now, in client order.
    public var leases: [DHCPLease] {
        clients.compactMap { $0.lease }
    }
}
