import SkiffWire

// A received segment as the state machine sees it (RFC 9293 §3.10.7): the header fields, the
// options that matter, and the payload, which points into the receive buffer of the device and
// is valid only while the segment is processed.

/// What a received segment's options said (RFC 9293 §3.2, RFC 7323, RFC 2018).
struct TCPReceivedOptions {
    var maximumSegmentSize: UInt16? = nil
    var windowScale: UInt8? = nil
    var sackPermitted = false
    var timestamp: (value: UInt32, echoReply: UInt32)? = nil
    var sackBlocks: [TCPSACKBlock] = []

    /// Walks the option area; nil when an option is malformed (the segment is dropped).
    init?(_ area: UnsafeRawBufferPointer) {
        var reader = TCPOptionReader(area)
        // Bounded: every option consumes at least one byte of the (at most 40-byte) area.
        while true {
            let next: TCPOption?
            do throws(TCPParseError) {
                next = try reader.next()
            } catch {
                return nil
            }
            guard let option = next else { break }
            switch option {
            case .endOfList: return
            case .maximumSegmentSize(let mss): maximumSegmentSize = mss
            case .windowScale(let shift): windowScale = shift
            case .sackPermitted: sackPermitted = true
            case .timestamps(let value, let echoReply): timestamp = (value, echoReply)
            case .sack(let blocks): sackBlocks = blocks
            case .noOperation, .unknown: break
            }
        }
    }

    init() {}
}

struct TCPSegment {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var seq: SequenceNumber
    var ack: SequenceNumber
    var flags: TCPFlags
    var window: UInt16
    var options: TCPReceivedOptions
    /// Valid only while the segment is being processed.
    var payload: UnsafeRawBufferPointer

    var syn: Bool { flags.contains(.syn) }
    var fin: Bool { flags.contains(.fin) }
    var rst: Bool { flags.contains(.rst) }
    var hasAck: Bool { flags.contains(.ack) }

    /// SEG.LEN: the octets of data plus one each for SYN and FIN (RFC 9293 §3.4).
    var length: Int { payload.count + (syn ? 1 : 0) + (fin ? 1 : 0) }

    /// Parses a segment whose checksum has been verified. Nil when the options are malformed.
    init?(_ view: TCPView) {
        guard let options = TCPReceivedOptions(view.options) else { return nil }
        sourcePort = view.sourcePort
        destinationPort = view.destinationPort
        seq = SequenceNumber(view.sequenceNumber)
        ack = SequenceNumber(view.acknowledgmentNumber)
        flags = view.flags
        window = view.window
        self.options = options
        payload = view.payload
    }
}
