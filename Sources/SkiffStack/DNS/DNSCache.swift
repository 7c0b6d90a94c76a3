import SkiffPlatform
import SkiffWire

/// What the cache knows about a name's A records.
enum DNSCacheContent: Equatable {
    /// The addresses, at the end of a CNAME chain to `canonicalName`.
    case addresses([IPv4Address], canonicalName: DNSName)
    /// NXDOMAIN (RFC 2308 §5).
    case nameError
    /// The name exists without A records (NODATA, RFC 2308 §5).
    case noAddress
}

/// A name's A records (or their absence) with the time they stop being valid: a bounded cache keyed
/// by name (case-insensitive, as `DNSName` compares). A TTL of 0 is never stored (RFC 1035 §3.2.1:
/// "zero values are interpreted to mean that the RR can only be used for the transaction in
/// progress"). When full, expired entries go first, then the oldest stored.
struct DNSCache {
    struct Entry {
        var content: DNSCacheContent
        var expires: Instant
        var server: IPv4Address?
        /// Insertion order, for eviction.
        var order: UInt64
    }

    private(set) var entries: [DNSName: Entry] = [:]
    private var nextOrder: UInt64 = 0
    /// Entries removed to make room.
    private(set) var evictions = 0

    var count: Int { entries.count }

    /// The live entry for `name` and its remaining seconds (rounded up, so never 0); an expired
    /// entry is removed and nil returned.
    mutating func lookup(_ name: DNSName, now: Instant) -> (entry: Entry, ttl: UInt32)? {
        guard let entry = entries[name] else { return nil }
        guard now < entry.expires else {
            entries[name] = nil
            return nil
        }
        let left = (entry.expires - now).nanoseconds
        let seconds = (left + 999_999_999) / 1_000_000_000
        return (entry, UInt32(clamping: seconds))
    }

    /// Stores `content` for `ttl` seconds (already capped by the caller); a TTL of 0 removes any
    /// entry for the name instead. With `capacity` entries held, makes room first.
    mutating func insert(_ name: DNSName, _ content: DNSCacheContent, ttl: UInt32, server: IPv4Address?,
                         now: Instant, capacity: Int) {
        guard ttl > 0, capacity > 0 else {
            entries[name] = nil
            return
        }
        if entries[name] == nil && entries.count >= capacity {
            makeRoom(now: now, capacity: capacity)
        }
        nextOrder &+= 1
        entries[name] = Entry(content: content, expires: now + .seconds(Int64(ttl)), server: server, order: nextOrder)
    }

    /// Forgets everything.
    mutating func removeAll() {
        entries = [:]
    }

    /// Removes the expired entries; if none had expired, the oldest one. Linear in the capacity,
    /// which is small (hundreds), and runs only when the cache is full.
    private mutating func makeRoom(now: Instant, capacity: Int) {
        let expired = entries.filter { !(now < $0.value.expires) }.map { $0.key }
        for name in expired { entries[name] = nil }
        evictions += expired.count
        while entries.count >= capacity {
            guard let oldest = entries.min(by: { $0.value.order < $1.value.order })?.key else { return }
            entries[oldest] = nil
            evictions += 1
        }
    }
}
