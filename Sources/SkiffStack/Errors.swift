/// Why a datagram the application sent could not leave.
public enum SendError: Error, Equatable, Sendable {
    /// No route covers the destination.
    case noRoute
    /// Larger than the interface MTU with Don't Fragment set, or larger than an IPv4 datagram.
    case messageTooLong
    /// The socket was closed.
    case socketClosed
    /// The route's interface has no link.
    case interfaceDown
}

/// Why a UDP port could not be bound.
public enum UDPBindError: Error, Equatable, Sendable {
    /// Another socket holds the port for an overlapping address.
    case portInUse
    /// Every port in the ephemeral range (RFC 6335 §6: 49152...65535) is taken.
    case noEphemeralPort
}

/// Why a TCP port could not be listened on.
public enum TCPListenError: Error, Equatable, Sendable {
    /// Another listener holds the port for an overlapping address.
    case portInUse
    /// Port 0, or a backlog below 1.
    case invalidArgument
}

/// Why a TCP connection could not be opened.
public enum TCPConnectError: Error, Equatable, Sendable {
    /// No route covers the destination.
    case noRoute
    /// The route's interface has no link.
    case interfaceDown
    /// The destination is 0.0.0.0, a broadcast or multicast address, or port 0.
    case invalidDestination
    /// No source address toward the destination.
    case noSourceAddress
    /// Every ephemeral port is taken for this destination.
    case noEphemeralPort
}
