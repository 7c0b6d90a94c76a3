import SkiffWire

// The options agreed in the SYN exchange: MSS (RFC 9293 §3.7.1, RFC 6691), window scale and
// timestamps (RFC 7323 §2, §3), SACK-permitted (RFC 2018 §2). An option is in use only when both
// SYNs carried it.

struct TCPNegotiatedOptions {
    /// The largest segment the peer accepts (its MSS option, else 536: RFC 9293 §3.7.1), capped by
    /// our own MTU.
    var sendMSS = 536
    /// The MSS we announced (from the interface MTU).
    var receiveMSS = 536
    /// Shift applied to the window field of segments we receive (the peer's option).
    var sendScale: UInt8 = 0
    /// Shift applied to the window field of segments we send (our option).
    var receiveScale: UInt8 = 0
    /// Both SYNs carried the window scale option.
    var windowScaling = false
    var timestamps = false
    var sack = false

    /// Bytes of timestamp option carried by every non-SYN segment: NOP, NOP, TS (RFC 7323 App. A).
    var timestampOptionLength: Int { timestamps ? 12 : 0 }

    /// SMSS: the data bytes in a full-sized segment carrying the usual options (RFC 5681 §2).
    var segmentSize: Int { max(1, sendMSS - timestampOptionLength) }

    /// RFC 7323 §2.3: the smallest shift that lets `bufferSize` be announced, at most 14.
    static func scale(for bufferSize: Int) -> UInt8 {
        var shift: UInt8 = 0
        while shift < 14 && (bufferSize >> Int(shift)) > 0xffff { shift += 1 }
        return shift
    }

    /// The options of a SYN or SYN-ACK we send. Linux's order (MSS, SACK-permitted, timestamps,
    /// NOP, window scale) packs them into 20 bytes.
    static func synOptions(mss: Int, windowScale: UInt8?, sack: Bool, timestamp: (UInt32, UInt32)?) -> [TCPOption] {
        var options: [TCPOption] = [.maximumSegmentSize(UInt16(clamping: mss))]
        if sack && timestamp != nil {
            options.append(.sackPermitted)
        } else if sack {
            options.append(contentsOf: [.noOperation, .noOperation, .sackPermitted])
        }
        if let timestamp {
            if !sack { options.append(contentsOf: [.noOperation, .noOperation]) }
            options.append(.timestamps(value: timestamp.0, echoReply: timestamp.1))
        }
        if let shift = windowScale {
            options.append(contentsOf: [.noOperation, .windowScale(shift)])
        }
        return options
    }

    /// Applies the options of the peer's SYN (or SYN-ACK) to what we offered.
    mutating func negotiate(peer: TCPReceivedOptions, offeredScale: UInt8?, offeredSACK: Bool,
                            offeredTimestamps: Bool, localMSS: Int) {
        receiveMSS = localMSS
        // RFC 9293 §3.7.1: without the option, 536; RFC 6691: the MSS counts no options.
        let peerMSS = peer.maximumSegmentSize.map { Int($0) } ?? 536
        sendMSS = max(64, min(peerMSS, localMSS))
        if let theirs = peer.windowScale, let ours = offeredScale {
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            sendScale = min(theirs, 14)
            receiveScale = ours
            windowScaling = true
        } else {
            windowScaling = false
            sendScale = 0
            receiveScale = 0
        }
        timestamps = offeredTimestamps && peer.timestamp != nil
        sack = offeredSACK && peer.sackPermitted
    }
}
