import Glibc
import SkiffTLSC

// One TCP connection to an HTTP server, with TLS (OpenSSL, through Sources/SkiffTLSC) for https.
// The socket is non-blocking; every connect, read and write waits in poll(2) for at most the
// client's timeout, so a silent server cannot hang skiff. Writes use MSG_NOSIGNAL (the TLS BIO
// too), so a server that resets the connection is an error, never SIGPIPE.
//
// The certificate is checked right after the handshake and before `write` is ever called: the
// first request may carry a password (the SOAP Login), so a server that fails the check must not
// receive a byte of it.

final class TLSConnection {
    let endpoint: HTTPEndpoint
    let timeout: Double
    private(set) var fd: Int32
    private var tls: OpaquePointer?
    private(set) var peerSHA1: [UInt8]?
    private(set) var peerSHA256: [UInt8]?

    /// Connects to the first address of `endpoint.host` that answers, then shakes hands and checks
    /// the certificate as `verification` says (https only).
    init(endpoint: HTTPEndpoint, verification: TLSVerification, pin: CertificateThumbprint?, timeout: Double) throws(DeployError) {
        self.endpoint = endpoint
        self.timeout = timeout
        fd = try Self.connect(endpoint, timeout: timeout)
        if endpoint.usesTLS {
            do throws(DeployError) {
                try handshake(verification: verification, pin: pin)
            } catch {
                close()
                throw error
            }
        }
    }

    deinit { close() }

