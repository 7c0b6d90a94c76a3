import SkiffPlatform
import SkiffStack

/// How an `HTTPServer` bounds its work and its peers.
public struct HTTPServerConfiguration {
    /// What one request may cost (line, header and content sizes).
    public var limits: HTTPLimits
    /// Connections served at once; further ones wait in the listener's backlog.
    public var maxConnections: Int
    /// A connection with no request in progress and nothing to send closes after this.
    public var idleTimeout: Interval
    /// A request must arrive whole (head and content) within this of its first byte: 408, close.
    public var requestTimeout: Interval
    /// Queued output that makes no progress for this long: the connection is aborted.
    public var sendTimeout: Interval
    /// After the last response and our FIN, how long to wait for the peer's FIN (hard cap).
    public var lingerTimeout: Interval
    /// Requests answered per connection per step (fairness between connections).
    public var requestsPerStep: Int
    /// Bytes read per connection per step.
    public var bytesPerStep: Int
    /// Above this many queued output bytes a connection stops reading further requests.
    public var outputHighWater: Int
    /// Bytes written per connection per step, about (fairness while bodies stream; the stream's
    /// send buffer usually stops the writes first).
    public var writeBytesPerStep: Int

    public init(limits: HTTPLimits = HTTPLimits(), maxConnections: Int = 64,
                idleTimeout: Interval = .seconds(30), requestTimeout: Interval = .seconds(15),
                sendTimeout: Interval = .seconds(30), lingerTimeout: Interval = .seconds(2),
                requestsPerStep: Int = 16, bytesPerStep: Int = 65536, outputHighWater: Int = 65536,
                writeBytesPerStep: Int = 1 << 20) {
        self.limits = limits
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.sendTimeout = sendTimeout
        self.lingerTimeout = lingerTimeout
        self.requestsPerStep = requestsPerStep
        self.bytesPerStep = bytesPerStep
        self.outputHighWater = outputHighWater
        self.writeBytesPerStep = writeBytesPerStep
    }
}

/// Counters kept by an `HTTPServer`.
public struct HTTPServerStatistics: Equatable, Sendable {
    public var accepted = 0
    public var closed = 0
    public var openConnections = 0
    /// Complete requests handed to the handler.
    public var requests = 0
    /// Responses by status class: `responses[2]` counts 2xx (index 0 unused).
    public var responses = [Int](repeating: 0, count: 6)
    /// Refused requests by kind, indexed by `HTTPRequestError.rawValue`.
    public var requestErrors = [Int](repeating: 0, count: HTTPRequestError.allCases.count)
    public var idleTimeouts = 0
    public var requestTimeouts = 0
    public var sendTimeouts = 0
    public var lingerTimeouts = 0
    /// Connections the peer reset.
    public var resets = 0
    /// Writes the stream refused (-1).
    public var writeFailures = 0
    /// Peers that sent FIN in the middle of a request.
    public var incompleteRequests = 0
    /// Responses whose body was streamed from a producer.
    public var streamedResponses = 0
    /// Streamed bodies that failed or ended before their Content-Length (connection aborted).
    public var bodyFailures = 0
    public var bytesReceived = 0
    public var bytesSent = 0

    public init() {}

    /// Refused requests of one kind.
    public func errors(_ kind: HTTPRequestError) -> Int { requestErrors[Int(kind.rawValue)] }
    /// Responses of one status class (1...5).
    public func responses(class statusClass: Int) -> Int {
        statusClass >= 1 && statusClass <= 5 ? responses[statusClass] : 0
    }
}

/// An HTTP/1.1 server (RFC 9110, RFC 9112) on a `StreamListener`: accepts connections up to a
/// limit and drives each one's state machine from `step(now:date:)`, called from the application
/// loop. Handlers are synchronous: each request is answered in the step that completes it (a
/// streamed body is then sent over the following steps). The server reads no clock: the loop
/// hands it the monotonic time and, when the platform has one, the wall clock for Date fields.
public final class HTTPServer {
    public let configuration: HTTPServerConfiguration
    public private(set) var statistics = HTTPServerStatistics()
    /// Called with one line per refused request or abnormal close, e.g. for the console.
    public var log: ((String) -> Void)? = nil

