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