    func close() {
        if let tls {
            skiff_tls_free(tls)
            self.tls = nil
        }
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    private var name: String { endpoint.hostAndPort }

    // MARK: - TCP

    private static func connect(_ endpoint: HTTPEndpoint, timeout: Double) throws(DeployError) -> Int32 {
        let name = endpoint.hostAndPort
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw .failure("\(name): cannot resolve the host name (\(reason))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), current.pointee.ai_protocol)
            if fd < 0 {
                lastError = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                return fd
            }
            var error = errno
            if error == EINPROGRESS {
                if !wait(fd: fd, events: Int16(POLLOUT), timeout: timeout) {
                    Glibc.close(fd)
                    lastError = "no answer within \(formatSeconds(timeout))"
                    continue
                }
                var socketError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
                if socketError == 0 { return fd }
                error = socketError
            }
            Glibc.close(fd)
            lastError = error == ECONNREFUSED ? "connection refused" : String(cString: strerror(error))
        }
        throw .failure("\(name): cannot connect (\(lastError))")
    }

    /// Waits until the descriptor is ready for `events`; false when `timeout` seconds pass.
    private static func wait(fd: Int32, events: Int16, timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        while true {
            let left = deadline - monotonicSeconds()
            if left <= 0 { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(min(left * 1000, Double(Int32.max)).rounded(.up))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }  // readiness, or an error/hang-up the next call reports
            if ready < 0, errno != EINTR { return true }
        }
    }

    /// Set when a read or write gave up waiting: the server may still be working on the request,
    /// so it must not be sent again.
    private(set) var timedOut = false

    private func waitOrThrow(_ events: Int16, _ what: String) throws(DeployError) {
        guard Self.wait(fd: fd, events: events, timeout: timeout) else {
            timedOut = true
            throw .failure("\(name): no answer within \(formatSeconds(timeout)) (\(what))")
        }
    }

    // MARK: - TLS

    private func handshake(verification: TLSVerification, pin: CertificateThumbprint?) throws(DeployError) {
        let trust: Int32
        var caFiles: [String] = []
        switch verification {
        case .system: trust = Int32(SKIFF_TLS_TRUST_SYSTEM.rawValue)
        case .caFiles(let paths):
            trust = Int32(SKIFF_TLS_TRUST_CA_FILE.rawValue)
            caFiles = paths
            for path in paths {
                // OpenSSL's three-entry error for a missing file says less than this.
                let probe = open(path, O_RDONLY | O_CLOEXEC)
                guard probe >= 0 else {
                    throw .failure("\(path): cannot read the CA certificates (\(String(cString: strerror(errno))))")
                }
                Glibc.close(probe)
            }
        case .insecure, .thumbprint: trust = Int32(SKIFF_TLS_TRUST_NONE.rawValue)
        }
        let isIP = isIPv4Literal(endpoint.host) || isIPv6Literal(endpoint.host)
        var message = [CChar](repeating: 0, count: 512)
        // C copies of the paths, alive until skiff_tls_new returns (it keeps none of them).
        let paths = caFiles.map { strdup($0) }
        defer { paths.forEach { free($0) } }
        let pathPointers = paths.map { $0.map { UnsafePointer($0) } }
        let created = message.withUnsafeMutableBufferPointer { buffer in
            pathPointers.withUnsafeBufferPointer { files in
                // Both counts are the buffers' sizes; skiff_tls_new reads and writes within them.
                skiff_tls_new(fd, endpoint.host, isIP ? 1 : 0, trust, files.baseAddress, files.count, buffer.baseAddress, buffer.count)
            }
        }
        guard let created else {
            throw .failure("\(name): cannot set up TLS (\(Self.string(message)))")
        }
        tls = created
        while true {
            let result = skiff_tls_handshake(created)
            if result == 1 { break }
            switch Int(result) {
            case SKIFF_TLS_WANT_READ: try waitOrThrow(Int16(POLLIN), "TLS handshake")
            case SKIFF_TLS_WANT_WRITE: try waitOrThrow(Int16(POLLOUT), "TLS handshake")
            default: throw .failure("\(name): TLS handshake failed (\(lastError()))")
            }
        }
        peerSHA1 = fingerprint(sha256: false)
        peerSHA256 = fingerprint(sha256: true)
        try check(verification: verification, pin: pin)
    }

    private func check(verification: TLSVerification, pin: CertificateThumbprint?) throws(DeployError) {
        guard let sha1 = peerSHA1, let sha256 = peerSHA256 else {
            if case .insecure = verification { return }
            throw .failure("\(name): the server presented no certificate")
        }
        switch verification {
        case .insecure:
            return
        case .thumbprint:
            guard let pin else { throw .usage("--thumbprint: no thumbprint given") }
            let actual = pin.algorithm == .sha1 ? sha1 : sha256
            guard actual == pin.bytes else {
                throw .failure("\(name): the server's certificate has \(pin.algorithm.name) thumbprint \(CertificateThumbprint.format(actual)), not the pinned \(pin)")
            }
        case .system, .caFiles:
            guard let tls else { return }
            let result = skiff_tls_verify_result(tls)
            if result == 0 { return }  // X509_V_OK
            let reason = result < 0 ? "no certificate" : String(cString: skiff_tls_verify_error_string(result))
            // X509_V_ERR_HOSTNAME_MISMATCH 62, X509_V_ERR_IP_ADDRESS_MISMATCH 64 (x509_vfy.h)
            let what = result == 62 || result == 64 ? "certificate is not for \(endpoint.host)" : "certificate not trusted"
            throw .failure("\(name): \(what) (\(reason)); pin it with --thumbprint \(CertificateThumbprint.format(sha1)) or pass --insecure")
        }
    }

    private func fingerprint(sha256: Bool) -> [UInt8]? {
        guard let tls else { return nil }
        var digest = [UInt8](repeating: 0, count: 64)
        // 64 bytes holds the largest digest asked for (SHA-256, 32 bytes).
        let length = digest.withUnsafeMutableBufferPointer { skiff_tls_peer_fingerprint(tls, sha256 ? 1 : 0, $0.baseAddress) }
        guard length > 0, length <= digest.count else { return nil }
        return Array(digest[0..<Int(length)])
    }

    private func lastError() -> String {
        guard let tls else { return "no TLS session" }
        var message = [CChar](repeating: 0, count: 512)
        message.withUnsafeMutableBufferPointer { skiff_tls_last_error(tls, $0.baseAddress, $0.count) }
        return Self.string(message)
    }

    private static func string(_ buffer: [CChar]) -> String {
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Reading and writing

    /// Writes all of `bytes`, waiting at most the timeout each time the socket is not writable.
    func write(_ bytes: UnsafeRawBufferPointer) throws(DeployError) {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let rest = base + offset  // offset < bytes.count: in bounds
            let count = bytes.count - offset
            if let tls {
                let result = skiff_tls_write(tls, rest, count)
                if result > 0 {
                    offset += result
                    continue
                }
                switch Int(result) {
                case SKIFF_TLS_WANT_READ: try waitOrThrow(Int16(POLLIN), "sending")
                case SKIFF_TLS_WANT_WRITE: try waitOrThrow(Int16(POLLOUT), "sending")
                default: throw .failure("\(name): sending failed (\(lastError()))")
                }
            } else {
                let sent = send(fd, rest, count, Int32(MSG_NOSIGNAL))
                if sent > 0 {
                    offset += sent
                    continue
                }
                let error = errno
                if sent < 0, error == EAGAIN || error == EWOULDBLOCK || error == EINTR {
                    try waitOrThrow(Int16(POLLOUT), "sending")
                    continue
                }
                throw .failure("\(name): sending failed (\(String(cString: strerror(error))))")
            }
        }
    }

    /// `write(_:)` for bytes in an array.
    func write(_ bytes: ArraySlice<UInt8>) throws(DeployError) {
        var failure: DeployError?
        bytes.withUnsafeBytes { raw in
            do throws(DeployError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// `read(into:)` into an array's bytes.
    func read(into buffer: inout [UInt8]) throws(DeployError) -> Int {
        var result: Result<Int, DeployError> = .success(0)
        buffer.withUnsafeMutableBytes { raw in
            do throws(DeployError) { result = .success(try read(into: raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Reads what is available, up to `buffer.count` bytes, waiting at most the timeout for the
    /// first byte. Returns 0 when the server has closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DeployError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            if let tls {
                let result = skiff_tls_read(tls, base, buffer.count)
                if result > 0 { return result }
                switch Int(result) {
                case SKIFF_TLS_CLOSED: return 0
                case SKIFF_TLS_WANT_READ: try waitOrThrow(Int16(POLLIN), "waiting for the response")
                case SKIFF_TLS_WANT_WRITE: try waitOrThrow(Int16(POLLOUT), "waiting for the response")
                default: throw .failure("\(name): receiving failed (\(lastError()))")
                }
            } else {
                let received = recv(fd, base, buffer.count, 0)
                if received >= 0 { return received }
                let error = errno
                if error == EAGAIN || error == EWOULDBLOCK || error == EINTR {
                    try waitOrThrow(Int16(POLLIN), "waiting for the response")
                    continue
                }
                throw .failure("\(name): receiving failed (\(String(cString: strerror(error))))")
            }
        }
    }

    /// True when the server has closed (or reset) an idle connection, or sent bytes nobody asked
    /// for; either way it cannot carry the next request. Never blocks.
    func isStale() -> Bool {
        guard fd >= 0 else { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) != 0
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() && seconds < 1e9 ? "\(Int(seconds)) s" : "\(seconds) s"
}