    private let listener: any StreamListener
    private let handler: HTTPHandler
    private var connections: [HTTPConnection] = []
    private var listening = true
    private var dateCache = HTTPDateCache()
    /// Where connections assemble chunks of streamed bodies (one at a time: holds nothing between uses).
    private var scratch: [UInt8] = []

    /// The most connections accepted per step.
    public static let acceptsPerStep = 32

    public init(listener: any StreamListener, configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
                handler: @escaping HTTPHandler) {
        self.listener = listener
        self.configuration = configuration
        self.handler = handler
    }

    public convenience init(listener: any StreamListener, router: HTTPRouter,
                            configuration: HTTPServerConfiguration = HTTPServerConfiguration()) {
        self.init(listener: listener, configuration: configuration) { request in router.respond(to: request) }
    }

    public var port: UInt16 { listener.localPort }
    public var openConnections: Int { connections.count }

    /// Accepts, reads, answers, writes and runs timers. `date` is the wall clock
    /// (`Platform.wallClock()`): responses carry a Date field when it is given (RFC 9110 §6.6.1),
    /// formatted once per second. Returns the earliest deadline of any connection (`now` when work
    /// is left over for another step), or nil when there is none.
    @discardableResult
    public func step(now: Instant, date: UnixTime?) -> Instant? {
        let dateValue = dateCache.value(for: date)
        var deadline: Instant? = nil
        if listening {
            var accepted = 0
            while connections.count < configuration.maxConnections, accepted < HTTPServer.acceptsPerStep,
                  let stream = listener.accept() {
                accepted += 1
                statistics.accepted += 1
                connections.append(HTTPConnection(stream: stream, limits: configuration.limits, now: now))
            }
            if accepted == HTTPServer.acceptsPerStep { deadline = now }
        }
        var closedAny = false
        for connection in connections {
            let before = statistics
            let wanted = connection.step(now: now, date: dateValue, configuration: configuration, handler: handler,
                                         scratch: &scratch, statistics: &statistics)
            if log != nil { report(connection, before: before) }
            if let wanted {
                deadline = min(deadline ?? wanted, wanted)
            } else {
                closedAny = true
            }
        }
        if closedAny {
            let before = connections.count
            connections.removeAll { $0.phase == .closed }
            statistics.closed += before - connections.count
        }
        statistics.openConnections = connections.count
        return deadline
    }

    /// `step(now:date:)` without a clock: responses carry no Date field.
    @discardableResult
    public func step(now: Instant) -> Instant? { step(now: now, date: nil) }

    /// How many times the Date value was formatted (at most once per second of `date`).
    public var dateFormats: Int { dateCache.formatCount }

    /// Stops accepting; open connections finish the response being written, then close.
    public func close() {
        if listening {
            listener.close()
            listening = false
        }
        for connection in connections { connection.finish() }
    }

    private func report(_ connection: HTTPConnection, before: HTTPServerStatistics) {
        guard let log, before != statistics else { return }
        let peer = "\(connection.stream.remoteAddress):\(connection.stream.remotePort)"
        for kind in HTTPRequestError.allCases where statistics.errors(kind) > before.errors(kind) {
            log("http: \(peer): \(kind.status.code) \(kind.name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) })")
        }
        if statistics.requestTimeouts > before.requestTimeouts { log("http: \(peer): 408 request timeout") }
        if statistics.sendTimeouts > before.sendTimeouts { log("http: \(peer): send timeout, aborted") }
        if statistics.resets > before.resets { log("http: \(peer): reset by peer") }
        if statistics.writeFailures > before.writeFailures { log("http: \(peer): write refused, aborted") }
        if statistics.bodyFailures > before.bodyFailures { log("http: \(peer): streamed body failed, aborted") }
    }
}
