import SkiffPlatform
import SkiffWire

// Reading a server's reply to an A query, apart from the resolver's state so each rule is tested
// alone. Nothing here traps on what a server sends: every failure is a value.

/// What a reply that belongs to the query says.
enum DNSReplyOutcome: Equatable {
    /// A records for the end of the chain from the name asked (`chain` holds every name after it).
    case addresses([IPv4Address], chain: [DNSName], ttl: UInt32)
    /// The chain of CNAMEs ends on a name without A records and the reply does not say that name
    /// has none (no SOA in the authority section): ask for the last name of `chain` (RFC 1034
    /// §5.3.3 step 3c, as a stub does when the server did not follow the chain). `ttl` is the
    /// chain's lowest.
    case alias(chain: [DNSName], ttl: UInt32)
    /// NXDOMAIN for the end of the chain (RFC 6604 §2: the RCODE describes the last name).
    /// `negativeTTL` from the SOA (RFC 2308 §5), nil without one: such an answer is not cached.
    case nameError(chain: [DNSName], negativeTTL: UInt32?)
    /// NOERROR without A records for the end of the chain (NODATA, RFC 2308 §2.2).
    case noAddress(chain: [DNSName], negativeTTL: UInt32?)
    /// The reply is of no use: a server error, truncated, unparseable, or a CNAME loop.
    case failure(DNSResolveError)
}

enum DNSReply {
    /// RFC 5452 §9.1: a reply is accepted only if it is a response (QR) to a standard query, with
    /// the query's ID and exactly the question asked (name, type A, class IN). The caller has
    /// checked that it came from the server's address and port to the query's port. Reads only
    /// the header and question, so a reply truncated after them (TC) still matches.
    static func matches(_ bytes: UnsafeRawBufferPointer, id: UInt16, question: DNSName) -> Bool {
        guard let header = DNSHeaderView(bytes), header.id == id, header.isResponse,
              header.opcode == .query, header.questionCount == 1 else { return false }
        guard let parsed = try? DNSName.parse(bytes, at: DNSHeaderView.headerLength) else { return false }
        var cursor = ByteCursor(bytes, readerIndex: parsed.end)
        guard let type = cursor.readUInt16(), let recordClass = cursor.readUInt16() else { return false }
        return type == DNSType.a.rawValue && recordClass == DNSClass.in.rawValue && parsed.name == question
    }

    /// RFC 2181 §8: a TTL with the top bit set is read as 0.
    static func sanitized(_ ttl: UInt32) -> UInt32 {
        ttl & 0x8000_0000 != 0 ? 0 : ttl
    }

    /// What the reply `bytes` (which `matches` accepted) says about the A records of `question`.
    /// `earlier` holds the names passed before `question` in this lookup (the name first asked and
    /// the chain followed before this query; empty for the first query): a CNAME back to one of
    /// them is a loop, and each counts as a link of the chain. Follows CNAMEs in the answer section only from `question` onwards, so
    /// records about other names are ignored.
    static func interpret(_ bytes: UnsafeRawBufferPointer, question: DNSName, earlier: [DNSName],
                          maximumChain: Int) -> DNSReplyOutcome {
        guard let header = DNSHeaderView(bytes) else { return .failure(.malformedReply) }
        // RFC 2181 §9: a truncated reply is not to be used; ask over TCP (not done here).
        if header.isTruncated { return .failure(.truncated) }
        let rcode = header.rcode
        guard rcode == .noError || rcode == .nameError else { return .failure(.serverFailure(rcode)) }
        let message: DNSMessage
        do {
            message = try DNSMessage.parse(bytes)
        } catch {
            return .failure(.malformedReply)
        }

        // The chain: CNAMEs from `question` on, each owner the previous target (RFC 1034 §3.6.2).
        var current = question
        var chain: [DNSName] = []
        var chainTTL = UInt32.max
        var addresses: [IPv4Address] = []
        var addressTTL = UInt32.max
        // Bounded: each pass adds a name to the chain or leaves the loop, and the chain is capped.
        while true {
            for record in message.answers where record.recordClass == .in && record.name == current {
                if case .a(let address) = record.data, record.type == .a {
                    if !addresses.contains(address) { addresses.append(address) }
                    addressTTL = min(addressTTL, sanitized(record.ttl))
                }
            }
            guard addresses.isEmpty, let target = cnameTarget(of: current, in: message.answers) else { break }
            if target.name == question || earlier.contains(target.name) || chain.contains(target.name) {
                return .failure(.cnameLoop)
            }
            chain.append(target.name)
            guard earlier.count + chain.count <= maximumChain else { return .failure(.cnameChainTooLong) }
            chainTTL = min(chainTTL, target.ttl)
            current = target.name
        }

        if rcode == .nameError {
            return .nameError(chain: chain, negativeTTL: negativeTTL(message, for: current).map { min($0, chainTTL) })
        }
        if !addresses.isEmpty {
            return .addresses(addresses, chain: chain, ttl: min(chainTTL, addressTTL))
        }
        if let ttl = negativeTTL(message, for: current) {
            return .noAddress(chain: chain, negativeTTL: min(ttl, chainTTL))
        }
        if !chain.isEmpty {
            return .alias(chain: chain, ttl: chainTTL)
        }
        return .noAddress(chain: chain, negativeTTL: nil)
    }

    /// The CNAME owned by `name` in `answers` (class IN), with its sanitized TTL.
    private static func cnameTarget(of name: DNSName, in answers: [DNSResourceRecord]) -> (name: DNSName, ttl: UInt32)? {
        for record in answers where record.type == .cname && record.recordClass == .in && record.name == name {
            if case .cname(let target) = record.data { return (target, sanitized(record.ttl)) }
        }
        return nil
    }

    /// RFC 2308 §5: a negative answer is cached for the lower of the SOA record's TTL and its
    /// MINIMUM field. Only an SOA of a zone that contains `name` counts; nil when there is none
    /// ("negative responses without SOA records SHOULD NOT be cached").
    private static func negativeTTL(_ message: DNSMessage, for name: DNSName) -> UInt32? {
        var best: UInt32? = nil
        for record in message.authorities where record.type == .soa && name.isSubdomain(of: record.name) {
            guard case .soa(let soa) = record.data else { continue }
            let ttl = min(sanitized(record.ttl), sanitized(soa.minimum))
            best = min(best ?? ttl, ttl)
        }
        return best
    }
}
