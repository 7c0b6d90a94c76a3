import SkiffPlatform
import SkiffWire

/// One name being resolved: the handle `DNSResolver.resolve` returns. Poll `result` (or pass a
/// completion to `resolve`, called from `step` once the lookup ends).
public final class DNSQuery {
    /// The name as the application gave it.
    public let name: String
    /// Nil while the lookup is under way.
    public internal(set) var result: Result<DNSAnswer, DNSResolveError>?
    let completion: ((DNSQuery) -> Void)?

    // The lookup's state, which only the resolver touches.
    /// The names to try in order (the search list applied, see `DNSResolver.candidates`).
    var candidates: [DNSName] = []
    var candidateIndex = 0
    /// The most telling negative answer so far: NODATA over NXDOMAIN.
    var negative: DNSResolveError? = nil
    let giveUpAt: Instant
    /// The candidate being resolved, the name asked now (the candidate or a CNAME target), the
    /// names passed before it, and the chain's lowest TTL.
    var asked = DNSName.root
    var current = DNSName.root
    var earlier: [DNSName] = []
    var chainTTL = UInt32.max
    /// The servers and port when the name now asked was first sent; the server asked now and the
    /// transmission to it (an index into `attemptTimeouts`).
    var servers: [IPv4Address] = []
    var port: UInt16 = 53
    var serverIndex = 0
    var attempt = 0
    /// Every transmission for the name asked now: a reply to any of them is accepted.
    var sent: [(id: UInt16, server: IPv4Address)] = []
    /// The worst failure of a server for the name asked now (timeout when nil).
    var serverError: DNSResolveError? = nil
    /// The last server that answered, for an answer completed from the cache after a CNAME.
    var lastServer: IPv4Address? = nil
    var deadline: Instant? = nil
    var socket: UDPSocket? = nil

    init(name: String, giveUpAt: Instant, completion: ((DNSQuery) -> Void)?) {
        self.name = name
        self.giveUpAt = giveUpAt
        self.completion = completion
    }

    public var isFinished: Bool { result != nil }

    /// The addresses, once resolved.
    public var answer: DNSAnswer? {
        if case .success(let answer)? = result { return answer }
        return nil
    }

    /// Why the lookup failed, once it has.
    public var error: DNSResolveError? {
        if case .failure(let error)? = result { return error }
        return nil
    }
}

/// A DNS stub resolver (RFC 1034 §5.3.1) for A records, over UDP: what an application uses to
/// turn a host name into IPv4 addresses through the recursive servers the configuration names.
///
/// - Each lookup sends from its own port, chosen at random among the ephemeral ports, with a
///   random ID per query, and accepts only a reply from the server's address and port with that
///   ID and the same question (RFC 5452 §9.1 and §9.2). Anything else is counted and dropped.
/// - Servers are asked in order: each gets `attemptTimeouts.count` transmissions (1 s, then 2 s),
///   then the next is asked; SERVFAIL, REFUSED, NOTIMP, FORMERR, an unparseable reply or a send
///   that fails move on at once. A lookup ends after `lookupTimeLimit` whatever happens.
/// - CNAME chains are followed inside a reply, and the last name is asked again when the chain ends
///   without A records (bounded by `maximumCNAMEChain`; a loop is an error).
/// - Relative names go through the search list with the ndots rule (resolv.conf(5)); NXDOMAIN and
///   NODATA move to the next name of the list.
/// - Answers are cached for their TTL (the lowest along the chain; 0 is not cached; capped at
///   `maximumTTL`), NXDOMAIN and NODATA for the SOA's negative TTL (RFC 2308 §5), in a bounded cache.
/// - A reply with the TC bit ends the lookup with `truncated`: there is no TCP fallback.
///
/// It reads no clock: `resolve` and `step` take the time. Call `step(now:)` after `stack.poll` in
/// the application loop; it returns when it wants to be called next.
public final class DNSResolver {
    public let stack: NetworkStack
    /// Changes apply to lookups started afterwards (and to a lookup's next name).
    public var configuration: DNSResolverConfiguration
    public private(set) var statistics = DNSResolverStatistics()
    /// One line per event worth a human's attention (a server timing out or failing).
    public var log: ((String) -> Void)?

