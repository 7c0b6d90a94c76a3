import SkiffPlatform
import SkiffStack

// One connection's state machine. Each `step` writes what is queued, reads and answers requests
// (in order, so pipelined requests get their responses in order), then checks its timers. Nothing
// blocks: a slow peer only ever delays its own connection.
//
//   open ──(Connection: close, HTTP/1.0, parse error, 408, peer FIN)──> finishing
//   finishing ──(everything written; shutdownWrite)──> lingering
//   lingering ──(peer FIN, or the linger cap)──> closed (close)
//   any ──(reset, write refused, send timeout)──> closed (abort)

final class HTTPConnection {
    enum Phase: Equatable { case open, finishing, lingering, closed }

    let stream: any StreamConnection
    private(set) var phase = Phase.open
    private var parser: HTTPRequestParser
    private var outbound = OutboundQueue()
    /// Last byte read or written.
    private var lastActivity: Instant
    /// When the first byte of the request being read arrived.
    private var requestStarted: Instant? = nil
    /// Last time the stream took bytes (or the queue became non-empty).
    private var lastSendProgress: Instant
    private var lingerDeadline = Instant.zero
    private var peerClosed = false
    private var continueSent = false
    /// The time of the step in progress.
    private var clock: Instant

    init(stream: any StreamConnection, limits: HTTPLimits, now: Instant) {
        self.stream = stream
        parser = HTTPRequestParser(limits: limits)
        lastActivity = now
        lastSendProgress = now
        clock = now
    }

    /// Bytes queued for the peer.
    var pendingOutput: Int { outbound.count }

    /// Makes progress; returns when to be called again (`now` when work is left for the next
    /// step), or nil once closed.
    func step(now: Instant, configuration: HTTPServerConfiguration, handler: HTTPHandler,
              statistics: inout HTTPServerStatistics) -> Instant? {
        clock = now
        var moreWork = false
        flush(now: now, statistics: &statistics)
        switch phase {
        case .open:
            moreWork = readRequests(now: now, configuration: configuration, handler: handler, statistics: &statistics)
        case .finishing, .lingering:
            drain(now: now, configuration: configuration, statistics: &statistics)
        case .closed:
            break
        }
        flush(now: now, statistics: &statistics)
        if phase == .finishing && outbound.isEmpty {
            // RFC 9112 §9.6: half-close first, keep reading (and discarding) so the peer's
            // unread data does not turn our close into a reset before it has our response.
            stream.shutdownWrite()
            phase = .lingering
            lingerDeadline = now + configuration.lingerTimeout
        }
        if phase == .lingering && peerClosed {
            stream.close()
            phase = .closed
        }
        guard phase != .closed else { return nil }

        // Timers.
        let deadline: Instant
        if phase == .lingering {
            deadline = lingerDeadline
            if now >= deadline {
                statistics.lingerTimeouts += 1
                stream.close()
                phase = .closed
                return nil
            }
        } else if !outbound.isEmpty {
            deadline = lastSendProgress + configuration.sendTimeout
            if now >= deadline {
                statistics.sendTimeouts += 1
                abort(statistics: &statistics)
                return nil
            }
        } else if parser.isMidRequest, let started = requestStarted {
            deadline = started + configuration.requestTimeout
            if now >= deadline {
                // RFC 9110 §15.5.9: 408, then close.
                statistics.requestTimeouts += 1
                queueError(.requestTimeout, statistics: &statistics)
                flush(now: now, statistics: &statistics)
                return phase == .closed ? nil : now
            }
        } else {
            deadline = lastActivity + configuration.idleTimeout
            if now >= deadline {
                // An idle persistent connection closes without a response (RFC 9112 §9.5).
                statistics.idleTimeouts += 1
                stream.shutdownWrite()
                phase = .lingering
                lingerDeadline = now + configuration.lingerTimeout
                return lingerDeadline
            }
        }
        return moreWork ? now : deadline
    }

    /// Stops taking requests: the response being written finishes, then the connection closes.
    func finish() {
        if phase == .open { phase = .finishing }
    }

    // MARK: - Reading

