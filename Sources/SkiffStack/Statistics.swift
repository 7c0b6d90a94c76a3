/// Counters of everything the stack received, sent and dropped, with the reason for each drop.
/// Plain integers: read them, diff them, or reset by assigning `StackStatistics()`.
public struct StackStatistics: Equatable, Sendable {
    // Link layer.
    public var framesReceived = 0
    public var framesSent = 0
    public var bytesReceived = 0
    public var bytesSent = 0
    /// Shorter than an Ethernet header.
    public var framesDroppedMalformed = 0
    /// Addressed to another station or to a multicast group.
    public var framesDroppedNotForUs = 0
    /// VLAN-tagged, or an EtherType other than IPv4 and ARP.
    public var framesDroppedUnsupported = 0
    /// The device refused the frame (`.invalid`, `.failed`).
    public var transmitErrors = 0
    /// The transmit ring was full and so was the backlog behind it.
    public var transmitBacklogDrops = 0

    // ARP.
    public var arpRequestsReceived = 0
    public var arpRepliesReceived = 0
    public var arpRequestsSent = 0
    public var arpRepliesSent = 0
    public var arpGratuitousSent = 0
    /// Not an Ethernet/IPv4 request or reply.
    public var arpDroppedMalformed = 0
    /// Another station claims one of our addresses (RFC 5227 §2.4).
    public var arpAddressConflicts = 0
    /// Datagrams queued behind a resolution.
    public var arpPacketsQueued = 0
    /// Datagrams dropped because the queue for the address (or the cache) was full.
    public var arpQueueOverflows = 0
    /// Addresses given up on after the retries.
    public var arpResolutionFailures = 0
    /// Datagrams dropped with a failed resolution.
    public var arpResolutionDrops = 0
    public var arpEntriesExpired = 0

    // IPv4.
    public var ipPacketsReceived = 0
    public var ipPacketsDelivered = 0
    public var ipPacketsSent = 0
    /// Bad version or lengths.
    public var ipDroppedMalformed = 0
    public var ipDroppedBadChecksum = 0
    /// A source that is not a host: broadcast, multicast, loopback, reserved (RFC 1122 §3.2.1.3).
    public var ipDroppedMartianSource = 0
    /// Not for one of our addresses or broadcasts (this stack does not forward).
    public var ipDroppedNotForUs = 0
    public var ipDroppedUnknownProtocol = 0
    /// Output with no route to the destination.
    public var ipOutputNoRoute = 0
    /// Output too large for the MTU with Don't Fragment set, or beyond 65535 bytes.
    public var ipOutputTooLong = 0
    public var ipOutputInterfaceDown = 0
    public var ipFragmentsCreated = 0
    public var ipFragmentsReceived = 0
    public var ipDatagramsReassembled = 0
    public var reassemblyTimeouts = 0
    /// Datagrams dropped because fragments overlapped.
    public var reassemblyOverlaps = 0
    /// Fragments with impossible offsets or lengths.
    public var reassemblyMalformed = 0
    /// Partial datagrams dropped, and fragments refused, to keep within the memory limit.
    public var reassemblyMemoryDrops = 0
    public var reassemblyDuplicates = 0
    /// Datagrams to one of our addresses, delivered through the loopback queue.
    public var loopbackPackets = 0
    public var loopbackDrops = 0

    // ICMP.
    public var icmpReceived = 0
    public var icmpDroppedMalformed = 0
    public var icmpDroppedBadChecksum = 0
    public var icmpEchoRequestsReceived = 0
    public var icmpEchoRepliesReceived = 0
    public var icmpEchoRequestsSent = 0
    public var icmpEchoRepliesSent = 0
    /// Echo requests to a broadcast address, not answered (RFC 1122 §3.2.2.6).
    public var icmpEchoBroadcastIgnored = 0
    /// Echo replies dropped because `takeEchoReplies` was not called in time.
    public var icmpEchoReplyOverflows = 0
    public var icmpErrorsReceived = 0
    public var icmpErrorsSent = 0
    /// Errors not sent because the token bucket was empty.
    public var icmpErrorsRateLimited = 0
    /// Errors not sent by rule: about an ICMP error, a broadcast, a non-first fragment, or a
    /// source that is not a host (RFC 1122 §3.2.2).
    public var icmpErrorsSuppressed = 0

    // UDP.
    public var udpReceived = 0
    public var udpDelivered = 0
    public var udpSent = 0
    public var udpDroppedMalformed = 0
    public var udpDroppedBadChecksum = 0
    /// No socket bound to the destination port.
    public var udpNoPort = 0
    /// A socket's receive queue was full.
    public var udpReceiveQueueOverflows = 0

