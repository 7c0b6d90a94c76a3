import SkiffPlatform
import SkiffWire

// The byte-stream interface applications program against: TCP connections implement it, and so
// can test doubles, so protocol code above (the HTTP server) needs no stack to be tested.
// Non-blocking and poll-driven like the rest of the stack: an application calls these from its
// `step(now:)` and learns from the results when to try again.

/// What a read found.
public enum StreamReadResult: Equatable, Sendable {
    /// `body` was handed bytes and consumed this many (it may consume fewer than offered; the
    /// rest is offered again on the next read).
    case consumed(Int)
    /// Nothing to read now; the peer may still send.
    case wouldBlock
    /// The peer closed its sending side (FIN) and every byte before it has been read.
    case endOfStream
    /// The connection was reset or aborted; nothing more will arrive.
    case reset
}

/// A connected, reliable, ordered byte stream.
public protocol StreamConnection: AnyObject {
    /// The local and remote endpoints.
    var localAddress: IPv4Address { get }
    var localPort: UInt16 { get }
    var remoteAddress: IPv4Address { get }
    var remotePort: UInt16 { get }

    /// Offers the bytes received so far, in order, straight from the receive buffer (which may
    /// hand them in more than one piece: call again for the rest); `body` returns how many it
    /// consumed. Consuming opens the receive window.
    func read(_ body: (UnsafeRawBufferPointer) -> Int) -> StreamReadResult

    /// Copies as much of `bytes` as the send buffer has room for and returns that count (0 when
    /// the buffer is full: backpressure; retry when `writableBytes` > 0). -1 when the connection
    /// can no longer send (closed for writing, reset).
    func write(_ bytes: UnsafeRawBufferPointer) -> Int

    /// Room left in the send buffer now.
    var writableBytes: Int { get }

    /// Bytes written but not yet acknowledged by the peer.
    var unacknowledgedBytes: Int { get }

    /// Sends FIN after everything written (half-close); reading continues.
    func shutdownWrite()

    /// Closes both directions gracefully (FIN after the written data); the connection finishes
    /// closing on its own, and the application must not use it afterwards.
    func close()

    /// Drops the connection at once with RST.
    func abort()

    /// Whether the connection still exists for the application (not reset, not closed by it).
    var isOpen: Bool { get }
}

/// A passive endpoint that hands out connections the handshake has completed.
public protocol StreamListener: AnyObject {
    var localPort: UInt16 { get }
    /// The next established connection waiting in the backlog, or nil.
    func accept() -> (any StreamConnection)?
    /// Stops listening; connections already accepted are unaffected.
    func close()
}