    private(set) var cache = DNSCache()
    private var random: DNSRandom
    private var active: [DNSQuery] = []
    /// Finished lookups whose completion `step` has still to call.
    private var toNotify: [DNSQuery] = []

    /// The most replies read per lookup and step.
    static let repliesPerStep = 64

    /// A resolver whose query IDs and ports come from the 128-bit `randomKey`.
    public init(stack: NetworkStack, configuration: DNSResolverConfiguration = DNSResolverConfiguration(),
                randomKey: (UInt64, UInt64)) {
        self.stack = stack
        self.configuration = configuration
        self.random = DNSRandom(k0: randomKey.0, k1: randomKey.1)
    }

    /// A resolver keyed from `platform`'s entropy (RFC 5452 §9.2: IDs and ports unpredictable).
    public convenience init(stack: NetworkStack, platform: some Platform,
                            configuration: DNSResolverConfiguration = DNSResolverConfiguration()) {
        self.init(stack: stack, configuration: configuration, randomKey: (platform.randomBits(), platform.randomBits()))
    }

    /// Lookups under way.
    public var activeLookups: Int { active.count }

    /// Names in the cache (expired ones included until they are looked up or evicted).
    public var cachedNames: Int { cache.count }

    /// Forgets every cached answer.
    public func flushCache() {
        cache.removeAll()
    }

    /// Starts resolving `name` (a host name, `www` or `www.example.test`, a trailing dot making it
    /// absolute; or a dotted-quad address, returned as is). The query is sent at once, or the
    /// result comes from the cache. `completion`, if given, is called from a later `step` when the
    /// lookup ends (also when it ended at once), never from inside `resolve`.
    @discardableResult
    public func resolve(_ name: String, now: Instant, completion: ((DNSQuery) -> Void)? = nil) -> DNSQuery {
        statistics.lookups += 1
        let query = DNSQuery(name: name, giveUpAt: now + configuration.lookupTimeLimit, completion: completion)
        if let literal = IPv4Address(name), let literalName = DNSName(name) {
            finish(query, .success(DNSAnswer(name: literalName, canonicalName: literalName, addresses: [literal],
                                             ttl: 0, server: nil, fromCache: false)))
            return query
        }
        guard let parsed = DNSName(name), !parsed.isRoot else {
            finish(query, .failure(.invalidName))
            return query
        }
        guard active.count < configuration.maximumLookups else {
            finish(query, .failure(.tooManyLookups))
            return query
        }
        active.append(query)
        query.candidates = DNSResolver.candidates(for: parsed, absolute: DNSResolver.isAbsolute(name),
                                                  configuration: configuration)
        startCandidate(query, now: now)
        return query
    }

    /// Ends `query` with `cancelled` (its completion is not called). Nothing for a finished query.
    public func cancel(_ query: DNSQuery) {
        guard !query.isFinished else { return }
        finish(query, .failure(.cancelled), notify: false)
    }

    /// Reads the replies that arrived, runs the timers, and calls the completions of the lookups
    /// that ended. Returns when it wants to be called again (nil: only when a datagram arrives).
    @discardableResult
    public func step(now: Instant) -> Instant? {
        for query in active where !query.isFinished {
            var read = 0
            while read < DNSResolver.repliesPerStep, !query.isFinished, let socket = query.socket,
                  let datagram = socket.receive() {
                read += 1
                receive(datagram, for: query, now: now)
            }
            // Each pass sends again with a later deadline or ends the lookup; bounded all the same.
            var passes = 0
            while passes < 16, !query.isFinished, let due = query.deadline, due <= now {
                passes += 1
                timeout(query, now: now)
            }
        }
        let finished = toNotify
        toNotify = []
        for query in finished { query.completion?(query) }
        return nextDeadline(now: now)
    }

    /// When `step` wants to be called next: at once while completions wait or a lookup has replies
    /// left to read, else the earliest retransmission timer.
    public func nextDeadline(now: Instant) -> Instant? {
        if !toNotify.isEmpty { return now }
        var deadline: Instant? = nil
        for query in active {
            if let socket = query.socket, socket.pendingCount > 0 { return now }
            if let due = query.deadline { deadline = min(deadline ?? due, due) }
        }
        return deadline
    }

    // MARK: - Names

