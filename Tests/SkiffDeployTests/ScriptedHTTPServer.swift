import Foundation
import Glibc
@testable import SkiffDeploy

/// A plain-HTTP server on 127.0.0.1 for the deploy tests: one thread per connection, requests
/// with a Content-Length body (or none) recorded in arrival order, each answered by `reply`; a nil
/// reply closes the connection without an answer (a server that dropped a kept-alive connection as
/// the request arrived). Bodies whose target `slowBody` picks are read 256 KiB at a time with 10
/// ms pauses, so that an upload lasts long enough for progress callbacks to come mid-body.
final class ScriptedHTTPServer: @unchecked Sendable {
    struct Request {
        /// 1 for the first connection accepted, 2 for the next, ...
        var connection: Int
        var method: String
        var target: String
        /// Header names lower-cased; the last of a repeated header.
        var headers: [String: String]
        var body: [UInt8]
        /// The SOAP method (the name of the Body's first element), for POST /sdk.
        var soapMethod: String { Self.soapMethod(body) }
        var text: String { String(decoding: body, as: UTF8.self) }

        static func soapMethod(_ body: [UInt8]) -> String {
            let text = String(decoding: body.prefix(4096), as: UTF8.self)
            guard let start = text.range(of: "<soapenv:Body>") else { return "" }
            let rest = text[start.upperBound...].drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }.dropFirst()
            return String(rest.prefix { $0 != " " && $0 != ">" && $0 != "/" })
        }
    }

    struct Reply {
        var status: Int
        /// Whole header lines ("Content-Range: bytes 0-0/5"); Content-Length is added unless given.
        var headers: [String] = []
        var body: String = ""
    }

    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var accepted = 0
    private let reply: @Sendable (Request) -> Reply?
    private let slowBody: @Sendable (String) -> Bool

    init(slowBody: @escaping @Sendable (String) -> Bool = { _ in false },
         reply: @escaping @Sendable (Request) -> Reply?) throws {
        self.reply = reply
        self.slowBody = slowBody
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw DeployError.failure("cannot listen on 127.0.0.1 (\(reason))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// The server as an endpoint with vSphere's base path.
    var endpoint: HTTPEndpoint { HTTPEndpoint(scheme: "http", host: "127.0.0.1", port: port, basePath: "/sdk") }

    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// Connections accepted so far.
    var connections: Int {
        lock.lock()
        defer { lock.unlock() }
        return accepted
    }

    /// Wakes the accept; the accepting thread closes the socket itself, so that its descriptor
    /// number cannot be reused by another test's socket while this thread may still accept on it.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        defer { close(fd) }
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            lock.lock()
            accepted += 1
            let index = accepted
            lock.unlock()
            Thread { [self] in serve(client, index) }.start()
        }
    }

    private func serve(_ client: Int32, _ index: Int) {
        defer { close(client) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        func receive() -> Bool {
            let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
        while true {
            guard let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) else {
                if !receive() { return }
                continue
            }
            let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
            let words = lines.first?.split(separator: " ", maxSplits: 2) ?? []
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let method = words.count > 0 ? String(words[0]) : "", target = words.count > 1 ? String(words[1]) : ""
            let slow = slowBody(target)
            while buffer.count < end.upperBound + length {
                if slow { usleep(10_000) }
                if !receive() { return }
            }
            let request = Request(connection: index, method: method, target: target, headers: headers,
                                  body: Array(buffer[end.upperBound..<end.upperBound + length]))
            buffer.removeFirst(end.upperBound + length)
            lock.lock()
            recorded.append(request)
            lock.unlock()
            guard let answer = reply(request) else { return }
            var text = "HTTP/1.1 \(answer.status) X\r\n"
            if !answer.headers.contains(where: { $0.lowercased().hasPrefix("content-length:") }) {
                text += "Content-Length: \(answer.body.utf8.count)\r\n"
            }
            for header in answer.headers { text += header + "\r\n" }
            text += "\r\n" + (method == "HEAD" ? "" : answer.body)
            let bytes = Array(text.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
    }
}