    /// Reads and answers requests until the stream has nothing more, the output queue is full,
    /// or this step's share is used. Returns whether work is left for another step.
    private func readRequests(now: Instant, configuration: HTTPServerConfiguration, handler: HTTPHandler,
                              statistics: inout HTTPServerStatistics) -> Bool {
        var handled = 0
        var bytes = 0
        while phase == .open {
            // Pipelined requests wait in the stream's receive buffer while responses are queued.
            if outbound.count >= configuration.outputHighWater { return false }
            if handled >= configuration.requestsPerStep || bytes >= configuration.bytesPerStep { return true }
            let result = stream.read { buffer in self.parser.consume(buffer) }
            switch result {
            case .consumed(let n):
                bytes += n
                statistics.bytesReceived += n
                if n > 0 { lastActivity = now }
                if parser.isMidRequest && requestStarted == nil { requestStarted = now }
                if let request = parser.takeRequest() {
                    requestStarted = nil
                    continueSent = false
                    handled += 1
                    answer(request, handler: handler, statistics: &statistics)
                } else if let error = parser.error {
                    statistics.requestErrors[Int(error.rawValue)] += 1
                    queueError(error.status, statistics: &statistics)
                } else {
                    if parser.expectsContinue && !continueSent {
                        // RFC 9110 §10.1.1: tell the client to send the content.
                        continueSent = true
                        var interim: [UInt8] = []
                        appendStatic("HTTP/1.1 100 Continue\r\n\r\n", to: &interim)
                        queue(.bytes(interim))
                        statistics.responses[1] += 1
                    }
                    if n == 0 { return false }
                }
            case .wouldBlock:
                return false
            case .endOfStream:
                // The peer sent FIN: answer what was read, then close (RFC 9112 §9.6).
                peerClosed = true
                if parser.isMidRequest { statistics.incompleteRequests += 1 }
                phase = .finishing
                return false
            case .reset:
                statistics.resets += 1
                abort(statistics: &statistics)
                return false
            }
        }
        return false
    }

    /// While finishing or lingering: read and discard, watching for the peer's FIN.
    private func drain(now: Instant, configuration: HTTPServerConfiguration, statistics: inout HTTPServerStatistics) {
        var bytes = 0
        while !peerClosed && bytes < configuration.bytesPerStep {
            switch stream.read({ buffer in buffer.count }) {
            case .consumed(let n):
                if n == 0 { return }
                bytes += n
                statistics.bytesReceived += n
            case .wouldBlock:
                return
            case .endOfStream:
                peerClosed = true
            case .reset:
                statistics.resets += 1
                abort(statistics: &statistics)
                return
            }
        }
    }

    // MARK: - Writing

    private func answer(_ request: HTTPRequest, handler: HTTPHandler, statistics: inout HTTPServerStatistics) {
        statistics.requests += 1
        let response = handler(request)
        // RFC 9112 §9.6: after a response with "close", no further requests are processed.
        let keepAlive = request.keepAlive && !response.closeConnection && !peerClosed
        let head = encodeResponseHead(response, keepAlive: keepAlive, requestVersion: request.version)
        queue(.bytes(head))
        // RFC 9110 §9.3.2: HEAD gets the GET response's fields without its content.
        if request.method != .head && !response.status.forbidsContent {
            queue(response.body)
        }
        count(response.status, in: &statistics)
        if !keepAlive { phase = .finishing }
    }

    /// Queues an error response with `Connection: close` and stops reading requests.
    private func queueError(_ status: HTTPStatus, statistics: inout HTTPServerStatistics) {
        let response = HTTPResponse.status(status)
        queue(.bytes(encodeResponseHead(response, keepAlive: false, requestVersion: .http11)))
        queue(response.body)
        count(status, in: &statistics)
        phase = .finishing
    }

    private func queue(_ body: HTTPBody) {
        // The send timer runs from when output starts waiting, not from the last write long ago.
        if outbound.isEmpty { lastSendProgress = clock }
        outbound.append(body)
    }

    private func flush(now: Instant, statistics: inout HTTPServerStatistics) {
        guard !outbound.isEmpty, phase != .closed else { return }
        guard let written = outbound.flush({ stream.write($0) }) else {
            // -1: the connection can no longer send (closed for writing or reset).
            statistics.writeFailures += 1
            abort(statistics: &statistics)
            return
        }
        if written > 0 {
            statistics.bytesSent += written
            lastSendProgress = now
            lastActivity = now
        }
    }

    private func abort(statistics: inout HTTPServerStatistics) {
        if stream.isOpen { stream.abort() }
        outbound.removeAll()
        phase = .closed
    }

    private func count(_ status: HTTPStatus, in statistics: inout HTTPServerStatistics) {
        let statusClass = status.statusClass
        if statusClass >= 1 && statusClass <= 5 { statistics.responses[statusClass] += 1 }
    }
}
