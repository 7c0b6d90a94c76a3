import SkiffPlatform
import SkiffWire

/// An ICMP echo reply to one of our own echo requests.
public struct EchoReply: Equatable, Sendable {
    public var source: IPv4Address
    public var identifier: UInt16
    public var sequence: UInt16
    public var payload: [UInt8]
    public var receivedAt: Instant

    public init(source: IPv4Address, identifier: UInt16, sequence: UInt16, payload: [UInt8], receivedAt: Instant) {
        self.source = source
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
        self.receivedAt = receivedAt
    }
}

extension ICMPv4Type {
    /// The query (informational) types: an error may be sent about these, never about any other
    /// ICMP type, known error or unknown (RFC 1122 §3.2.2; RFC 792, RFC 1256, RFC 950).
    static func isQuery(_ type: UInt8) -> Bool {
        switch type {
        case 0, 8, 9, 10, 13, 14, 15, 16, 17, 18: return true
        default: return false
        }
    }
}

extension NetworkStack {
    func handleICMP(_ ip: IPv4View, isBroadcast: Bool, now: Instant) {
        guard let icmp = ICMPv4View(ip.payload) else {
            statistics.icmpDroppedMalformed += 1
            return
        }
        guard icmp.isChecksumValid else {
            statistics.icmpDroppedBadChecksum += 1
            return
        }
        statistics.icmpReceived += 1
        switch icmp.message {
        case .echoRequest(let identifier, let sequence):
            statistics.icmpEchoRequestsReceived += 1
            // RFC 1122 §3.2.2.6: an echo request to a broadcast address may be ignored (and is,
            // against smurf amplification); a reply needs a host to go to.
            guard !isBroadcast, ip.source.isUnicastHost else {
                statistics.icmpEchoBroadcastIgnored += 1
                return
            }
            // The data is echoed verbatim, and the reply comes from the address the request was
            // sent to (RFC 792, RFC 1122 §3.2.2.6).
            guard let plan = try? planOutput(to: ip.source, from: ip.destination) else { return }
            var packet = PacketBuffer(copying: icmp.payload)
            ICMPv4Header(message: .echoReply(identifier: identifier, sequence: sequence)).prepend(to: &packet)
            do throws(SendError) {
                try output(&packet, protocolNumber: IPProtocol.icmp, plan: plan, dontFragment: false, now: now)
                statistics.icmpEchoRepliesSent += 1
            } catch {
                // Counted by `output`.
            }
        case .echoReply(let identifier, let sequence):
            statistics.icmpEchoRepliesReceived += 1
            if echoReplies.count >= configuration.echoReplyQueueLength {
                echoReplies.removeFirst()
                statistics.icmpEchoReplyOverflows += 1
            }
            echoReplies.append(EchoReply(source: ip.source, identifier: identifier, sequence: sequence,
                                         payload: Array(icmp.payload), receivedAt: now))
        default:
            if ICMPv4Type.isError(icmp.type) { statistics.icmpErrorsReceived += 1 }
        }
    }

    /// Sends an ICMP error about `datagram` (its bytes from the IP header on; they may be cut
    /// short), unless RFC 1122 §3.2.2 forbids it or the token bucket is empty (RFC 1812 §4.3.2.8).
    func sendICMPError(_ message: ICMPv4Message, quoting datagram: UnsafeRawBufferPointer,
                       linkBroadcast: Bool, now: Instant) {
        let quote = ICMPv4Header.errorQuote(of: datagram)
        guard let quoted = IPv4QuotedView(quote), mayReportError(about: quoted, linkBroadcast: linkBroadcast) else {
            statistics.icmpErrorsSuppressed += 1
            return
        }
        guard icmpErrorBucket.take(now: now) else {
            statistics.icmpErrorsRateLimited += 1
            return
        }
        // From the address the offending datagram was sent to, when it is ours.
        let source: IPv4Address? = isOurAddress(quoted.destination) ? quoted.destination : nil
        guard let plan = try? planOutput(to: quoted.source, from: source) else { return }
        var packet = PacketBuffer(copying: quote)
        ICMPv4Header(message: message).prepend(to: &packet)
        do throws(SendError) {
            try output(&packet, protocolNumber: IPProtocol.icmp, plan: plan, dontFragment: false, now: now)
            statistics.icmpErrorsSent += 1
        } catch {
            // Counted by `output`.
        }
    }

    /// RFC 1122 §3.2.2: no error about an ICMP error, a datagram sent to a broadcast or multicast
    /// address (IP or link layer), a fragment other than the first, or one whose source does not
    /// name a single host.
    private func mayReportError(about quoted: IPv4QuotedView, linkBroadcast: Bool) -> Bool {
        if linkBroadcast || quoted.fragmentOffset != 0 { return false }
        let destination = quoted.destination
        if !destination.isUnicastHost || isSubnetBroadcastOfAny(destination) { return false }
        let source = quoted.source
        if !source.isUnicastHost || isSubnetBroadcastOfAny(source) { return false }
        if quoted.protocolNumber == IPProtocol.icmp {
            guard quoted.payload.count >= 1, ICMPv4Type.isQuery(quoted.payload.getUInt8(at: 0)) else { return false }
        }
        return true
    }
}