    // TCP.
    /// Segments received (checksum not yet checked).
    public var tcpReceived = 0
    /// Segments sent, retransmissions and resets included.
    public var tcpSent = 0
    /// Shorter than a header, a bad data offset or a malformed option.
    public var tcpDroppedMalformed = 0
    public var tcpDroppedBadChecksum = 0
    /// Addressed to a broadcast or multicast address (RFC 1122 §4.2.3.10).
    public var tcpDroppedBroadcast = 0
    /// For no connection and no listener: answered with RST (RFC 9293 §3.10.7.1).
    public var tcpNoPort = 0
    public var tcpResetsSent = 0
    /// Resets that closed a connection.
    public var tcpResetsReceived = 0
    public var tcpActiveOpens = 0
    /// SYNs that created a connection in SYN-RECEIVED.
    public var tcpPassiveOpens = 0
    public var tcpConnectionsEstablished = 0
    /// Connections closed by a reset, received or sent, or given up on.
    public var tcpConnectionsReset = 0
    /// Opens refused by RST or timed out.
    public var tcpOpenFailures = 0
    public var tcpRetransmittedSegments = 0
    public var tcpRetransmitTimeouts = 0
    /// Losses repaired by fast retransmit (RFC 5681 §3.2).
    public var tcpFastRetransmits = 0
    public var tcpDuplicateACKs = 0
    public var tcpOutOfOrderSegments = 0
    /// Out-of-order segments dropped because the range list was full.
    public var tcpOutOfOrderDrops = 0
    /// Segments outside the receive window, answered with an ACK (RFC 9293 §3.10.7.4).
    public var tcpOutOfWindow = 0
    /// RFC 5961 §3, §4, §5.
    public var tcpChallengeACKsSent = 0
    public var tcpChallengeACKsRateLimited = 0
    /// Segments with an old timestamp (RFC 7323 §5).
    public var tcpPAWSDrops = 0
    /// Segments older than TS.Recent taken anyway (RFC 7323 §5.3 R1 with Linux's slack): one
    /// timestamp tick old, or pure ACKs that only arrived out of order.
    public var tcpPAWSReorderedAccepted = 0
    /// Segments RACK (RFC 8985 §6.2) marked lost from their send times.
    public var tcpRACKLosses = 0
    /// Tail loss probes sent (RFC 8985 §7.3).
    public var tcpTailLossProbes = 0
    /// RFC 6675 §4 NextSeg rule 4 rescue retransmissions.
    public var tcpRescueRetransmits = 0
    /// Fast recoveries undone because DSACK showed every retransmission spurious (RFC 3708).
    public var tcpSpuriousRecoveriesUndone = 0
    public var tcpSYNCookiesSent = 0
    public var tcpSYNCookiesAccepted = 0
    /// ACKs to a listener whose cookie did not check out (answered with RST).
    public var tcpSYNCookiesRejected = 0
    /// SYNs dropped (or connections reset) because the accept backlog was full.
    public var tcpListenOverflows = 0
    /// SYNs dropped because the SYN queue was full and cookies are off.
    public var tcpSYNQueueDrops = 0
    public var tcpZeroWindowProbes = 0
    public var tcpKeepAlivesSent = 0
    public var tcpKeepAliveTimeouts = 0
    public var tcpTimeWaitExpired = 0
    /// ACKs sent when the delayed-ACK timer fired.
    public var tcpDelayedACKs = 0
    /// Segments the IP layer refused (no route, interface down).
    public var tcpSendErrors = 0

    public init() {}

