import SkiffPlatform

/// Tunables of a `NetworkStack`. Every bound on memory or time the stack keeps is here.
public struct StackConfiguration {
    /// How long a resolved ARP entry is used before it must be resolved again.
    public var arpCacheTimeout: Interval = .seconds(60)
    /// The time between ARP requests for an unresolved address (RFC 1122 §2.3.2.1: at most one
    /// request per second per address).
    public var arpRetryInterval: Interval = .seconds(1)
    /// Requests sent again after the first before the address is declared unreachable and its
    /// queued packets dropped: with 3, four requests go out in all.
    public var arpMaxRetries = 3
    /// Datagrams held per unresolved address; when full the oldest is dropped, keeping the latest
    /// (RFC 1122 §2.3.2.2).
    public var arpPendingPacketsPerAddress = 4
    /// ARP entries per interface (resolved and pending).
    public var arpCacheMaxEntries = 256
    /// How long a partly reassembled datagram is kept after its first fragment arrived.
    public var reassemblyTimeout: Interval = .seconds(30)
    /// Bytes (fragment data plus per-fragment bookkeeping) held by all partial datagrams.
    public var reassemblyMemoryLimit = 256 * 1024
    /// ICMP errors sent per second, from a token bucket of `icmpErrorBurst` (RFC 1812 §4.3.2.8).
    public var icmpErrorsPerSecond = 100
    public var icmpErrorBurst = 50
    /// TTL of datagrams the stack originates (RFC 1122 §3.2.1.7).
    public var defaultTTL: UInt8 = 64
    /// Datagrams waiting in a UDP socket before further ones are dropped and counted.
    public var udpReceiveQueueLength = 64
    /// Echo replies kept for `takeEchoReplies()`.
    public var echoReplyQueueLength = 64
    /// Frames received per device per `poll`.
    public var receiveBudget = 64
    /// Frames held per interface while its device's transmit ring is full.
    public var transmitBacklogLength = 64

    public init() {}
}
