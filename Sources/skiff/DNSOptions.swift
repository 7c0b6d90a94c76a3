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

/// Resolves the `--resolve` names one after another once the network is up (at once with static
/// addresses, after the lease with --dhcp), handing the resolver the lease's servers as they come,
/// and prints one `dns:` line per name:
///   dns: www.skiff.test -> 198.18.0.20 (ttl 600, from 198.18.0.1)
///   dns: alias.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from 198.18.0.1)
///   dns: www -> 198.18.0.20 (www.skiff.test, ttl 599, from cache)
///   dns: nx.skiff.test: no such name (NXDOMAIN)
final class HostedResolver {
    let resolver: DNSResolver
    let settings: DNSSettings
    private var pending: [String]
    private var current: DNSQuery?

    init(resolver: DNSResolver, names: [String], settings: DNSSettings) {
        self.resolver = resolver
        self.pending = names
        self.settings = settings
        resolver.use(settings)
    }

    /// The `dns:` lines of the static configuration (as `NetworkConfiguration` prints them).
    var configurationLines: [String] {
        var lines: [String] = []
        if !settings.servers.isEmpty { lines.append("dns: " + settings.servers.map { $0.description }.joined(separator: " ")) }
        if !settings.searchDomains.isEmpty { lines.append("dns: search " + settings.searchDomains.joined(separator: " ")) }
        return lines
    }

    /// Runs the resolver; prints the lines of the lookups that ended; returns when to be called next.
    func step(now: Instant, dhcp: DHCPAutoconfiguration?, write: (String) -> Void) -> Instant? {
        if let dhcp { resolver.use(settings.adding(dhcp.leases)) }
        var deadline = resolver.step(now: now)
        // Bounded: every pass prints a line and takes a name off the list.
        while true {
            if let query = current {
                guard query.isFinished else { break }
                write(HostedResolver.line(query))
                current = nil
            }
            guard !pending.isEmpty, dhcp.map({ $0.allBound }) ?? true else { break }
            current = resolver.resolve(pending.removeFirst(), now: now)
            deadline = resolver.nextDeadline(now: now)
        }
        return deadline
    }

    static func line(_ query: DNSQuery) -> String {
        switch query.result {
        case .success(let answer)?:
            var notes: [String] = []
            if DNSName(query.name) != answer.name { notes.append(answer.name.description) }
            if answer.canonicalName != answer.name { notes.append("cname \(answer.canonicalName)") }
            if answer.fromCache {
                notes.append("ttl \(answer.ttl)")
                notes.append("from cache")
            } else if let server = answer.server {
                notes.append("ttl \(answer.ttl)")
                notes.append("from \(server)")
            } else {
                notes.append("literal")
            }
            let addresses = answer.addresses.map { $0.description }.joined(separator: ", ")
            return "dns: \(query.name) -> \(addresses) (" + notes.joined(separator: ", ") + ")"
        case .failure(let error)?:
            return "dns: \(query.name): \(error)"
        case nil:
            return "dns: \(query.name): still resolving"
        }
    }

    /// `counters: dns lookups 3, answered 2, failed 1, queries 4, ...`
    var countersLine: String {
        let s = resolver.statistics
        return "counters: dns lookups \(s.lookups), answered \(s.answered), failed \(s.failed), queries \(s.queriesSent)"
            + ", retries \(s.retries), server switches \(s.serverSwitches), ignored \(s.repliesIgnored)"
            + ", malformed \(s.malformedReplies), server failures \(s.serverFailures), truncated \(s.truncatedReplies)"
            + ", cache hits \(s.cacheHits), negative cache hits \(s.negativeCacheHits)"
    }
}