    /// Calls `body` with each counter's name and value, in declaration order (for `stats` output).
    public func forEach(_ body: (String, Int) -> Void) {
        body("framesReceived", framesReceived)
        body("framesSent", framesSent)
        body("bytesReceived", bytesReceived)
        body("bytesSent", bytesSent)
        body("framesDroppedMalformed", framesDroppedMalformed)
        body("framesDroppedNotForUs", framesDroppedNotForUs)
        body("framesDroppedUnsupported", framesDroppedUnsupported)
        body("transmitErrors", transmitErrors)
        body("transmitBacklogDrops", transmitBacklogDrops)
        body("arpRequestsReceived", arpRequestsReceived)
        body("arpRepliesReceived", arpRepliesReceived)
        body("arpRequestsSent", arpRequestsSent)
        body("arpRepliesSent", arpRepliesSent)
        body("arpGratuitousSent", arpGratuitousSent)
        body("arpDroppedMalformed", arpDroppedMalformed)
        body("arpAddressConflicts", arpAddressConflicts)
        body("arpPacketsQueued", arpPacketsQueued)
        body("arpQueueOverflows", arpQueueOverflows)
        body("arpResolutionFailures", arpResolutionFailures)
        body("arpResolutionDrops", arpResolutionDrops)
        body("arpEntriesExpired", arpEntriesExpired)
        body("ipPacketsReceived", ipPacketsReceived)
        body("ipPacketsDelivered", ipPacketsDelivered)
        body("ipPacketsSent", ipPacketsSent)
        body("ipDroppedMalformed", ipDroppedMalformed)
        body("ipDroppedBadChecksum", ipDroppedBadChecksum)
        body("ipDroppedMartianSource", ipDroppedMartianSource)
        body("ipDroppedNotForUs", ipDroppedNotForUs)
        body("ipDroppedUnknownProtocol", ipDroppedUnknownProtocol)
        body("ipOutputNoRoute", ipOutputNoRoute)
        body("ipOutputTooLong", ipOutputTooLong)
        body("ipOutputInterfaceDown", ipOutputInterfaceDown)
        body("ipFragmentsCreated", ipFragmentsCreated)
        body("ipFragmentsReceived", ipFragmentsReceived)
        body("ipDatagramsReassembled", ipDatagramsReassembled)
        body("reassemblyTimeouts", reassemblyTimeouts)
        body("reassemblyOverlaps", reassemblyOverlaps)
        body("reassemblyMalformed", reassemblyMalformed)
        body("reassemblyMemoryDrops", reassemblyMemoryDrops)
        body("reassemblyDuplicates", reassemblyDuplicates)
        body("loopbackPackets", loopbackPackets)
        body("loopbackDrops", loopbackDrops)
        body("icmpReceived", icmpReceived)
        body("icmpDroppedMalformed", icmpDroppedMalformed)
        body("icmpDroppedBadChecksum", icmpDroppedBadChecksum)
        body("icmpEchoRequestsReceived", icmpEchoRequestsReceived)
        body("icmpEchoRepliesReceived", icmpEchoRepliesReceived)
        body("icmpEchoRequestsSent", icmpEchoRequestsSent)
        body("icmpEchoRepliesSent", icmpEchoRepliesSent)
        body("icmpEchoBroadcastIgnored", icmpEchoBroadcastIgnored)
        body("icmpEchoReplyOverflows", icmpEchoReplyOverflows)
        body("icmpErrorsReceived", icmpErrorsReceived)
        body("icmpErrorsSent", icmpErrorsSent)
        body("icmpErrorsRateLimited", icmpErrorsRateLimited)
        body("icmpErrorsSuppressed", icmpErrorsSuppressed)
        body("udpReceived", udpReceived)
        body("udpDelivered", udpDelivered)
        body("udpSent", udpSent)
        body("udpDroppedMalformed", udpDroppedMalformed)
        body("udpDroppedBadChecksum", udpDroppedBadChecksum)
        body("udpNoPort", udpNoPort)
        body("udpReceiveQueueOverflows", udpReceiveQueueOverflows)
        body("tcpReceived", tcpReceived)
        body("tcpSent", tcpSent)
        body("tcpDroppedMalformed", tcpDroppedMalformed)
        body("tcpDroppedBadChecksum", tcpDroppedBadChecksum)
        body("tcpDroppedBroadcast", tcpDroppedBroadcast)
        body("tcpNoPort", tcpNoPort)
        body("tcpResetsSent", tcpResetsSent)
        body("tcpResetsReceived", tcpResetsReceived)
        body("tcpActiveOpens", tcpActiveOpens)
        body("tcpPassiveOpens", tcpPassiveOpens)
        body("tcpConnectionsEstablished", tcpConnectionsEstablished)
        body("tcpConnectionsReset", tcpConnectionsReset)
        body("tcpOpenFailures", tcpOpenFailures)
        body("tcpRetransmittedSegments", tcpRetransmittedSegments)
        body("tcpRetransmitTimeouts", tcpRetransmitTimeouts)
        body("tcpFastRetransmits", tcpFastRetransmits)
        body("tcpDuplicateACKs", tcpDuplicateACKs)
        body("tcpOutOfOrderSegments", tcpOutOfOrderSegments)
        body("tcpOutOfOrderDrops", tcpOutOfOrderDrops)
        body("tcpOutOfWindow", tcpOutOfWindow)
        body("tcpChallengeACKsSent", tcpChallengeACKsSent)
        body("tcpChallengeACKsRateLimited", tcpChallengeACKsRateLimited)
        body("tcpPAWSDrops", tcpPAWSDrops)
        body("tcpPAWSReorderedAccepted", tcpPAWSReorderedAccepted)
        body("tcpRACKLosses", tcpRACKLosses)
        body("tcpTailLossProbes", tcpTailLossProbes)
        body("tcpRescueRetransmits", tcpRescueRetransmits)
        body("tcpSpuriousRecoveriesUndone", tcpSpuriousRecoveriesUndone)
        body("tcpSYNCookiesSent", tcpSYNCookiesSent)
        body("tcpSYNCookiesAccepted", tcpSYNCookiesAccepted)
        body("tcpSYNCookiesRejected", tcpSYNCookiesRejected)
        body("tcpListenOverflows", tcpListenOverflows)
        body("tcpSYNQueueDrops", tcpSYNQueueDrops)
        body("tcpZeroWindowProbes", tcpZeroWindowProbes)
        body("tcpKeepAlivesSent", tcpKeepAlivesSent)
        body("tcpKeepAliveTimeouts", tcpKeepAliveTimeouts)
        body("tcpTimeWaitExpired", tcpTimeWaitExpired)
        body("tcpDelayedACKs", tcpDelayedACKs)
        body("tcpSendErrors", tcpSendErrors)
    }
}
