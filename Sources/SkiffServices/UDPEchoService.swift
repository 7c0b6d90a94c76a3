import SkiffWire
import SkiffPlatform
import SkiffStack

/// Counters kept by a `UDPEchoService`.
public struct UDPEchoStatistics: Equatable, Sendable {
    /// Datagrams sent back to their sender.
    public var echoed = 0
    /// Payload bytes sent back.
    public var bytes = 0
    /// Datagrams that could not be sent back (no route, too long, ...).
    public var failed = 0
    public init(echoed: Int = 0, bytes: Int = 0, failed: Int = 0) {
        self.echoed = echoed
        self.bytes = bytes
        self.failed = failed
    }
}

/// The Echo Protocol over UDP (RFC 862): every datagram received on `port` is sent back to its
/// source address and port with the same payload, byte for byte.
///
/// Drive it from the application loop: `step(now:)` after each `stack.poll(now:)`.
public final class UDPEchoService {
    public let port: UInt16
    public private(set) var statistics = UDPEchoStatistics()
    /// Called once per failed echo with a one-line reason, e.g. for the console.
    public var log: ((String) -> Void)? = nil
    private let socket: UDPSocket

    /// The most datagrams answered per `step`, so one busy service cannot starve the loop.
    public static let datagramsPerStep = 256

    /// Binds `port` (7 by default, RFC 862) on `address` (any local address by default).
    public init(stack: NetworkStack, port: UInt16 = 7, address: IPv4Address = .any) throws(UDPBindError) {
        socket = try stack.udpBind(port: port, address: address)
        self.port = socket.localPort
    }

    /// Echoes what has arrived. Returns `now` if datagrams are still waiting (call again before
    /// sleeping), nil otherwise: the service has no timers of its own.
    @discardableResult
    public func step(now: Instant) -> Instant? {
        var answered = 0
        while answered < UDPEchoService.datagramsPerStep, let datagram = socket.receive() {
            answered += 1
            do throws(SendError) {
                // RFC 862: "send back the data it received"; to the sender's address and port.
                try socket.send(datagram.payload, to: datagram.source, port: datagram.sourcePort, now: now)
                statistics.echoed += 1
                statistics.bytes += datagram.payload.count
            } catch {
                statistics.failed += 1
                log?("echo: cannot answer \(datagram.source):\(datagram.sourcePort): \(reason(error))")
            }
        }
        return answered == UDPEchoService.datagramsPerStep ? now : nil
    }

    /// Unbinds the port.
    public func close() {
        socket.close()
    }
}

/// A short text for a send failure (no reflection in Embedded Swift, so spelled out).
private func reason(_ error: SendError) -> String {
    switch error {
    case .noRoute: return "no route"
    case .messageTooLong: return "message too long"
    case .socketClosed: return "socket closed"
    case .interfaceDown: return "interface down"
    }
}
