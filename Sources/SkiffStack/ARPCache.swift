import SkiffPlatform
import SkiffWire

/// The neighbour cache of one interface (RFC 826, RFC 1122 §2.3.2): resolved addresses with an
/// expiry time, and unresolved ones with a bounded queue of datagrams waiting for the answer and
/// a retry schedule. It only keeps state: the stack sends the requests it asks for. Generic over
/// the queued packet so it can be tested alone.
struct ARPCache<Packet> {
    struct Pending {
        /// Oldest first.
        var packets: [Packet] = []
        /// Requests sent so far (the first included).
        var requestsSent: Int
        var nextRetry: Instant
    }

    enum Entry {
        /// `expires` is nil for a static entry.
        case resolved(MACAddress, expires: Instant?)
        case pending(Pending)
    }

    let timeout: Interval
    let retryInterval: Interval
    let maxRetries: Int
    let queueLimit: Int
    let maxEntries: Int
    private(set) var entries: [IPv4Address: Entry] = [:]

    init(timeout: Interval, retryInterval: Interval, maxRetries: Int, queueLimit: Int, maxEntries: Int) {
        precondition(queueLimit >= 1 && maxEntries >= 1 && maxRetries >= 0, "ARP cache bounds must be positive")
        self.timeout = timeout
        self.retryInterval = retryInterval
        self.maxRetries = maxRetries
        self.queueLimit = queueLimit
        self.maxEntries = maxEntries
    }

    var count: Int { entries.count }

    /// The hardware address of `address` if it is resolved and not expired.
    func lookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
        guard case .resolved(let mac, let expires)? = entries[address] else { return nil }
        if let expires, expires <= now { return nil }
        return mac
    }

    func isPending(_ address: IPv4Address) -> Bool {
        if case .pending? = entries[address] { return true }
        return false
    }

    struct EnqueueOutcome: Equatable {
        /// A new resolution began: send a request now.
        var sendRequest: Bool
        /// Packets dropped to make room (the oldest), or the packet itself when the cache is full.
        var dropped: Int
    }

    /// Queues `packet` behind the resolution of `address`, starting one if none is under way.
    mutating func enqueue(_ packet: Packet, for address: IPv4Address, now: Instant) -> EnqueueOutcome {
        if case .pending(var pending)? = entries[address] {
            var dropped = 0
            // RFC 1122 §2.3.2.2: keep (at least) the latest packet; drop the oldest.
            if pending.packets.count >= queueLimit {
                pending.packets.removeFirst()
                dropped = 1
            }
            pending.packets.append(packet)
            entries[address] = .pending(pending)
            return EnqueueOutcome(sendRequest: false, dropped: dropped)
        }
        // No entry, or an expired one: start resolving.
        if entries[address] == nil && !makeRoom(now: now) {
            return EnqueueOutcome(sendRequest: false, dropped: 1)
        }
        entries[address] = .pending(Pending(packets: [packet], requestsSent: 1, nextRetry: now + retryInterval))
        return EnqueueOutcome(sendRequest: true, dropped: 0)
    }

    /// Records that `address` is at `mac` and returns the packets that were waiting for it.
    /// With `createIfAbsent` false an existing entry is refreshed but none is made (the RFC 826
    /// merge step for packets not aimed at us). Static entries are never overwritten.
    mutating func learn(_ address: IPv4Address, at mac: MACAddress, now: Instant,
                        createIfAbsent: Bool) -> [Packet] {
        switch entries[address] {
        case .resolved(_, let expires)?:
            if expires == nil { return [] }
            entries[address] = .resolved(mac, expires: now + timeout)
            return []
        case .pending(let pending)?:
            entries[address] = .resolved(mac, expires: now + timeout)
            return pending.packets
        case nil:
            guard createIfAbsent, makeRoom(now: now) else { return [] }
            entries[address] = .resolved(mac, expires: now + timeout)
            return []
        }
    }

    /// Adds a static entry that never expires; returns packets that were waiting for it.
    mutating func setStatic(_ address: IPv4Address, at mac: MACAddress) -> [Packet] {
        var released: [Packet] = []
        if case .pending(let pending)? = entries[address] { released = pending.packets }
        entries[address] = .resolved(mac, expires: nil)
        return released
    }

    mutating func remove(_ address: IPv4Address) -> [Packet] {
        guard let entry = entries.removeValue(forKey: address) else { return [] }
        if case .pending(let pending) = entry { return pending.packets }
        return []
    }

    struct TimerActions {
        /// Addresses to send another request for.
        var retries: [IPv4Address] = []
        /// Addresses given up on, with the packets that were waiting.
        var failures: [(address: IPv4Address, packets: [Packet])] = []
        /// Resolved entries removed because they expired.
        var expired: [IPv4Address] = []
    }

    /// Runs the retry and expiry timers.
    mutating func poll(now: Instant) -> TimerActions {
        var actions = TimerActions()
        for (address, entry) in entries {
            switch entry {
            case .resolved(_, let expires):
                if let expires, expires <= now {
                    entries[address] = nil
                    actions.expired.append(address)
                }
            case .pending(var pending):
                guard pending.nextRetry <= now else { continue }
                if pending.requestsSent > maxRetries {
                    entries[address] = nil
                    actions.failures.append((address, pending.packets))
                } else {
                    pending.requestsSent += 1
                    pending.nextRetry = now + retryInterval
                    entries[address] = .pending(pending)
                    actions.retries.append(address)
                }
            }
        }
        // Dictionary order is arbitrary: sort so the frames go out in a reproducible order.
        actions.retries.sort()
        actions.expired.sort()
        actions.failures.sort { $0.address < $1.address }
        return actions
    }

    /// The next retry: expiry needs no wake-up, since `lookup` ignores stale entries.
    var nextDeadline: Instant? {
        var earliest: Instant? = nil
        for entry in entries.values {
            if case .pending(let pending) = entry, earliest.map({ pending.nextRetry < $0 }) ?? true {
                earliest = pending.nextRetry
            }
        }
        return earliest
    }

    /// Frees a slot when the cache is full by removing the resolved entry closest to expiry
    /// (an expired one first). False if every entry is pending or static.
    private mutating func makeRoom(now: Instant) -> Bool {
        guard entries.count >= maxEntries else { return true }
        var victim: (address: IPv4Address, expires: Instant)? = nil
        for (address, entry) in entries {
            if case .resolved(_, let expires?) = entry,
               victim.map({ expires < $0.expires || (expires == $0.expires && address < $0.address) }) ?? true {
                victim = (address, expires)
            }
        }
        guard let victim else { return false }
        entries[victim.address] = nil
        return true
    }
}
