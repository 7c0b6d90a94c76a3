import SkiffWire
import SkiffPlatform
import SkiffStack

// The Echo Protocol over TCP (RFC 862): every byte a client sends comes back on the same
// connection until the client closes. Flow control does the backpressure: a connection reads only
// as many bytes as its send buffer has room for, so a client that does not read its echo fills our
// send buffer, then our receive window, then stalls itself — the service never holds more than one
// fixed scratch buffer, whatever the peers do.
//
//   open ──(peer FIN read, everything echoed: close = FIN after the echo)──> gone
//   open ──(reset, write refused, idle timeout)──> gone (abort)

/// Counters kept by a `TCPEchoService`.
public struct TCPEchoStatistics: Equatable, Sendable {
    /// Connections taken from the listener.
    public var accepted = 0
    /// Connections finished after the peer's FIN, everything echoed.
    public var closed = 0
    /// Connections the peer reset (or that could no longer send).
    public var resets = 0
    /// Connections aborted after `idleTimeout` without progress.
    public var idleTimeouts = 0
    /// Bytes echoed (read and written back).
    public var bytes = 0
    /// Connections being served now.
    public var openConnections = 0
    public init() {}
}

/// The Echo Protocol over TCP (RFC 862 §"TCP Based Echo Service"), on port 7 by default.
///
/// Drive it from the application loop: `step(now:)` after each `stack.poll(now:)`.
public final class TCPEchoService {
    private final class Connection {
        let stream: any StreamConnection
        var lastProgress: Instant
        var peerFinished = false
        init(stream: any StreamConnection, now: Instant) {
            self.stream = stream
            lastProgress = now
        }
    }

    public let port: UInt16
    /// Connections served at once; further ones wait in the listener's backlog.
    public let maxConnections: Int
    /// A connection that moves no byte for this long is aborted (a peer that neither sends nor
    /// reads would otherwise hold a slot forever).
    public let idleTimeout: Interval
    public private(set) var statistics = TCPEchoStatistics()
    /// Called with one line per reset or timeout, e.g. for the console.
    public var log: ((String) -> Void)? = nil

    private let listener: any StreamListener
    private var connections: [Connection] = []
    /// The only buffer the service holds: bytes pass through it from a receive buffer to a send
    /// buffer within one call.
    private var scratch: [UInt8]

    /// Bytes echoed per connection per step (fairness between connections).
    public static let bytesPerStep = 64 * 1024
    /// Connections accepted per step.
    public static let acceptsPerStep = 32

    /// Serves connections from `listener`.
    public init(listener: any StreamListener, maxConnections: Int = 64, idleTimeout: Interval = .seconds(300)) {
        precondition(maxConnections >= 1, "TCPEchoService needs room for one connection")
        self.listener = listener
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        port = listener.localPort
        scratch = [UInt8](repeating: 0, count: 16 * 1024)
    }

    /// Listens on `port` (7 by default, RFC 862) of every address of `stack`.
    public convenience init(stack: NetworkStack, port: UInt16 = 7, backlog: Int = 32, maxConnections: Int = 64,
                            idleTimeout: Interval = .seconds(300)) throws(TCPListenError) {
        self.init(listener: try stack.listen(port: port, backlog: backlog), maxConnections: maxConnections,
                  idleTimeout: idleTimeout)
    }

    /// Accepts, echoes and closes. Returns `now` when work is left for another step, else the
    /// earliest idle deadline, or nil when no connection is open.
    @discardableResult
    public func step(now: Instant) -> Instant? {
        var again = false
        var accepted = 0
        while connections.count < maxConnections, accepted < TCPEchoService.acceptsPerStep,
              let stream = listener.accept() {
            accepted += 1
            statistics.accepted += 1
            connections.append(Connection(stream: stream, now: now))
        }
        if accepted == TCPEchoService.acceptsPerStep { again = true }

        var deadline: Instant? = nil
        var finishedAny = false
        for connection in connections {
            switch serve(connection, now: now) {
            case .more: again = true
            case .waiting:
                let idle = connection.lastProgress + idleTimeout
                if now >= idle {
                    statistics.idleTimeouts += 1
                    log?("echo: \(peer(connection)): idle for \(idleTimeout.nanoseconds / 1_000_000_000) s, aborted")
                    connection.stream.abort()
                    connection.peerFinished = true
                    finishedAny = true
                } else {
                    deadline = min(deadline ?? idle, idle)
                }
            case .finished: finishedAny = true
            }
        }
        if finishedAny {
            connections.removeAll { $0.peerFinished || !$0.stream.isOpen }
        }
        statistics.openConnections = connections.count
        return again ? now : deadline
    }

    private enum Progress { case more, waiting, finished }

    /// Moves what fits from the connection's receive buffer to its send buffer.
    private func serve(_ connection: Connection, now: Instant) -> Progress {
        let stream = connection.stream
        var moved = 0
        while moved < TCPEchoService.bytesPerStep {
            // Backpressure: take no more than the send buffer can hold right now. With no room the
            // read still runs (consuming nothing) to see an end of stream or a reset.
            let room = min(stream.writableBytes, scratch.count, TCPEchoService.bytesPerStep - moved)
            let result = scratch.withUnsafeMutableBytes { out -> StreamReadResult in
                stream.read { piece in
                    let n = min(piece.count, room)
                    // In bounds: n <= room <= out.count and n <= piece.count.
                    if n > 0 { out.baseAddress!.copyMemory(from: piece.baseAddress!, byteCount: n) }
                    return n
                }
            }
            switch result {
            case .consumed(let n):
                // Nothing taken: the send buffer is full, so wait for the peer to read (its
                // acknowledgments make room; the stack's poll brings us back).
                guard n > 0 else { return .waiting }
                let written = scratch.withUnsafeBytes { stream.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                // `room` came from `writableBytes`, so the stream takes all of it; anything else
                // means it can no longer send.
                guard written == n else {
                    statistics.resets += 1
                    log?("echo: \(peer(connection)): write refused, aborted")
                    stream.abort()
                    connection.peerFinished = true
                    return .finished
                }
                moved += n
                statistics.bytes += n
                connection.lastProgress = now
            case .wouldBlock:
                return .waiting
            case .endOfStream:
                // RFC 862: the server echoes until the client closes; everything read has been
                // written, so close now: our FIN follows the echoed bytes (RFC 9293 §3.10.4).
                connection.peerFinished = true
                stream.close()
                statistics.closed += 1
                return .finished
            case .reset:
                statistics.resets += 1
                log?("echo: \(peer(connection)): reset by peer")
                connection.peerFinished = true
                return .finished
            }
        }
        return .more
    }

    private func peer(_ connection: Connection) -> String {
        "\(connection.stream.remoteAddress):\(connection.stream.remotePort)"
    }

    /// Stops listening and closes every connection gracefully.
    public func close() {
        listener.close()
        for connection in connections { connection.stream.close() }
        connections.removeAll()
        statistics.openConnections = 0
    }
}
