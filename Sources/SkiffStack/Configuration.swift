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

    // TCP.
    /// Key of the keyed hash behind ISNs (RFC 6528), SYN cookies and timestamp offsets. The stack
    /// reads no entropy: the platform fills this from its entropy source; the default all-zero
    /// key makes ISNs predictable and is only fit for tests.
    public var tcpSecret = TCPSecret(0, 0)
    /// Bytes a connection buffers for sending (written, not yet acknowledged) and for receiving
    /// (arrived, not yet read, out-of-order data included); the receive window is what is free.
    public var tcpSendBufferSize = 64 * 1024
    public var tcpReceiveBufferSize = 64 * 1024
    /// Offer window scaling, timestamps and SACK in SYNs (RFC 7323, RFC 2018).
    public var tcpWindowScaling = true
    public var tcpTimestamps = true
    public var tcpSACK = true
    /// Connections in SYN-RECEIVED per listener; when full, SYN cookies answer (if enabled).
    public var tcpSYNQueueLength = 64
    public var tcpSYNCookies = true
    /// RFC 6298 §2: the initial RTO (1 s, §2.1) and its ceiling (§2.5: at least 60 s).
    public var tcpInitialRTO: Interval = .seconds(1)
    /// The RTO floor: RFC 6298 §2.4 says 1 s (SHOULD); Linux uses 200 ms (TCP_RTO_MIN). Kept at
    /// the RFC's 1 s by measurement (Tests/Integration/tcp-impaired.sh, 5% loss, 20 ms delay, 25%
    /// reordering, 2 MB each way): with RACK-TLP (RFC 8985) and RFC 6675 recovery a 1 s floor
    /// gave 0-1 timeouts and 137-146 kB/s, 200 ms gave 1-6 timeouts and 118-139 kB/s: with an
    /// RTT of 40-60 ms a 200 ms timer presumably fires on losses RACK would repair a little later,
    /// and each timeout restarts from one segment. A lower floor pays off where recovery cannot
    /// repair losses (a peer without SACK) or the RTT is far below it.
    public var tcpMinimumRTO: Interval = .seconds(1)
    public var tcpMaximumRTO: Interval = .seconds(60)
    /// SYN (and SYN-ACK) retransmissions before the open fails; data retransmissions before the
    /// connection is reset (RFC 9293 §3.8.3: R2 of at least 100 s).
    public var tcpSYNRetries = 5
    public var tcpMaximumRetransmissions = 12
    /// The maximum segment lifetime; TIME-WAIT lasts twice this (RFC 9293 §3.4.2).
    public var tcpMaximumSegmentLifetime: Interval = .seconds(30)
    /// How long a connection closed by the application waits in FIN-WAIT-2 for the peer's FIN.
    public var tcpFinWait2Timeout: Interval = .seconds(60)
    /// RFC 9293 §3.8.6.3: the delay of a delayed ACK (less than 0.5 s).
    public var tcpDelayedACKTimeout: Interval = .milliseconds(40)
    /// Keepalive (off per connection unless enabled; RFC 9293 §3.8.4: idle at least 2 hours).
    public var tcpKeepAliveIdle: Interval = .seconds(7200)
    public var tcpKeepAliveInterval: Interval = .seconds(75)
    public var tcpKeepAliveProbes = 9
    /// RFC 6928: the initial congestion window in segments.
    public var tcpInitialWindowSegments = 10
    /// The congestion control new connections start with.
    public var tcpCongestionControl = TCPCongestionAlgorithm.cubic
    /// RFC 5961 §7: challenge ACKs per second, stack-wide.
    public var tcpChallengeACKsPerSecond = 100
    /// Out-of-order ranges held per connection (and SACK ranges remembered by the sender).
    public var tcpOutOfOrderRanges = 32

    public init() {}
}
