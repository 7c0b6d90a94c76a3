import SkiffPlatform
import SkiffWire

/// The stub resolver's settings. The servers and search domains come from the boot-time
/// configuration (`ip=`'s dns0/dns1, `dns-nameservers`, `dns-search`) or a DHCP lease (options 6,
/// 15 and 119); SkiffConfig's `DNSSettings` gathers them. The other defaults follow glibc's
/// resolv.conf where it has one (ndots 1, 6 search domains) and the RFCs otherwise.
public struct DNSResolverConfiguration: Equatable, Sendable {
    /// Recursive servers, asked in order (the next one after the previous one failed or timed out).
    public var servers: [IPv4Address]
    /// The servers' UDP port.
    public var serverPort: UInt16 = 53
    /// Appended to relative names (`dns-search`, option 119). At most `maximumSearchDomains` are used.
    public var searchDomains: [DNSName]
    /// A relative name with at least this many dots is asked as given before the search list is
    /// tried; one with fewer is asked with the search domains first (resolv.conf(5) `ndots`).
    public var ndots = 1
    /// How long each query to one server waits for its reply: one entry per transmission to that
    /// server, then the next server is asked. A reply to an earlier transmission still counts.
    public var attemptTimeouts: [Interval] = [.seconds(1), .seconds(2)]
    /// The longest a lookup (every name of the search list, every server) may take.
    public var lookupTimeLimit: Interval = .seconds(15)
    /// Names held in the cache (positive and negative entries together).
    public var cacheEntries = 256
    /// TTLs are capped at this many seconds (a day); a larger TTL from a server is cut to it.
    public var maximumTTL: UInt32 = 86_400
    /// Negative answers are cached for the SOA's TTL or MINIMUM, whichever is lower (RFC 2308 §5),
    /// capped here (§5 suggests one to three hours at most).
    public var maximumNegativeTTL: UInt32 = 10_800
    /// CNAME records followed from the name asked, across the replies of one lookup.
    public var maximumCNAMEChain = 8
    /// Lookups under way at once; more fail with `tooManyLookups`.
    public var maximumLookups = 64

    /// resolv.conf(5) (and glibc's MAXDNSRCH) allow six search domains.
    public static let maximumSearchDomains = 6

    public init(servers: [IPv4Address] = [], searchDomains: [DNSName] = []) {
        self.servers = servers
        self.searchDomains = searchDomains
    }
}

/// A name resolved to addresses.
public struct DNSAnswer: Equatable, Sendable {
    /// The name the addresses belong to as asked: the application's name, or it with a search
    /// domain appended.
    public var name: DNSName
    /// The end of the CNAME chain (equal to `name` without CNAMEs).
    public var canonicalName: DNSName
    /// The A records, in the server's order, without duplicates; never empty.
    public var addresses: [IPv4Address]
    /// Seconds the answer stays valid (what is left of it for an answer from the cache).
    public var ttl: UInt32
    /// The server that answered (for a cached answer, the one that answered first); nil for an
    /// address literal.
    public var server: IPv4Address?
    /// Taken from the cache without asking a server.
    public var fromCache: Bool

    public init(name: DNSName, canonicalName: DNSName, addresses: [IPv4Address], ttl: UInt32,
                server: IPv4Address?, fromCache: Bool) {
        self.name = name
        self.canonicalName = canonicalName
        self.addresses = addresses
        self.ttl = ttl
        self.server = server
        self.fromCache = fromCache
    }
}

/// Why a name could not be resolved.
public enum DNSResolveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a domain name (an empty label, a label over 63 bytes, over 255 bytes in all).
    case invalidName
    /// The resolver has no servers.
    case noServers
    /// NXDOMAIN: no such name (for every name of the search list).
    case nameError
    /// The name exists but has no A record (NOERROR with no answer, "NODATA", RFC 2308 §2.2).
    case noAddress
    /// No server answered in time.
    case timeout
    /// The last server that answered refused or failed: SERVFAIL, REFUSED, NOTIMP or FORMERR.
    case serverFailure(DNSResponseCode)
    /// The servers' replies matched the query but could not be parsed.
    case malformedReply
    /// The reply had the TC bit set (RFC 2181 §9): the answer needs TCP, which this resolver does
    /// not use.
    case truncated
    /// The CNAME chain leads back to a name already in it.
    case cnameLoop
    /// The CNAME chain is longer than `maximumCNAMEChain`.
    case cnameChainTooLong
    /// The query could not be sent to any server (no route, interface down).
    case unreachable(SendError)
    /// No UDP port was free for the query.
    case noLocalPort
    /// `maximumLookups` lookups are already under way.
    case tooManyLookups
    /// The application cancelled the lookup.
    case cancelled

    public var description: String {
        switch self {
        case .invalidName: return "not a valid domain name"
        case .noServers: return "no DNS servers configured"
        case .nameError: return "no such name (NXDOMAIN)"
        case .noAddress: return "no address for the name (NODATA)"
        case .timeout: return "no answer from any server (timeout)"
        case .serverFailure(let code): return "server failure (\(code))"
        case .malformedReply: return "malformed reply"
        case .truncated: return "reply truncated (TC); TCP is not supported"
        case .cnameLoop: return "CNAME loop"
        case .cnameChainTooLong: return "CNAME chain too long"
        case .unreachable(let error):
            switch error {
            case .noRoute: return "no route to any server"
            case .interfaceDown: return "interface down"
            case .messageTooLong: return "query too long"
            case .socketClosed: return "socket closed"
            }
        case .noLocalPort: return "no free UDP port"
        case .tooManyLookups: return "too many lookups under way"
        case .cancelled: return "cancelled"
        }
    }
}

/// Counters of one resolver.
public struct DNSResolverStatistics: Equatable, Sendable {
    /// `resolve` calls.
    public var lookups = 0
    /// Lookups that ended with addresses, and with an error.
    public var answered = 0
    public var failed = 0
    /// Queries sent (every transmission, retries included).
    public var queriesSent = 0
    /// Retransmissions to the same server, and moves to the next server.
    public var retries = 0
    public var serverSwitches = 0
    /// Datagrams that arrived on a query's port but are not the reply to it: wrong server address or
    /// port, wrong ID, not a response, or another question (RFC 5452 §9.1).
    public var repliesIgnored = 0
    /// Replies that matched the query but could not be parsed.
    public var malformedReplies = 0
    /// SERVFAIL, REFUSED, NOTIMP or FORMERR replies.
    public var serverFailures = 0
    public var truncatedReplies = 0
    /// Names found in the cache with addresses, and as not existing or without addresses.
    public var cacheHits = 0
    public var negativeCacheHits = 0
    /// Entries removed to make room (expired ones first, then the oldest).
    public var cacheEvictions = 0
    public init() {}
}
