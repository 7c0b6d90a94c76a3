import ArgumentParser
import SkiffConfig
import SkiffPlatform
import SkiffStack
import SkiffWire

/// The DNS flags of `skiff run hosted`: names to resolve with Skiff's stub resolver, and the
/// servers and search domains to use (besides those of a DHCP lease).
struct DNSOptions: ParsableArguments {
    @Option(name: .customLong("resolve"), help: ArgumentHelp("Resolve this host name to IPv4 addresses once the network is up and print `dns: NAME -> a.b.c.d (ttl N, from SERVER)` or the error; repeat for more (resolved one after another, so a repeated name comes from the cache).", valueName: "name"))
    var names: [String] = []

    @Option(name: .customLong("dns-server"), help: ArgumentHelp("A DNS server for --resolve, asked in the order given (before the servers of a --dhcp lease); repeat for more.", valueName: "a.b.c.d"))
    var servers: [String] = []

    @Option(name: .customLong("dns-search"), help: ArgumentHelp("A search domain for --resolve (before those of a --dhcp lease); repeat for more.", valueName: "domain"))
    var searchDomains: [String] = []

    /// The static servers and search domains, checked; nil without --resolve.
    func settings(dhcp: Bool) throws(CLIError) -> DNSSettings? {
        guard !names.isEmpty else {
            if !servers.isEmpty || !searchDomains.isEmpty {
                throw .usage("--dns-server and --dns-search are for --resolve; give the names to resolve too")
            }
            return nil
        }
        for name in names where IPv4Address(name) == nil {
            guard let parsed = DNSName(name), !parsed.isRoot else {
                throw .usage("--resolve \(name): not a host name (labels of 1 to 63 bytes separated by dots, 255 bytes in all)")
            }
        }
        var addresses: [IPv4Address] = []
        for text in servers {
            addresses.append(try FlagValues.address(text, flag: "--dns-server"))
        }
        for domain in searchDomains {
            guard let parsed = DNSName(domain), !parsed.isRoot else {
                throw .usage("--dns-search \(domain): not a domain name")
            }
        }
        if addresses.isEmpty && !dhcp {
            throw .usage("--resolve needs a DNS server: give --dns-server a.b.c.d, or --dhcp to use the lease's")
        }
        return DNSSettings(servers: addresses, searchDomains: searchDomains)
    }
}
