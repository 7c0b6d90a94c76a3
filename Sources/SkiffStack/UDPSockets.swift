import SkiffPlatform
import SkiffWire

/// A datagram received on a UDP socket.
public struct UDPDatagram: Equatable, Sendable {
    public var payload: [UInt8]
    public var source: IPv4Address
    public var sourcePort: UInt16
    public var destination: IPv4Address
    public var destinationPort: UInt16

    public init(payload: [UInt8], source: IPv4Address, sourcePort: UInt16,
                destination: IPv4Address, destinationPort: UInt16) {
        self.payload = payload
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }
}

/// The receive side of a bound port, held by the stack's socket table. Kept apart from
/// `UDPSocket` so the table does not keep the application's socket (which holds the stack) alive.
final class UDPEndpoint {
    let port: UInt16
    let address: IPv4Address
    let queueLimit: Int
    /// Oldest first.
    private(set) var queue: [UDPDatagram] = []
    var isClosed = false

    init(port: UInt16, address: IPv4Address, queueLimit: Int) {
        self.port = port
        self.address = address
        self.queueLimit = queueLimit
    }

    /// Queues `datagram`; false (and nothing queued) when the queue is full.
    func deliver(_ datagram: UDPDatagram) -> Bool {
        guard queue.count < queueLimit else { return false }
        queue.append(datagram)
        return true
    }

    func take() -> UDPDatagram? {
        queue.isEmpty ? nil : queue.removeFirst()
    }
}

/// Bound UDP ports. A port may be bound several times for distinct specific addresses; binding
/// the wildcard address takes the port for every address.
struct UDPSocketTable {
    /// RFC 6335 §6: the dynamic/private ports.
    static let ephemeralPorts: ClosedRange<UInt16> = 49152...65535

    private(set) var endpoints: [UInt16: [UDPEndpoint]] = [:]
    private var nextEphemeral: UInt16 = UDPSocketTable.ephemeralPorts.lowerBound

    var count: Int { endpoints.values.reduce(0) { $0 + $1.count } }

    /// Binds `port` (0: the next free ephemeral port) on `address` (`.any`: every address).
    mutating func bind(port: UInt16, address: IPv4Address, queueLimit: Int) throws(UDPBindError) -> UDPEndpoint {
        var chosen = port
        if port == 0 {
            let range = UDPSocketTable.ephemeralPorts
            let size = Int(range.upperBound) - Int(range.lowerBound) + 1
            var found: UInt16? = nil
            for step in 0..<size {
                let candidate = UInt16(Int(range.lowerBound)
                    + (Int(nextEphemeral) - Int(range.lowerBound) + step) % size)
                if !conflicts(port: candidate, address: address) { found = candidate; break }
            }
            guard let found else { throw .noEphemeralPort }
            chosen = found
            nextEphemeral = found == range.upperBound ? range.lowerBound : found + 1
        } else if conflicts(port: port, address: address) {
            throw .portInUse
        }
        let endpoint = UDPEndpoint(port: chosen, address: address, queueLimit: queueLimit)
        endpoints[chosen, default: []].append(endpoint)
        return endpoint
    }

    mutating func unbind(_ endpoint: UDPEndpoint) {
        guard var list = endpoints[endpoint.port] else { return }
        list.removeAll { $0 === endpoint }
        endpoints[endpoint.port] = list.isEmpty ? nil : list
    }

    /// The socket for a datagram to `address`:`port`: one bound to that address, else the wildcard.
    func lookup(port: UInt16, address: IPv4Address) -> UDPEndpoint? {
        guard let list = endpoints[port] else { return nil }
        return list.first { $0.address == address } ?? list.first { $0.address == .any }
    }

    private func conflicts(port: UInt16, address: IPv4Address) -> Bool {
        guard let list = endpoints[port] else { return false }
        return list.contains { $0.address == address || $0.address == .any || address == .any }
    }
}

/// A bound UDP port. Sending never blocks: the datagram leaves at once or waits behind ARP.
public final class UDPSocket {
    public let localPort: UInt16
    /// The bound address (`.any` for every address of the stack).
    public let localAddress: IPv4Address
    /// Sets Don't Fragment on outgoing datagrams: a datagram larger than the MTU then fails with
    /// `messageTooLong` instead of leaving in fragments.
    public var dontFragment = false

    let stack: NetworkStack
    let endpoint: UDPEndpoint

    init(stack: NetworkStack, endpoint: UDPEndpoint) {
        self.stack = stack
        self.endpoint = endpoint
        self.localPort = endpoint.port
        self.localAddress = endpoint.address
    }

    deinit { close() }

    public var isClosed: Bool { endpoint.isClosed }

    /// Datagrams waiting in the receive queue.
    public var pendingCount: Int { endpoint.queue.count }

    public func send(_ payload: [UInt8], to address: IPv4Address, port: UInt16, now: Instant) throws(SendError) {
        var result: Result<Void, SendError> = .success(())
        payload.withUnsafeBytes { bytes in
            do throws(SendError) {
                try send(bytes, to: address, port: port, now: now)
            } catch {
                result = .failure(error)
            }
        }
        try result.get()
    }

    public func send(_ payload: UnsafeRawBufferPointer, to address: IPv4Address, port: UInt16,
                     now: Instant) throws(SendError) {
        guard !endpoint.isClosed else { throw .socketClosed }
        try stack.sendUDP(payload, from: localAddress, port: localPort, to: address, port: port,
                          dontFragment: dontFragment, now: now)
    }

    /// The oldest received datagram, or nil.
    public func receive() -> UDPDatagram? {
        endpoint.take()
    }

    /// Releases the port; later sends fail with `socketClosed`. Closing twice does nothing.
    public func close() {
        guard !endpoint.isClosed else { return }
        endpoint.isClosed = true
        stack.unbind(endpoint)
    }
}