    /// Whether the text form ends with an unescaped dot (`www.example.test.`): an absolute name,
    /// never extended by the search list.
    static func isAbsolute(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.last == UInt8(ascii: ".") else { return false }
        var backslashes = 0
        var index = bytes.count - 2
        while index >= 0 && bytes[index] == UInt8(ascii: "\\") {
            backslashes += 1
            index -= 1
        }
        return backslashes % 2 == 0
    }

    /// The names a lookup tries, in order (resolv.conf(5), glibc's res_search): an absolute name
    /// alone; a name with at least `ndots` dots as given, then with each search domain; a name with
    /// fewer dots with each search domain first, then as given. Names that would exceed 255 bytes
    /// are left out; at most `maximumSearchDomains` domains are used.
    static func candidates(for name: DNSName, absolute: Bool,
                           configuration: DNSResolverConfiguration) -> [DNSName] {
        guard !absolute else { return [name] }
        var searched: [DNSName] = []
        let labels = name.labels
        for domain in configuration.searchDomains.prefix(DNSResolverConfiguration.maximumSearchDomains)
            where !domain.isRoot {
            if let full = DNSName(labels: labels + domain.labels), !searched.contains(full), full != name {
                searched.append(full)
            }
        }
        let dots = name.labelCount - 1
        return dots >= configuration.ndots ? [name] + searched : searched + [name]
    }

    // MARK: - The lookup

    /// Resolves the next name of the search list, or ends the lookup with the negative answer
    /// when none is left.
    private func startCandidate(_ query: DNSQuery, now: Instant) {
        guard query.candidateIndex < query.candidates.count else {
            finish(query, .failure(query.negative ?? .nameError))
            return
        }
        let name = query.candidates[query.candidateIndex]
        query.asked = name
        query.current = name
        query.earlier = []
        query.chainTTL = .max
        ask(query, now: now)
    }

    /// The name asked now failed with NXDOMAIN or NODATA: on to the next name of the search list.
    private func candidateFailed(_ query: DNSQuery, _ error: DNSResolveError, now: Instant) {
        if query.negative == nil || error == .noAddress { query.negative = error }
        query.candidateIndex += 1
        startCandidate(query, now: now)
    }

    /// Answers `query.current` from the cache, or sends it to the first server.
    private func ask(_ query: DNSQuery, now: Instant) {
        if let hit = cache.lookup(query.current, now: now) {
            let entry = hit.entry
            let ttl = hit.ttl
            switch entry.content {
            case .addresses(let addresses, let canonicalName):
                statistics.cacheHits += 1
                let fromCache = query.current == query.asked
                let total = min(ttl, query.chainTTL)
                if !fromCache {
                    store(query.asked, .addresses(addresses, canonicalName: canonicalName), ttl: total,
                                 server: query.lastServer ?? entry.server, now: now, capacity: configuration.cacheEntries)
                }
                finish(query, .success(DNSAnswer(name: query.asked, canonicalName: canonicalName, addresses: addresses,
                                                 ttl: total, server: fromCache ? entry.server : query.lastServer ?? entry.server,
                                                 fromCache: fromCache)))
            case .nameError:
                statistics.negativeCacheHits += 1
                candidateFailed(query, .nameError, now: now)
            case .noAddress:
                statistics.negativeCacheHits += 1
                candidateFailed(query, .noAddress, now: now)
            }
            return
        }
        query.servers = configuration.servers
        query.port = configuration.serverPort
        query.serverIndex = 0
        query.attempt = 0
        query.sent = []
        query.serverError = nil
        guard !query.servers.isEmpty else {
            finish(query, .failure(.noServers))
            return
        }
        transmit(query, now: now)
    }

