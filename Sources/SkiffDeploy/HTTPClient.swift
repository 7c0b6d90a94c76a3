import Glibc

/// An HTTP/1.1 client for one server (vCenter's or ESXi's /sdk and /folder): requests one at a
/// time over a kept-alive connection, HTTPS through OpenSSL (TLSConnection.swift) with the
/// certificate checked as `TLSVerification` says before any byte of a request is sent, and
/// responses read by `HTTPResponseParser`. Every failure is a `DeployError` of one line naming
/// host:port; network, TLS and server problems are `.failure`, a malformed pin is `.usage`.
public final class HTTPClient {
    public let endpoint: HTTPEndpoint
    public let verification: TLSVerification
    public let timeout: Double
    private var connection: TLSConnection?

    /// "AA:BB:..." of the server certificate's SHA-1 digest, after a TLS handshake.
    public private(set) var peerSHA1: String?
    /// "AA:BB:..." of the server certificate's SHA-256 digest, after a TLS handshake.
    public private(set) var peerSHA256: String?
    /// TCP connections opened so far (a kept-alive connection is reused, so this stays low).
    public private(set) var connectionsOpened = 0

    /// `timeout`: the seconds of silence allowed while connecting and in each wait to send or
    /// receive (a slow but steady upload never times out).
    public init(endpoint: HTTPEndpoint, verification: TLSVerification = .system, timeout: Double = 60) {
        self.endpoint = endpoint
        self.verification = verification
        self.timeout = timeout
    }

    deinit { close() }

    public func close() {
        connection?.close()
        connection = nil
    }

    /// Sends one request on a kept-alive connection (connects, or reconnects once if the
    /// kept-alive connection was closed by the server before any byte of the response arrived).
    /// A request that was written whole is sent again only when its method is idempotent (RFC 9110
    /// §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE), or when `resendAfterWritten` says so: the
    /// server may have carried out a POST (a CreateVM_Task) before its connection died, so that
    /// becomes an error saying so instead of a second VM. A request cut off while it was written
    /// is always sent again (a server cannot act on part of a request with a Content-Length).
    /// Adds Host, Content-Length (none for `.none`), User-Agent: skiff and Connection: keep-alive,
    /// unless the request has them already. `progress(sent, total)` is called while a `.file` body
    /// uploads, at most about ten times a second, and once at the end; an error it throws ends
    /// the request (the connection is closed) and is thrown by `send`. `progress` must not use
    /// this client: a request sent from inside it would land in the middle of the body, so that
    /// is an error.
    public func send(_ request: HTTPRequest, maxBodyBytes: Int = 64 << 20, resendAfterWritten: Bool? = nil,
                     progress: ((UInt64, UInt64) throws(DeployError) -> Void)? = nil) throws(DeployError) -> HTTPResponse {
        guard !sending else {
            throw .failure("\(endpoint.hostAndPort): \(request.method) \(request.target) sent while another request is under way on the same connection")
        }
        sending = true
        defer { sending = false }
        try Self.check(request)
        var pin: CertificateThumbprint?
        if case .thumbprint(let text) = verification { pin = try CertificateThumbprint(text) }
        let source = try BodySource(request.body)
        defer { source.close() }
        let head = Self.head(of: request, endpoint: endpoint, contentLength: source.length)

        if let reused = connection {
            if reused.isStale() {
                close()
            } else {
                switch try exchange(on: reused, head: head, source: source, isHEAD: request.method == "HEAD", maxBodyBytes: maxBodyBytes, progress: progress) {
                case .response(let response): return response
                case .closedBeforeResponse(let error, let written):
                    close()
                    // The server dropped the idle connection: once more, unless it may have acted.
                    if written && !(resendAfterWritten ?? Self.idempotentMethods.contains(request.method)) {
                        throw .failure("\(endpoint.hostAndPort): the connection closed after the \(request.method) request was sent, before any response (\(error.message)); not sent again, as the server may have carried it out")
                    }
                }
            }
        }
        let fresh = try TLSConnection(endpoint: endpoint, verification: verification, pin: pin, timeout: timeout)
        connectionsOpened += 1
        connection = fresh
        peerSHA1 = fresh.peerSHA1.map(CertificateThumbprint.format)
        peerSHA256 = fresh.peerSHA256.map(CertificateThumbprint.format)
        switch try exchange(on: fresh, head: head, source: source, isHEAD: request.method == "HEAD", maxBodyBytes: maxBodyBytes, progress: progress) {
        case .response(let response): return response
        case .closedBeforeResponse(let error, _):
            close()
            throw error
        }
    }

