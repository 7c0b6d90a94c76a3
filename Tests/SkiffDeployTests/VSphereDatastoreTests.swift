import Foundation
import Glibc
import XCTest
@testable import SkiffDeploy

/// The datastore's /folder interface against a scripted HTTP server on 127.0.0.1 (plain HTTP)
/// that, like a server without HEAD support, answers HEAD with 405: existence and sizes come from
/// a GET of the first byte.
final class VSphereDatastoreTests: XCTestCase {
    struct Request: Equatable {
        var method: String
        var target: String
        var range: String?
    }

    /// Answers each request with `reply(method, target)` (status, extra header lines, body) until
    /// stopped; records the requests.
    final class FolderServer: @unchecked Sendable {
        let fd: Int32
        let port: Int
        private let lock = NSLock()
        private var recorded: [Request] = []
        private let reply: @Sendable (String, String) -> (status: Int, headers: [String], body: String)

        init(reply: @escaping @Sendable (String, String) -> (status: Int, headers: [String], body: String)) throws {
            self.reply = reply
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0, listen(fd, 8) == 0 else {
                close(fd)
                throw DeployError.failure("cannot listen on 127.0.0.1 (\(String(cString: strerror(errno))))")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread { [self] in serve() }.start()
        }

        var requests: [Request] {
            lock.lock()
            defer { lock.unlock() }
            return recorded
        }

        /// Wakes the accept; the thread closes the socket itself, so its descriptor number cannot
        /// be reused by another test's socket while the thread may still accept on it.
        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
        }

        private func serve() {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    close(fd)
                    return
                }
                var buffer: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                connection: while true {
                    guard let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) else {
                        let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                        if n <= 0 { break connection }
                        buffer += chunk[0..<n]
                        continue
                    }
                    let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
                    let words = lines.first?.split(separator: " ") ?? []
                    var headers: [String: String] = [:]
                    for line in lines.dropFirst() {
                        if let colon = line.firstIndex(of: ":") {
                            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                        }
                    }
                    let length = Int(headers["content-length"] ?? "0") ?? 0
                    while buffer.count < end.upperBound + length {
                        let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                        if n <= 0 { break connection }
                        buffer += chunk[0..<n]
                    }
                    buffer.removeFirst(end.upperBound + length)
                    let method = words.count > 0 ? String(words[0]) : "", target = words.count > 1 ? String(words[1]) : ""
                    lock.lock()
                    recorded.append(Request(method: method, target: target, range: headers["range"]))
                    lock.unlock()
                    let answer = reply(method, target)
                    var text = "HTTP/1.1 \(answer.status) X\r\n"
                    if !answer.headers.contains(where: { $0.lowercased().hasPrefix("content-length:") }) {
                        text += "Content-Length: \(answer.body.utf8.count)\r\n"
                    }
                    for header in answer.headers { text += header + "\r\n" }
                    text += "\r\n" + (method == "HEAD" ? "" : answer.body)
                    let bytes = Array(text.utf8)
                    var sent = 0
                    while sent < bytes.count {
                        let n = bytes[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                        if n <= 0 { break connection }
                        sent += n
                    }
                }
                close(client)
            }
        }
    }

    static let serviceContent = #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">ha-folder-root</rootFolder><propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector><about><name>VMware ESXi</name><version>7.0.3</version><apiType>HostAgent</apiType><apiVersion>7.0.3.0</apiVersion></about><sessionManager type="SessionManager">ha-sessionmgr</sessionManager></returnval></RetrieveServiceContentResponse></soapenv:Body></soapenv:Envelope>"#

    func file(_ path: String) -> DatastoreFile {
        DatastoreFile(datacenterPath: "ha-datacenter", datastore: "datastore1", path: path)
    }

    func testExistenceAndSizeComeFromAGetOfTheFirstByteNotHEAD() throws {
        let server = try FolderServer { method, target in
            if method == "POST" { return (200, ["Content-Type: text/xml"], Self.serviceContent) }
            guard method == "GET" else { return (405, ["Allow: GET, PUT"], "") }
            let path = target.split(separator: "?").first.map(String.init) ?? ""
            switch path {
            case "/folder/skiff/big.iso": return (206, ["Content-Range: bytes 0-0/5368709120"], "C")
            case "/folder/skiff/empty.iso": return (416, ["Content-Range: bytes */0"], "")
            case "/folder/skiff/unsized.iso": return (206, [], "C")
            case "/folder/skiff/whole.iso": return (200, [], "hello")
            case "/folder/skiff/secret.iso": return (403, [], "no")
            default: return (404, [], "")
            }
        }
        defer { server.stop() }
        let session = try VSphereSession(endpoint: HTTPEndpoint(scheme: "http", host: "127.0.0.1", port: server.port, basePath: "/sdk"),
                                         verification: .system, timeout: 10)
        let big = try session.datastoreStat(file("skiff/big.iso"))
        XCTAssertTrue(big.exists)
        XCTAssertEqual(big.size, 5_368_709_120, "the size after the / of Content-Range, beyond 32 bits")
        XCTAssertEqual(try session.datastoreHead(file("skiff/big.iso")).size, 5_368_709_120, "the old name does the same")
        let empty = try session.datastoreStat(file("skiff/empty.iso"))
        XCTAssertTrue(empty.exists, "416 for bytes=0-0: a file with no byte 0")
        XCTAssertEqual(empty.size, 0)
        XCTAssertEqual(try session.datastoreSize(file("skiff/unsized.iso")), 0, "exists, size not said")
        XCTAssertEqual(try session.datastoreStat(file("skiff/unsized.iso")).size, nil)
        XCTAssertEqual(try session.datastoreSize(file("skiff/whole.iso")), 5, "a server that ignores Range: its Content-Length")
        let missing = try session.datastoreStat(file("skiff/missing.iso"))
        XCTAssertFalse(missing.exists)
        XCTAssertNil(try session.datastoreSize(file("skiff/missing.iso")))
        XCTAssertThrowsError(try session.datastoreStat(file("skiff/secret.iso"))) { error in
            XCTAssertEqual((error as? DeployError)?.message,
                           "datastore GET [datastore1] skiff/secret.iso: HTTP 403 X (the session has no access to it)")
        }
        let folderRequests = server.requests.filter { $0.method != "POST" }
        XCTAssertEqual(folderRequests.map(\.method), Array(repeating: "GET", count: folderRequests.count), "no HEAD")
        XCTAssertEqual(folderRequests.map(\.range), Array(repeating: "bytes=0-0", count: folderRequests.count))
        XCTAssertEqual(folderRequests.first?.target, "/folder/skiff/big.iso?dcPath=ha-datacenter&dsName=datastore1")
    }
}