    /// Sends `query.current` to the server whose turn it is; a server the query cannot reach is
    /// skipped. Ends the lookup when no server is left or the time is up.
    private func transmit(_ query: DNSQuery, now: Instant) {
        // Bounded: every failed send moves to the next server.
        while true {
            guard now < query.giveUpAt, query.serverIndex < query.servers.count else {
                finish(query, .failure(query.serverError ?? .timeout))
                return
            }
            guard let socket = openSocket(for: query) else {
                finish(query, .failure(.noLocalPort))
                return
            }
            let server = query.servers[query.serverIndex]
            var id = UInt16(truncatingIfNeeded: random.next())
            for _ in 0..<8 where query.sent.contains(where: { $0.id == id }) {
                id = UInt16(truncatingIfNeeded: random.next())
            }
            let message = DNSMessage.query(id: id, name: query.current, type: .a)
            var bytes = [UInt8](repeating: 0, count: message.encodedLength)
            bytes.withUnsafeMutableBytes { _ = message.emit(into: $0) }
            do throws(SendError) {
                try socket.send(bytes, to: server, port: query.port, now: now)
            } catch {
                query.serverError = DNSResolver.worse(query.serverError, .unreachable(error))
                log?("dns: cannot send to \(server) for \(query.current): \(DNSResolveError.unreachable(error))")
                query.serverIndex += 1
                query.attempt = 0
                continue
            }
            statistics.queriesSent += 1
            query.sent.append((id, server))
            let timeouts = configuration.attemptTimeouts
            let wait = timeouts.isEmpty ? Interval.seconds(1) : timeouts[min(query.attempt, timeouts.count - 1)]
            query.deadline = min(now + wait, query.giveUpAt)
            return
        }
    }

    /// The wait for a reply ran out: the same server again, or the next one.
    private func timeout(_ query: DNSQuery, now: Instant) {
        query.deadline = nil
        query.attempt += 1
        if query.attempt >= max(configuration.attemptTimeouts.count, 1) {
            query.serverIndex += 1
            query.attempt = 0
            if query.serverIndex < query.servers.count && now < query.giveUpAt {
                statistics.serverSwitches += 1
                log?("dns: \(query.servers[query.serverIndex - 1]) did not answer for \(query.current); "
                     + "asking \(query.servers[query.serverIndex])")
            }
        } else {
            statistics.retries += 1
        }
        transmit(query, now: now)
    }

    private func receive(_ datagram: UDPDatagram, for query: DNSQuery, now: Instant) {
        let question = query.current
        let matched = datagram.sourcePort == query.port && datagram.payload.withUnsafeBytes { bytes in
            query.sent.contains { $0.server == datagram.source && DNSReply.matches(bytes, id: $0.id, question: question) }
        }
        guard matched else {
            statistics.repliesIgnored += 1
            return
        }
        let outcome = datagram.payload.withUnsafeBytes { bytes in
            DNSReply.interpret(bytes, question: question, earlier: query.earlier,
                               maximumChain: configuration.maximumCNAMEChain)
        }
        let server = datagram.source
        switch outcome {
        case .addresses(let addresses, let chain, let ttl):
            query.lastServer = server
            let canonicalName = chain.last ?? question
            let total = min(min(ttl, configuration.maximumTTL), query.chainTTL)
            let content = DNSCacheContent.addresses(addresses, canonicalName: canonicalName)
            store(query.asked, content, ttl: total, server: server, now: now, capacity: configuration.cacheEntries)
            if question != query.asked {
                store(question, content, ttl: min(ttl, configuration.maximumTTL), server: server, now: now, capacity: configuration.cacheEntries)
            }
            finish(query, .success(DNSAnswer(name: query.asked, canonicalName: canonicalName, addresses: addresses,
                                             ttl: total, server: server, fromCache: false)))
        case .alias(let chain, let ttl):
            // The server stopped at a CNAME: ask for its target (RFC 1034 §5.3.3 step 3c).
            query.lastServer = server
            query.earlier.append(question)
            query.earlier.append(contentsOf: chain.dropLast())
            query.current = chain[chain.count - 1]
            query.chainTTL = min(query.chainTTL, ttl)
            ask(query, now: now)
        case .nameError(_, let negativeTTL):
            query.lastServer = server
            cacheNegative(query, .nameError, negativeTTL, now: now)
            candidateFailed(query, .nameError, now: now)
        case .noAddress(_, let negativeTTL):
            query.lastServer = server
            cacheNegative(query, .noAddress, negativeTTL, now: now)
            candidateFailed(query, .noAddress, now: now)
        case .failure(let error):
            switch error {
            case .truncated:
                statistics.truncatedReplies += 1
                finish(query, .failure(.truncated))
            case .cnameLoop, .cnameChainTooLong:
                finish(query, .failure(error))
            default:
                // SERVFAIL, REFUSED, NOTIMP, FORMERR or an unparseable reply: this server is done
                // with the name; if it is the one asked now, the next server is asked at once.
                if error == .malformedReply { statistics.malformedReplies += 1 } else { statistics.serverFailures += 1 }
                query.serverError = DNSResolver.worse(query.serverError, error)
                query.sent.removeAll { $0.server == server }
                log?("dns: \(server) answered \(question) with \(error)")
                if query.serverIndex < query.servers.count && query.servers[query.serverIndex] == server {
                    query.serverIndex += 1
                    query.attempt = 0
                    if query.serverIndex < query.servers.count { statistics.serverSwitches += 1 }
                    transmit(query, now: now)
                }
            }
        }
    }

