import SkiffWire

// Connection states, RFC 9293 §3.3.2 (Figure 6).

/// The state of a TCP connection.
public enum TCPState: Equatable, Sendable, CustomStringConvertible {
    case closed
    case listen
    case synSent
    case synReceived
    case established
    case finWait1
    case finWait2
    case closeWait
    case closing
    case lastAck
    case timeWait

    /// Both SYNs have been exchanged (RFC 9293 §3.5: the "synchronized" states).
    var isSynchronized: Bool {
        switch self {
        case .closed, .listen, .synSent, .synReceived: return false
        default: return true
        }
    }

    /// States in which received data is accepted (RFC 9293 §3.10.7.4, seventh step).
    var acceptsData: Bool {
        switch self {
        case .established, .finWait1, .finWait2: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .closed: return "CLOSED"
        case .listen: return "LISTEN"
        case .synSent: return "SYN-SENT"
        case .synReceived: return "SYN-RECEIVED"
        case .established: return "ESTABLISHED"
        case .finWait1: return "FIN-WAIT-1"
        case .finWait2: return "FIN-WAIT-2"
        case .closeWait: return "CLOSE-WAIT"
        case .closing: return "CLOSING"
        case .lastAck: return "LAST-ACK"
        case .timeWait: return "TIME-WAIT"
        }
    }
}

/// The four numbers that name a connection.
struct TCPFourTuple: Hashable {
    var localAddress: IPv4Address
    var localPort: UInt16
    var remoteAddress: IPv4Address
    var remotePort: UInt16
}
