import Foundation
import Glibc
import XCTest
@testable import SkiffDeploy

/// HTTPClient against real peers on 127.0.0.1: python3's http.server, wrapped in TLS with a
/// self-signed certificate made by the openssl command (both from Scripts/deps.sh test; a missing
/// tool fails the test, it never skips). The server logs each accepted connection, whether the
/// connection's first read saw request bytes or the end, and each request line, to a file.
final class HTTPClientTests: XCTestCase {
    private static let serverScript = #"""
    import hashlib, http.server, os, ssl, sys, threading, time
    mode, certificate, key, log_path, port_path = sys.argv[1:6]
    lock = threading.Lock()
    parent = os.getppid()
    def watchdog():
        # Ends with the test process, even when it dies before its tearDown.
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watchdog, daemon=True).start()
    def log(line):
        with lock, open(log_path, "a") as f:
            f.write(line + "\n")
    context = None
    if mode == "tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args):
            pass
        def handle(self):
            try:
                first = self.rfile.peek(1)
            except Exception as error:
                log("first-read error " + type(error).__name__)
                return
            log("first-read data" if first else "first-read eof")
            if first:
                super().handle()
        def reply(self, body, status=200, extra=()):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            log("request " + self.requestline)
            if self.path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for part in (b"hello ", b"chunked ", b"world"):
                    self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
                return
            self.reply(b"hello " + self.path.encode(), extra=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        def do_HEAD(self):
            log("request " + self.requestline)
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
        def do_PUT(self):
            log("request " + self.requestline)
            if self.path == "/reject":
                # Answers before reading the body and closes: the client is still sending.
                self.close_connection = True
                self.reply(b"too large", status=413, extra=[("Connection", "close")])
                return
            remaining = int(self.headers["Content-Length"])
            digest, total = hashlib.sha256(), 0
            while remaining:
                data = self.rfile.read(min(remaining, 1 << 16))
                if not data:
                    break
                digest.update(data)
                total += len(data)
                remaining -= len(data)
            self.reply(("%d %s" % (total, digest.hexdigest())).encode())
    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        def get_request(self):
            connection, address = self.socket.accept()
            log("accept")
            if context is not None:
                connection = context.wrap_socket(connection, server_side=True)
            return connection, address
    server = Server(("127.0.0.1", 0), Handler)
    with open(port_path + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_path + ".tmp", port_path)
    server.serve_forever()
    """#

    private struct Peer {
        var process: Process
        var port: Int
        var log: String
    }

    private static var directory: String?
    private static var certificateSHA1 = ""
    private static var certificateSHA256 = ""
    private var peers: [Peer] = []

    private var certificate: String { (Self.directory ?? "/nonexistent") + "/cert.pem" }

    /// Runs a tool found on PATH; its standard output, or a failure naming the tool.
    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DeployError.failure("\(arguments[0]) failed (exit \(process.terminationStatus); 127: not installed, Scripts/deps.sh test installs it): \(arguments.joined(separator: " "))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The certificate and key, made once for all tests of this class.
    private func makeCertificate() throws {
        if Self.directory != nil { return }
        let directory = NSTemporaryDirectory() + "skiff-http-tests-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem"])
        func fingerprint(_ digest: String) throws -> String {
            let line = try Self.run(["openssl", "x509", "-in", directory + "/cert.pem", "-noout", "-fingerprint", "-" + digest])
            guard let equals = line.firstIndex(of: "=") else { throw DeployError.failure("openssl x509: \(line)") }
            return line[line.index(after: equals)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        Self.certificateSHA1 = try fingerprint("sha1")
        Self.certificateSHA256 = try fingerprint("sha256")
        Self.directory = directory
    }

    override func setUpWithError() throws {
        try makeCertificate()
    }

    override func tearDown() {
        for peer in peers {
            kill(peer.process.processIdentifier, SIGTERM)
            peer.process.waitUntilExit()
        }
        peers = []
    }

    override class func tearDown() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        directory = nil
    }

    private func startServer(tls: Bool = true) throws -> Peer {
        let directory = Self.directory ?? "/nonexistent"
        let tag = "\(peers.count)-\(UInt32.random(in: 0...UInt32.max))"
        let log = directory + "/log-\(tag)", portFile = directory + "/port-\(tag)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.serverScript, tls ? "tls" : "plain", certificate, directory + "/key.pem", log, portFile]
        process.standardOutput = FileHandle.nullDevice
        // Its tracebacks (handshakes the tests make fail) go to a file, shown if it does not start.
        _ = FileManager.default.createFile(atPath: log + ".stderr", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log + ".stderr")
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                let peer = Peer(process: process, port: port, log: log)
                peers.append(peer)
                return peer
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: log + ".stderr", encoding: .utf8)) ?? ""
        throw DeployError.failure("python3's test server did not start (is python3 installed? Scripts/deps.sh test): \(output)")
    }

    private func logLines(_ peer: Peer) -> [String] {
        ((try? String(contentsOfFile: peer.log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    private func client(_ peer: Peer, _ verification: TLSVerification, scheme: String = "https", timeout: Double = 10) throws -> HTTPClient {
        HTTPClient(endpoint: try HTTPEndpoint(url: "\(scheme)://127.0.0.1:\(peer.port)/sdk"), verification: verification, timeout: timeout)
    }

    private func message(_ body: () throws -> Void) -> DeployError? {
        do {
            try body()
            return nil
        } catch {
            return error as? DeployError
        }
    }

    // MARK: - Verification

    func testCAFileTrustsTheServerAndThePeerThumbprintsAreKnown() throws {
        let peer = try startServer()
        let client = try client(peer, .caFile(certificate))
        let response = try client.send(HTTPRequest(method: "GET", target: "/about"))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "hello /about")
        XCTAssertEqual(response.headers(named: "set-cookie"), ["a=1", "b=2"])
        XCTAssertEqual(client.peerSHA1, Self.certificateSHA1)
        XCTAssertEqual(client.peerSHA256, Self.certificateSHA256)
        XCTAssertTrue(logLines(peer).contains("request GET /about HTTP/1.1"))
    }

    func testSystemTrustRejectsASelfSignedCertificateNamingItsThumbprint() throws {
        let peer = try startServer()
        let client = try client(peer, .system)
        let error = message { _ = try client.send(HTTPRequest(method: "POST", target: "/sdk", body: .bytes(Array("password".utf8)))) }
        XCTAssertEqual(error?.kind, .failure)
        XCTAssertEqual(error?.message, "127.0.0.1:\(peer.port): certificate not trusted (self-signed certificate); pin it with --thumbprint \(Self.certificateSHA1) or pass --insecure")
        XCTAssertFalse(logLines(peer).contains { $0.hasPrefix("request") })
    }

    func testAWrongCAFileIsNotTrustedAndAMissingOneIsNamed() throws {
        let peer = try startServer()
        let other = Self.directory! + "/other.pem"
        try Self.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                      "-keyout", Self.directory! + "/other-key.pem", "-out", other])
        let error = message { _ = try self.client(peer, .caFile(other)).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(error?.message.hasPrefix("127.0.0.1:\(peer.port): certificate not trusted (") ?? false, "\(String(describing: error))")
        let missing = message { _ = try self.client(peer, .caFile("/nonexistent/ca.pem")).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(missing?.message, "/nonexistent/ca.pem: cannot read the CA certificates (No such file or directory)")
        let notPEM = Self.directory! + "/not.pem"
        _ = FileManager.default.createFile(atPath: notPEM, contents: Data("not a certificate\n".utf8))
        let garbage = message { _ = try self.client(peer, .caFile(notPEM)).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(garbage?.message.hasPrefix("127.0.0.1:\(peer.port): cannot set up TLS (cannot load CA certificates from \(notPEM) (") ?? false, "\(String(describing: garbage))")
    }

    /// GOVC_TLS_CA_CERTS is a ':'-separated list (govc: "bar.crt:foo.crt"): every file's CAs are
    /// trusted, and a file that cannot be read or loaded is named.
    func testSeveralCAFilesAreAllTrusted() throws {
        let peer = try startServer()
        let other = Self.directory! + "/other-ca.pem"
        try Self.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other CA",
                      "-keyout", Self.directory! + "/other-ca-key.pem", "-out", other])
        var request = VCenterRequest()
        request.environment = ["GOVC_URL": "https://127.0.0.1:\(peer.port)/sdk", "GOVC_USERNAME": "u", "GOVC_PASSWORD": "p",
                               "GOVC_TLS_CA_CERTS": "\(other):\(certificate)"]
        let settings = try request.resolved()
        XCTAssertEqual(settings.verification, .caFiles([other, certificate]))
        let client = HTTPClient(endpoint: settings.endpoint, verification: settings.verification, timeout: 10)
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/both")).status, 200, "the server's CA is the second file")
        let onlyOther = message { _ = try self.client(peer, .caFiles([other])).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(onlyOther?.message.hasPrefix("127.0.0.1:\(peer.port): certificate not trusted (") ?? false, "\(String(describing: onlyOther))")
        let missing = message { _ = try self.client(peer, .caFiles([self.certificate, "/nonexistent/two.pem"])).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(missing?.message, "/nonexistent/two.pem: cannot read the CA certificates (No such file or directory)")
        let notPEM = Self.directory! + "/not-second.pem"
        _ = FileManager.default.createFile(atPath: notPEM, contents: Data("not a certificate\n".utf8))
        let garbage = message { _ = try self.client(peer, .caFiles([self.certificate, notPEM])).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(garbage?.message.hasPrefix("127.0.0.1:\(peer.port): cannot set up TLS (cannot load CA certificates from \(notPEM) (") ?? false, "\(String(describing: garbage))")
        XCTAssertEqual(logLines(peer).filter { $0.hasPrefix("request") }, ["request GET /both HTTP/1.1"], "nothing sent when a file failed")
    }

    func testThumbprintPinsBySHA1OrSHA256() throws {
        let peer = try startServer()
        for pin in [Self.certificateSHA1, Self.certificateSHA256, Self.certificateSHA1.replacingOccurrences(of: ":", with: "").lowercased()] {
            let response = try client(peer, .thumbprint(pin)).send(HTTPRequest(method: "GET", target: "/pinned"))
            XCTAssertEqual(response.status, 200, pin)
        }
    }

    func testAWrongThumbprintFailsBeforeAnyRequestByteIsSent() throws {
        let peer = try startServer()
        var wrong = try CertificateThumbprint(Self.certificateSHA1)
        wrong.bytes[19] ^= 1
        let client = try client(peer, .thumbprint(wrong.description))
        let error = message { _ = try client.send(HTTPRequest(method: "POST", target: "/sdk", body: .bytes(Array("<Login>password</Login>".utf8)))) }
        XCTAssertEqual(error?.message, "127.0.0.1:\(peer.port): the server's certificate has SHA-1 thumbprint \(Self.certificateSHA1), not the pinned \(wrong)")
        var wrong256 = try CertificateThumbprint(Self.certificateSHA256)
        wrong256.bytes[0] ^= 1
        let error256 = message { _ = try self.client(peer, .thumbprint(wrong256.description)).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(error256?.message, "127.0.0.1:\(peer.port): the server's certificate has SHA-256 thumbprint \(Self.certificateSHA256), not the pinned \(wrong256)")
        // The server saw both connections end without a byte: its first read on each returned the end.
        let deadline = Date().addingTimeInterval(10)
        while logLines(peer).filter({ $0.hasPrefix("first-read") }).count < 2, Date() < deadline { usleep(20_000) }
        let lines = logLines(peer)
        XCTAssertEqual(lines.filter { $0 == "accept" }.count, 2, "\(lines)")
        // "eof" after close_notify, or a reset when the kernel had unread session tickets.
        XCTAssertEqual(lines.filter { $0.hasPrefix("first-read") }.count, 2, "\(lines)")
        XCTAssertFalse(lines.contains("first-read data"), "\(lines)")
        XCTAssertFalse(lines.contains { $0.hasPrefix("request") }, "\(lines)")
    }

    func testInsecureAcceptsAnything() throws {
        let peer = try startServer()
        let client = try client(peer, .insecure)
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/")).status, 200)
        XCTAssertEqual(client.peerSHA1, Self.certificateSHA1)
    }

    // MARK: - Connections and bodies

    func testKeepAliveReusesOneConnectionAndChunkedBodiesArrive() throws {
        let peer = try startServer()
        let client = try client(peer, .caFile(certificate))
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/one")).body, Array("hello /one".utf8))
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/chunked")).body, Array("hello chunked world".utf8))
        XCTAssertEqual(try client.send(HTTPRequest(method: "HEAD", target: "/three")).body, [])
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/four")).body, Array("hello /four".utf8))
        XCTAssertEqual(client.connectionsOpened, 1)
        let lines = logLines(peer)
        XCTAssertEqual(lines.filter { $0 == "accept" }.count, 1, "\(lines)")
        XCTAssertEqual(lines.filter { $0.hasPrefix("request") }.count, 4, "\(lines)")
        client.close()
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/five")).status, 200)
        XCTAssertEqual(client.connectionsOpened, 2)
    }

    func testAFileUploadArrivesByteForByteWithProgress() throws {
        let peer = try startServer()
        let path = Self.directory! + "/upload.bin"
        var bytes = [UInt8](repeating: 0, count: 5 << 20 | 12345)
        var state: UInt32 = 0x1234_5678
        for index in bytes.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            bytes[index] = UInt8(truncatingIfNeeded: state >> 24)
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let expected = try Self.run(["openssl", "dgst", "-sha256", "-r", path]).split(separator: " ")[0]
        let client = try client(peer, .thumbprint(Self.certificateSHA256))
        var reports: [(UInt64, UInt64)] = []
        let started = Date()
        let response = try client.send(HTTPRequest(method: "PUT", target: "/folder/app%20one.iso?dcPath=DC0&dsName=LocalDS_0", body: .file(path: path)), progress: { reports.append(($0, $1)) })
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "\(bytes.count) \(expected)")
        XCTAssertEqual(reports.last?.0, UInt64(bytes.count))
        XCTAssertEqual(reports.last?.1, UInt64(bytes.count))
        XCTAssertEqual(reports.map(\.0), reports.map(\.0).sorted())
        // At most about ten reports a second, plus the last one.
        XCTAssertLessThanOrEqual(Double(reports.count), Date().timeIntervalSince(started) * 10 + 2, "\(reports.count) reports")
        XCTAssertTrue(logLines(peer).contains("request PUT /folder/app%20one.iso?dcPath=DC0&dsName=LocalDS_0 HTTP/1.1"))
        // The same client uploads again on the same connection.
        XCTAssertEqual(String(decoding: try client.send(HTTPRequest(method: "PUT", target: "/again", body: .bytes([1, 2, 3]))).body, as: UTF8.self).prefix(2), "3 ")
        XCTAssertEqual(client.connectionsOpened, 1)
    }

    func testPlainHTTPWorks() throws {
        let peer = try startServer(tls: false)
        let client = try client(peer, .system, scheme: "http")
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/plain")).body, Array("hello /plain".utf8))
        XCTAssertEqual(try client.send(HTTPRequest(method: "PUT", target: "/p", body: .bytes(Array(repeating: 7, count: 100_000)))).status, 200)
        XCTAssertNil(client.peerSHA1)
        XCTAssertEqual(client.connectionsOpened, 1)
    }

    func testHTTPSToAPlainServerIsAHandshakeFailure() throws {
        let peer = try startServer(tls: false)
        let error = message { _ = try self.client(peer, .insecure).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(error?.message.hasPrefix("127.0.0.1:\(peer.port): TLS handshake failed (") ?? false, "\(String(describing: error))")
    }

    func testConnectionRefusedNamesHostAndPort() throws {
        let port = try unusedPort()
        let error = message { _ = try HTTPClient(endpoint: HTTPEndpoint(url: "https://127.0.0.1:\(port)"), timeout: 5).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(error?.message, "127.0.0.1:\(port): cannot connect (connection refused)")
    }

    func testUnresolvableHostNamesHostAndPort() throws {
        // A 64-byte label is not a DNS name (RFC 1035 §2.3.4): glibc fails the lookup without
        // sending a query (checked with strace), so nothing leaves the machine.
        let host = String(repeating: "a", count: 64) + ".invalid"
        let error = message { _ = try HTTPClient(endpoint: HTTPEndpoint(url: "https://\(host):444"), timeout: 5).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertTrue(error?.message.hasPrefix("\(host):444: cannot resolve the host name (") ?? false, "\(String(describing: error))")
    }

    func testACertificateForAnotherNameIsRejected() throws {
        // The certificate names only IP:127.0.0.1; "localhost" comes from /etc/hosts.
        let peer = try startServer()
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "https://localhost:\(peer.port)/sdk"), verification: .caFile(certificate), timeout: 10)
        let error = message { _ = try client.send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(error?.message, "localhost:\(peer.port): certificate is not for localhost (hostname mismatch); pin it with --thumbprint \(Self.certificateSHA1) or pass --insecure")
        XCTAssertFalse(logLines(peer).contains { $0.hasPrefix("request") })
    }

    func testAServerThatClosesDuringAnUploadIsAnErrorNotSIGPIPE() throws {
        // With SIGPIPE at its default, a write to the reset connection without MSG_NOSIGNAL
        // would kill the test process.
        var previous = sigaction()
        var standard = sigaction()
        standard.__sigaction_handler.sa_handler = SIG_DFL
        sigaction(SIGPIPE, &standard, &previous)
        defer { sigaction(SIGPIPE, &previous, nil) }
        let path = Self.directory! + "/big.bin"
        _ = FileManager.default.createFile(atPath: path, contents: Data(count: 32 << 20))
        for tls in [true, false] {
            let peer = try startServer(tls: tls)
            let client = try client(peer, .insecure, scheme: tls ? "https" : "http")
            var status: Int?
            let error = message { status = try client.send(HTTPRequest(method: "PUT", target: "/reject", body: .file(path: path))).status }
            // The 413 if it was read before the reset, else a failure naming the server.
            if let error {
                XCTAssertTrue(error.message.hasPrefix("127.0.0.1:\(peer.port): "), error.message)
                XCTAssertEqual(error.kind, .failure)
            } else {
                XCTAssertEqual(status, 413)
            }
            // The client is usable afterwards, on a new connection.
            XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/after")).status, 200)
        }
    }

    func testASilentServerTimesOut() throws {
        // A listening socket nobody accepts on: the kernel completes the TCP handshake, then nothing.
        let listener = try listeningSocket()
        defer { close(listener.fd) }
        let started = Date()
        let error = message { _ = try HTTPClient(endpoint: HTTPEndpoint(url: "https://127.0.0.1:\(listener.port)"), timeout: 0.5).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(error?.message, "127.0.0.1:\(listener.port): no answer within 0.5 s (TLS handshake)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testAKeptAliveConnectionClosedByTheServerIsRetriedOnce() throws {
        // A plain server that answers the first request, then closes that connection when the
        // second request arrives (an idle timeout racing the request), and answers on a new one.
        let listener = try listeningSocket()
        defer { close(listener.fd) }
        let served = expectation(description: "server")
        let thread = Thread {
            defer { served.fulfill() }
            let first = accept(listener.fd, nil, nil)
            guard first >= 0 else { return }
            _ = Self.readRequest(first)
            Self.writeAll(first, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
            _ = Self.readRequest(first)
            close(first)
            let second = accept(listener.fd, nil, nil)
            guard second >= 0 else { return }
            _ = Self.readRequest(second)
            Self.writeAll(second, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
            _ = Self.readRequest(second)
            close(second)
        }
        thread.start()
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(listener.port)"), timeout: 5)
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/1")).body, Array("first".utf8))
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/2")).body, Array("second".utf8))
        XCTAssertEqual(client.connectionsOpened, 2)
        client.close()
        wait(for: [served], timeout: 10)
    }

    func testAMalformedResponseIsAnErrorNamingTheServer() throws {
        let listener = try listeningSocket()
        defer { close(listener.fd) }
        let thread = Thread {
            let connection = accept(listener.fd, nil, nil)
            guard connection >= 0 else { return }
            _ = Self.readRequest(connection)
            Self.writeAll(connection, "HTTP/1.1 200 OK\r\nBroken header\r\n\r\n")
            usleep(200_000)
            close(connection)
        }
        thread.start()
        let error = message { _ = try HTTPClient(endpoint: HTTPEndpoint(url: "http://127.0.0.1:\(listener.port)"), timeout: 5).send(HTTPRequest(method: "GET", target: "/")) }
        XCTAssertEqual(error?.message, "127.0.0.1:\(listener.port): malformed response (a header line without a colon: Broken header)")
    }

    // MARK: - Sockets for the small servers above

    private func listeningSocket() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 4) == 0 else { throw DeployError.failure("cannot listen on 127.0.0.1") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private func unusedPort() throws -> Int {
        let listener = try listeningSocket()
        close(listener.fd)
        return listener.port
    }

    /// Reads until the end of a request head (these tests send no bodies to these servers).
    private static func readRequest(_ fd: Int32) -> String {
        var received: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            received.append(byte)
            if received.suffix(4) == Array("\r\n\r\n".utf8) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }
}