    /// Caches NXDOMAIN or NODATA for the name asked first (and the name asked now, after a CNAME)
    /// for the SOA's negative TTL, capped; not at all without an SOA.
    private func cacheNegative(_ query: DNSQuery, _ content: DNSCacheContent, _ negativeTTL: UInt32?, now: Instant) {
        guard let negativeTTL else { return }
        let ttl = min(min(negativeTTL, configuration.maximumNegativeTTL), query.chainTTL)
        store(query.asked, content, ttl: ttl, server: query.lastServer, now: now, capacity: configuration.cacheEntries)
        if query.current != query.asked {
            store(query.current, content, ttl: min(negativeTTL, configuration.maximumNegativeTTL),
                         server: query.lastServer, now: now, capacity: configuration.cacheEntries)
        }
    }

    private func store(_ name: DNSName, _ content: DNSCacheContent, ttl: UInt32, server: IPv4Address?, now: Instant,
                       capacity: Int) {
        cache.insert(name, content, ttl: ttl, server: server, now: now, capacity: capacity)
        statistics.cacheEvictions = cache.evictions
    }

    /// The lookup's socket: bound on first use to a random ephemeral port (RFC 5452 §9.2; RFC 6335
    /// §6's range), or the stack's next free one when eight random picks are taken.
    private func openSocket(for query: DNSQuery) -> UDPSocket? {
        if let socket = query.socket { return socket }
        let low = UInt64(UDPSocketTable.ephemeralPorts.lowerBound)
        let span = UInt64(UDPSocketTable.ephemeralPorts.upperBound) - low + 1
        for _ in 0..<8 {
            let port = UInt16(truncatingIfNeeded: low + random.next() % span)
            if let socket = try? stack.udpBind(port: port) {
                query.socket = socket
                return socket
            }
        }
        query.socket = try? stack.udpBind(port: 0)
        return query.socket
    }

    private func finish(_ query: DNSQuery, _ result: Result<DNSAnswer, DNSResolveError>, notify: Bool = true) {
        query.result = result
        query.deadline = nil
        query.socket?.close()
        query.socket = nil
        active.removeAll { $0 === query }
        switch result {
        case .success: statistics.answered += 1
        case .failure: statistics.failed += 1
        }
        if notify && query.completion != nil { toNotify.append(query) }
    }

    /// The failure to report when every server failed: a server's own answer (SERVFAIL…) says more
    /// than an unparseable reply, which says more than an unreachable server or silence.
    static func worse(_ a: DNSResolveError?, _ b: DNSResolveError) -> DNSResolveError {
        func rank(_ error: DNSResolveError) -> Int {
            switch error {
            case .serverFailure: return 3
            case .malformedReply: return 2
            case .unreachable: return 1
            default: return 0
            }
        }
        guard let a else { return b }
        return rank(b) > rank(a) ? b : a
    }
}

/// Query IDs and source ports, which must be unpredictable (RFC 5452 §9.2): SipHash-2-4 of a
/// counter under a 128-bit key from the platform's entropy, a keyed pseudorandom function whose
/// outputs tell nothing of the key or of the next output.
struct DNSRandom {
    private let key: TCPSecret
    private var counter: UInt64 = 0

    init(k0: UInt64, k1: UInt64) {
        key = TCPSecret(k0, k1)
    }

    mutating func next() -> UInt64 {
        counter &+= 1
        return SipHash.hash(key: key, counter, 0x646e_73)
    }
}