    /// RFC 9110 §9.2.2.
    static let idempotentMethods: Set<String> = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]

    /// True while `send` runs (a progress callback must not send on this client).
    private var sending = false

    private enum Outcome {
        case response(HTTPResponse)
        /// The connection failed or closed before any byte of the response arrived (not a
        /// timeout); `written`: the whole request had been written.
        case closedBeforeResponse(DeployError, written: Bool)
    }

    /// Writes the request and reads the response. A connection that fails before any byte of the
    /// response arrived, other than by a timeout, is `.closedBeforeResponse` (the caller decides
    /// whether to retry).
    private func exchange(on connection: TLSConnection, head: [UInt8], source: BodySource, isHEAD: Bool, maxBodyBytes: Int,
                          progress: ((UInt64, UInt64) throws(DeployError) -> Void)?) throws(DeployError) -> Outcome {
        var parser = HTTPResponseParser(requestWasHEAD: isHEAD, limits: .init(maxBodyBytes: maxBodyBytes))
        var sendError: DeployError?
        do throws(DeployError) {
            try source.rewind()
            try source.send(head: head, over: connection, progress: progress)
        } catch {
            if connection.timedOut || source.readFailed || source.stoppedByProgress {
                close()
                throw error
            }
            // The server may have answered early (401, 413) and closed: read what it sent.
            sendError = error
        }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count: Int
            do throws(DeployError) {
                count = try connection.read(into: &buffer)
            } catch {
                close()
                if !parser.receivedAny, !connection.timedOut { return .closedBeforeResponse(sendError ?? error, written: sendError == nil) }
                throw error
            }
            if count == 0 {
                if !parser.receivedAny {
                    return .closedBeforeResponse(sendError ?? .failure("\(endpoint.hostAndPort): the server closed the connection without a response"),
                                                 written: sendError == nil)
                }
                close()
                do throws(HTTPParseError) {
                    return .response(try parser.finish())
                } catch {
                    throw .failure("\(endpoint.hostAndPort): \(error.message)")
                }
            }
            do throws(HTTPParseError) {
                let response = try parser.feed(buffer[0..<min(count, buffer.count)])
                if let response {
                    if sendError != nil || !parser.connectionReusable { close() }
                    return .response(response)
                }
            } catch {
                close()
                throw .failure("\(endpoint.hostAndPort): malformed response (\(error.message))")
            }
        }
    }

    // MARK: - The request head

    private static func check(_ request: HTTPRequest) throws(DeployError) {
        let method = Array(request.method.utf8)
        guard !method.isEmpty, method.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A || $0 == UInt8(ascii: "-") }) else {
            throw .failure("HTTP request: not a method: \(request.method)")
        }
        let target = Array(request.target.utf8)
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .failure("HTTP request: the target must start with / and have no spaces or control characters (percent-encode them): \(request.target)")
        }
        for (name, value) in request.headers {
            let nameBytes = Array(name.utf8)
            guard !nameBytes.isEmpty, nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }),
                  !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
            else {
                throw .failure("HTTP request: header \(name) has a character not allowed in a header")
            }
        }
    }

    static func head(of request: HTTPRequest, endpoint: HTTPEndpoint, contentLength: UInt64?) -> [UInt8] {
        var lines = ["\(request.method) \(request.target) HTTP/1.1"]
        func has(_ name: String) -> Bool { request.headers.contains { asciiCaseInsensitiveEqual($0.name, name) } }
        if !has("Host") { lines.append("Host: \(endpoint.hostHeader)") }
        if !has("User-Agent") { lines.append("User-Agent: skiff") }
        if !has("Connection") { lines.append("Connection: keep-alive") }
        if let contentLength, !has("Content-Length") { lines.append("Content-Length: \(contentLength)") }
        for (name, value) in request.headers { lines.append("\(name): \(value)") }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
}

/// A request body as the client sends it: bytes in memory, or a file streamed in 256 KiB pieces.
private final class BodySource {
    private let body: HTTPBody
    private var fd: Int32 = -1
    private(set) var length: UInt64?
    let path: String
    /// The file could not be read: the request cannot be completed on any connection.
    private(set) var readFailed = false
    /// The progress callback threw: the caller wants the request to end.
    private(set) var stoppedByProgress = false

    init(_ body: HTTPBody) throws(DeployError) {
        self.body = body
        switch body {
        case .none:
            length = nil
            path = ""
        case .bytes(let bytes):
            length = UInt64(bytes.count)
            path = ""
        case .file(let path):
            self.path = path
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .failure("\(path): cannot open (\(String(cString: strerror(errno))))") }
            var status = stat()
            guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
                Glibc.close(fd)
                fd = -1
                throw .failure("\(path): not a regular file")
            }
            length = UInt64(status.st_size)
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func rewind() throws(DeployError) {
        if fd >= 0, lseek(fd, 0, SEEK_SET) != 0 {
            throw .failure("\(path): cannot seek (\(String(cString: strerror(errno))))")
        }
    }

    func send(head: [UInt8], over connection: TLSConnection, progress: ((UInt64, UInt64) throws(DeployError) -> Void)?) throws(DeployError) {
        switch body {
        case .none:
            try connection.write(head[...])
        case .bytes(let bytes):
            // Small bodies go with the head in one write (one TLS record, one segment).
            if bytes.count <= 64 << 10 {
                try connection.write((head + bytes)[...])
            } else {
                try connection.write(head[...])
                try connection.write(bytes[...])
            }
        case .file:
            try connection.write(head[...])
            let total = length ?? 0
            var sent: UInt64 = 0
            var lastReport = monotonicSeconds()
            var chunk = [UInt8](repeating: 0, count: 256 << 10)
            while sent < total {
                let want = Int(min(UInt64(chunk.count), total - sent))
                let count = chunk.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress, want) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    let reason = count < 0 ? String(cString: strerror(errno)) : "it became shorter while it was sent"
                    readFailed = true
                    throw .failure("\(path): cannot read (\(reason))")
                }
                try connection.write(chunk[0..<count])
                sent += UInt64(count)
                if let progress {
                    let now = monotonicSeconds()
                    if now - lastReport >= 0.1 || sent == total {
                        lastReport = now
                        try report(progress, sent, total)
                    }
                }
            }
            if total == 0, let progress { try report(progress, 0, 0) }
        }
    }

    private func report(_ progress: (UInt64, UInt64) throws(DeployError) -> Void, _ sent: UInt64, _ total: UInt64) throws(DeployError) {
        do {
            try progress(sent, total)
        } catch {
            stoppedByProgress = true
            throw error
        }
    }
}
