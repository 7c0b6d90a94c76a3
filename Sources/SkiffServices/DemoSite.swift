import SkiffPlatform
import SkiffStack

// The small demo site that Examples/web (in the kernel) and `skiff run hosted --http-port` (as a
// Linux process) both serve, so tests and benchmarks see the same pages in both places:
//   /, /index.html, /style.css   static assets with ETags (the built-in pages, or the assets
//                                the application passes, e.g. those `skiff build` packed)
//   /api/status                  JSON: uptime, requests, the stack's TCP connection count and the
//                                HTTP and TCP echo services' open connections
//   /bytes/N                     N deterministic bytes (`DemoSite.streamByte`) with Content-Length,
//                                N <= `bytesLimit`, streamed (no buffer of N bytes), for
//                                hash-checked downloads
//   /chunked/N                   the same bytes without a Content-Length: chunked for HTTP/1.1,
//                                close-delimited for HTTP/1.0

/// The demo site's router and state.
public final class DemoSite {
    /// Routes for an `HTTPServer`.
    public let router = HTTPRouter()
    /// `/api/status` requests answered.
    public private(set) var statusRequests = 0
    /// The largest N `/bytes/N` and `/chunked/N` serve.
    public let bytesLimit: Int
    /// Reported in `/api/status` when set.
    public var server: HTTPServer? = nil
    public var echo: TCPEchoService? = nil

    private let stack: NetworkStack
    private let now: () -> Instant
    private let started: Instant
    /// One period of the `/bytes` stream, made on first use; every response streams from it.
    private var period: StreamPeriod? = nil

    /// The period of the `/bytes` stream: a prime, so it never lines up with segment sizes.
    public static let streamPeriod = 65_521

    /// `now` is the platform's clock; `bytesLimit` bounds `/bytes/N` (1 TiB by default: the
    /// bytes are streamed, so N costs no memory). `assets` are the pages to serve (the built-in
    /// `DemoSite.assets()` when nil or empty).
    public init(stack: NetworkStack, now: @escaping () -> Instant, bytesLimit: Int = 1 << 40,
                assets: StaticAssets? = nil) {
        precondition(bytesLimit >= 0, "DemoSite.bytesLimit must not be negative")
        self.stack = stack
        self.now = now
        self.bytesLimit = bytesLimit
        started = now()
        // The routes hold the site strongly (Embedded Swift has no weak or unowned references):
        // the site lives as long as the program, as a unikernel's services do.
        router.get("/api/status") { _ in self.status() }
        router.route(.get, prefix: "/bytes") { request in self.bytes(request, prefix: 7, announceLength: true) }
        router.route(.get, prefix: "/chunked") { request in self.bytes(request, prefix: 9, announceLength: false) }
        if let assets, assets.count > 0 {
            router.serve(assets, at: "/")
        } else {
            router.serve(DemoSite.assets(), at: "/")
        }
    }

    /// The static pages.
    public static func assets() -> StaticAssets {
        var site = StaticAssets()
        site.add(path: "/index.html", text: """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><title>Skiff</title><link rel="stylesheet" href="/style.css"></head>
            <body>
            <h1>Hello from Skiff</h1>
            <p>This page is served by a Swift unikernel: no operating system inside the VM, just the
            application, Skiff's TCP/IP stack and its drivers.</p>
            <p><a href="/api/status">/api/status</a> answers in JSON; <code>/bytes/N</code> sends N
            deterministic bytes.</p>
            </body>
            </html>

            """)
        site.add(path: "/style.css", text: """
            body { font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5; }
            h1 { color: #0b5394; }

            """)
        return site
    }

    private func status() -> HTTPResponse {
        statusRequests += 1
        let uptime = (now() - started).nanoseconds / 1_000_000
        var json = "{\"service\":\"skiff-web\",\"uptime_ms\":\(uptime),\"requests\":\(statusRequests)"
        json += ",\"tcp_connections\":\(stack.tcpConnectionCount)"
        if let server {
            // Not `server.statistics`: the server is in the middle of updating them (this runs
            // inside its step), and Swift's exclusivity rules forbid reading them now.
            json += ",\"http_connections\":\(server.openConnections)"
        }
        if let echo {
            let s = echo.statistics
            json += ",\"echo_connections\":\(s.openConnections),\"echo_bytes\":\(s.bytes)"
        }
        return .json(json + "}\n")
    }

    /// `/bytes/N` and `/chunked/N`: the first N bytes of the stream, `application/octet-stream`,
    /// streamed from one period of it.
    private func bytes(_ request: HTTPRequest, prefix: Int, announceLength: Bool) -> HTTPResponse {
        let path = request.path
        guard path.count > prefix, path.count <= prefix + 13 else { return .status(.notFound) }
        var count = 0
        for byte in path[prefix...] {
            guard byte >= 0x30 && byte <= 0x39 else { return .status(.notFound) }
            count = count * 10 + Int(byte - 0x30)
        }
        guard count <= bytesLimit else {
            return .text("at most \(bytesLimit) bytes\n", status: .badRequest)
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/octet-stream")
        let period: StreamPeriod
        if let existing = self.period {
            period = existing
        } else {
            period = StreamPeriod()
            self.period = period
        }
        return HTTPResponse(status: .ok, headers: headers,
                            body: .stream(PatternProducer(period: period, count: count, announceLength: announceLength)))
    }

    /// Byte `index` of the `/bytes` stream (replays the generator: for tests).
    public static func streamByte(_ index: Int) -> UInt8 {
        var generator = StreamGenerator()
        var byte: UInt8 = 0
        for _ in 0...(index % streamPeriod) { byte = generator.next() }
        return byte
    }

    /// The bytes of one period of the stream: byte i is the top byte of the (i+1)th state of
    /// xorshift32 (shifts 13, 17, 5) from 0x9E3779B9. In Python:
    ///   x = 0x9E3779B9; x ^= x << 13 & 0xFFFFFFFF; x ^= x >> 17; x ^= x << 5 & 0xFFFFFFFF; byte = x >> 24
    struct StreamGenerator {
        var x: UInt32 = 0x9E37_79B9
        mutating func next() -> UInt8 {
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            return UInt8(truncatingIfNeeded: x >> 24)
        }
    }
}

/// One period of the `/bytes` stream, shared by every response (read-only once made).
final class StreamPeriod {
    let bytes: [UInt8]

    init() {
        var generator = DemoSite.StreamGenerator()
        var bytes = [UInt8](repeating: 0, count: DemoSite.streamPeriod)
        for i in 0..<bytes.count { bytes[i] = generator.next() }
        self.bytes = bytes
    }
}

/// The first `count` bytes of the `/bytes` stream, offered straight from the period (no copy).
final class PatternProducer: HTTPBodyProducer {
    let period: StreamPeriod
    let count: Int
    let announceLength: Bool
    /// Bytes taken so far.
    private(set) var position = 0

    init(period: StreamPeriod, count: Int, announceLength: Bool) {
        self.period = period
        self.count = count
        self.announceLength = announceLength
    }

    var length: Int? { announceLength ? count : nil }

    func produce(limit: Int, into body: (UnsafeRawBufferPointer) -> Int) -> HTTPBodyProduction {
        guard position < count else { return .end }
        let start = position % period.bytes.count
        let n = min(limit, count - position, period.bytes.count - start)
        let taken = period.bytes.withUnsafeBytes { bytes in
            // In bounds: start + n <= bytes.count.
            body(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + n)]))
        }
        position += min(max(taken, 0), n)
        return .offered
    }
}
