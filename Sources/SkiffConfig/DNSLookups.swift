import SkiffPlatform
import SkiffStack
import SkiffWire

/// Names given at start-up (`skiff.resolve=` on a kernel command line, `--resolve` for `skiff run
/// hosted`) resolved one after another with a `DNSResolver` once the network is up — at once with
/// static addresses, after every DHCP client holds a lease otherwise — with the servers and search
/// domains of `settings` followed by those of the leases. One `dns:` line per name:
///
///     dns: www.skiff.test -> 198.18.0.20 (ttl 600, from 198.18.0.1)
///     dns: alias.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from 198.18.0.1)
///     dns: www -> 198.18.0.20 (www.skiff.test, ttl 599, from cache)
///     dns: nx.skiff.test: no such name (NXDOMAIN)
public final class DNSLookups {
    public let resolver: DNSResolver
    public let settings: DNSSettings
    /// Receives every line as a lookup ends.
    public var output: ((String) -> Void)?
    private var pending: [String]
    private var current: DNSQuery?

    public init(resolver: DNSResolver, names: [String], settings: DNSSettings) {
        self.resolver = resolver
        self.pending = names
        self.settings = settings
        resolver.use(settings)
    }

    /// True once every name has been resolved or has failed.
    public var isDone: Bool { pending.isEmpty && current == nil }

    /// Hands the leases' servers to the resolver, runs it, starts the next lookup when the last one
    /// ended, and prints the lines. Returns when to be called next. Call after `dhcp.step`.
    @discardableResult
    public func step(now: Instant, dhcp: DHCPAutoconfiguration?) -> Instant? {
        if let dhcp { resolver.use(settings.adding(dhcp.leases)) }
        var deadline = resolver.step(now: now)
        // Bounded: every pass prints a line and takes a name off the list.
        while true {
            if let query = current {
                guard query.isFinished else { break }
                output?(DNSLookups.line(query))
                current = nil
            }
            guard !pending.isEmpty, dhcp.map({ $0.allBound }) ?? true else { break }
            current = resolver.resolve(pending.removeFirst(), now: now)
            deadline = resolver.nextDeadline(now: now)
        }
        return deadline
    }

    /// The `dns:` line for a lookup: the addresses, then in parentheses the name found through the
    /// search list when it is not the one given, the end of the CNAME chain, the TTL and where the
    /// answer came from; or the error.
    public static func line(_ query: DNSQuery) -> String {
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
    public var countersLine: String {
        let s = resolver.statistics
        return "counters: dns lookups \(s.lookups), answered \(s.answered), failed \(s.failed), queries \(s.queriesSent)"
            + ", retries \(s.retries), server switches \(s.serverSwitches), ignored \(s.repliesIgnored)"
            + ", malformed \(s.malformedReplies), server failures \(s.serverFailures), truncated \(s.truncatedReplies)"
            + ", cache hits \(s.cacheHits), negative cache hits \(s.negativeCacheHits)"
    }

    /// The `dns:` lines of the static settings (as `NetworkConfiguration` prints its own).
    public var configurationLines: [String] {
        var lines: [String] = []
        if !settings.servers.isEmpty { lines.append("dns: " + settings.servers.map { $0.description }.joined(separator: " ")) }
        if !settings.searchDomains.isEmpty { lines.append("dns: search " + settings.searchDomains.joined(separator: " ")) }
        return lines
    }
}
