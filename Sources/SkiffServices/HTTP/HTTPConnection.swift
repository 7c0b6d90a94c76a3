import SkiffPlatform
import SkiffStack

// One connection's state machine. Each `step` writes what is queued, reads and answers requests
// (in order, so pipelined requests get their responses in order), then checks its timers. Nothing
// blocks: a slow peer only ever delays its own connection.
//
//   open ──(Connection: close, HTTP/1.0, parse error, 408, peer FIN)──> finishing
//   finishing ──(everything written; shutdownWrite)──> lingering
//   lingering ──(peer FIN, or the linger cap)──> closed (close)
//   any ──(reset, write refused, send timeout, a streamed body that fails)──> closed (abort)
//
// While a streamed body is being sent the connection reads no further requests (pipelined ones
// wait in the stream's receive buffer), so a connection holds at most one producer.

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
    /// The Date value for responses made in this step.
    private var date: [UInt8]? = nil

    init(stream: any StreamConnection, limits: HTTPLimits, now: Instant) {
        self.stream = stream
        parser = HTTPRequestParser(limits: limits)
        lastActivity = now
        lastSendProgress = now
        clock = now
    }

    /// Bytes in memory queued for the peer (a streamed body being sent is not counted).
    var pendingOutput: Int { outbound.count }
    /// Whether a streamed body is queued or being sent.
    var isStreaming: Bool { outbound.streams > 0 }

    /// Makes progress; returns when to be called again (`now` when work is left for the next
    /// step), or nil once closed. `date` is the Date field's value for responses made now (nil:
    /// no clock); `scratch` is the server's buffer for assembling chunks.
    func step(now: Instant, date: [UInt8]?, configuration: HTTPServerConfiguration, handler: HTTPHandler,
              scratch: inout [UInt8], statistics: inout HTTPServerStatistics) -> Instant? {
        clock = now
        self.date = date
        var moreWork = false
        if flush(now: now, configuration: configuration, scratch: &scratch, statistics: &statistics) { moreWork = true }
        switch phase {
        case .open:
            if readRequests(now: now, configuration: configuration, handler: handler, statistics: &statistics) {
                moreWork = true
            }
        case .finishing, .lingering:
            drain(now: now, configuration: configuration, statistics: &statistics)
        case .closed:
            break
        }
        let blockedBeforeFlush = readingBlocked(configuration)
        if flush(now: now, configuration: configuration, scratch: &scratch, statistics: &statistics) { moreWork = true }
        // Output that held back pipelined requests has gone: read them now, not at the next event.
        if phase == .open && blockedBeforeFlush && !readingBlocked(configuration) { moreWork = true }
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
                _ = flush(now: now, configuration: configuration, scratch: &scratch, statistics: &statistics)
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
            if readingBlocked(configuration) { return false }
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

    /// Whether queued output keeps further requests from being read: too many bytes queued, or
    /// a streamed body not yet sent.
    private func readingBlocked(_ configuration: HTTPServerConfiguration) -> Bool {
        outbound.count >= configuration.outputHighWater || outbound.streams > 0
    }

    private func answer(_ request: HTTPRequest, handler: HTTPHandler, statistics: inout HTTPServerStatistics) {
        statistics.requests += 1
        let response = handler(request)
        let framing = BodyFraming(status: response.status, body: response.body, requestVersion: request.version)
        // RFC 9112 §9.6: after a response with "close", no further requests are processed; a
        // close-delimited body ends only when the connection does.
        let keepAlive = request.keepAlive && !response.closeConnection && !peerClosed && framing != .close
        let head = encodeResponseHead(response, framing: framing, keepAlive: keepAlive,
                                      requestVersion: request.version, date: date)
        queue(.bytes(head))
        // RFC 9110 §9.3.2: HEAD gets the GET response's fields without its content (a streamed
        // body is then never produced).
        if request.method != .head && framing != .none {
            if case .stream(let producer) = response.body {
                outbound.append(stream: producer, framing: framing)
                statistics.streamedResponses += 1
            } else {
                queue(response.body)
            }
        }
        count(response.status, in: &statistics)
        if !keepAlive { phase = .finishing }
    }

    /// Queues an error response with `Connection: close` and stops reading requests.
    private func queueError(_ status: HTTPStatus, statistics: inout HTTPServerStatistics) {
        let response = HTTPResponse.status(status)
        queue(.bytes(encodeResponseHead(response, framing: .contentLength(response.body.count), keepAlive: false,
                                        requestVersion: .http11, date: date)))
        queue(response.body)
        count(status, in: &statistics)
        phase = .finishing
    }

    private func queue(_ body: HTTPBody) {
        // The send timer runs from when output starts waiting, not from the last write long ago.
        if outbound.isEmpty { lastSendProgress = clock }
        outbound.append(body)
    }

    /// Writes what the stream takes. Returns whether output that the stream may still take was
    /// left for another step (the per-step write budget ran out).
    private func flush(now: Instant, configuration: HTTPServerConfiguration, scratch: inout [UInt8],
                       statistics: inout HTTPServerStatistics) -> Bool {
        guard !outbound.isEmpty, phase != .closed else { return false }
        let stream = self.stream
        let result = outbound.flush(budget: configuration.writeBytesPerStep, scratch: &scratch,
                                    room: { stream.writableBytes }, write: { stream.write($0) })
        if result.written > 0 {
            statistics.bytesSent += result.written
            lastSendProgress = now
            lastActivity = now
        }
        switch result.failure {
        case .refused?:
            // -1: the connection can no longer send (closed for writing or reset).
            statistics.writeFailures += 1
            abort(statistics: &statistics)
            return false
        case .bodyFailed?:
            // Headers are out: closing abruptly is the only way to tell the peer the body is
            // incomplete (RFC 9112 §6.3, §7.1).
            statistics.bodyFailures += 1
            abort(statistics: &statistics)
            return false
        case nil:
            return result.budgetExhausted
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
