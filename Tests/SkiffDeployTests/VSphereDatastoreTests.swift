import Foundation
import Glibc
import XCTest
@testable import SkiffDeploy

/// The datastore's /folder interface against a scripted HTTP server on 127.0.0.1 (plain HTTP)
/// that, like a server without HEAD support, answers HEAD with 405: existence and sizes come from
/// a GET of the first byte.
final class VSphereDatastoreTests: XCTestCase {
    /// A ScriptedHTTPServer answering each request with `reply(method, target)`: status, extra
    /// header lines, body.
    static func folderServer(_ reply: @escaping @Sendable (String, String) -> (status: Int, headers: [String], body: String)) throws -> ScriptedHTTPServer {
        try ScriptedHTTPServer { request in
            let answer = reply(request.method, request.target)
            return .init(status: answer.status, headers: answer.headers, body: answer.body)
        }
    }

    static let serviceContent = #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">ha-folder-root</rootFolder><propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector><about><name>VMware ESXi</name><version>7.0.3</version><apiType>HostAgent</apiType><apiVersion>7.0.3.0</apiVersion></about><sessionManager type="SessionManager">ha-sessionmgr</sessionManager></returnval></RetrieveServiceContentResponse></soapenv:Body></soapenv:Envelope>"#

    func file(_ path: String) -> DatastoreFile {
        DatastoreFile(datacenterPath: "ha-datacenter", datastore: "datastore1", path: path)
    }

    func testExistenceAndSizeComeFromAGetOfTheFirstByteNotHEAD() throws {
        let server = try Self.folderServer { method, target in
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
        let session = try VSphereSession(endpoint: server.endpoint, verification: .system, timeout: 10)
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
        XCTAssertEqual(folderRequests.map { $0.headers["range"] }, Array(repeating: "bytes=0-0", count: folderRequests.count))
        XCTAssertEqual(folderRequests.first?.target, "/folder/skiff/big.iso?dcPath=ha-datacenter&dsName=datastore1")
    }
}
